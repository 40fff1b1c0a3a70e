"""ExcessMTL: He, Zhou & Zhao, "Robust Multi-Task Learning with Excess Risks", ICML 2024
(Algorithm 1; the numbers as the authors' code in LibMTL, weighting/ExcessMTL.py).

Tasks are weighted by their excess risk, L_i(theta) - L_i(theta_i*), the part of a loss the model
can still remove. A second-order expansion around the task's minimiser estimates it from the
gradient and a Hessian, and a diagonal, AdaGrad-like Hessian built from the squared gradients seen
so far stands in for the Hessian:
    S_i <- S_i + g_i * g_i   (elementwise, from the first step),
    E_i = g_i^T diag(1 / sqrt(S_i + 1e-7)) g_i.
The first step's estimates E_i^0 are kept as each task's scale (and the weights stay 1); from then
on the weights take an exponentiated-gradient step on the scale-free excess risks and are
renormalised to sum to T:
    w_i <- w_i exp(eta E_i / E_i^0),   w <- T w / sum_j w_j,   total = sum_i w_i L_i.
This step's weights are updated before they are applied, as in the authors' code.

The estimate needs each gradient coordinate, not only inner products, so this reads G itself (on
the shared parameters: their number is fixed, which S needs). A task whose first estimate is zero
(a zero gradient) takes its first non-zero one as its scale (the authors' code divides by zero).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ..registry import STRATEGIES, param
from .base import GRADS, Combined, StepInfo, Strategy

_EPS = 1e-7  # inside the square root of the accumulated squared gradients (authors' value)


@STRATEGIES.register(
    "excess_mtl",
    "ExcessMTL: weights grow with each task's estimated excess risk (gradient and a diagonal "
    "AdaGrad-like Hessian), by exponentiated-gradient steps; weights sum to T",
    paper="He, Zhou & Zhao, ICML 2024",
    family="gradient",
    grad_modes=("shared",),
)
class ExcessMTL(Strategy):
    requires = frozenset({GRADS})

    @dataclass(frozen=True)
    class Params:
        robust_step_size: float = param(1e-2, "eta: the exponentiated-gradient step on the "
                                        "weights", low=0.0, high=10.0)

    def setup(self) -> None:
        self.w = self.ones().double()  # kept in float64: a product of many small factors
        self._sq: torch.Tensor | None = None  # S: accumulated squared gradients, T x P
        self._scale: torch.Tensor | None = None  # E^0 per task (0 until a non-zero estimate)

    def combine(self, losses: torch.Tensor, info: StepInfo) -> Combined:
        g = info.grads
        if g is None:
            raise ValueError("excess_mtl needs per-task gradients (GRADS) but the step carries "
                             "none")
        g = g.detach().to(self.w.device)  # S in the gradients' own precision
        if self._sq is None or self._sq.shape != g.shape:
            self._sq = torch.zeros_like(g)
        self._sq += g * g
        excess = (g * g / torch.sqrt(self._sq + _EPS)).sum(dim=1)
        if self._scale is None:  # the first step: record the scale, keep the weights
            self._scale = excess.clone()
        else:
            known = self._scale > 0
            ratio = torch.where(known, excess / torch.where(known, self._scale, 1.0), 0.0)
            self._scale = torch.where(known, self._scale, excess)  # a late first estimate
            w = self.w.double() * torch.exp(self.p.robust_step_size * ratio.double())
            self.w = self.n_tasks * w / w.sum()
        return self.weighted_sum(losses, self.w.to(device=losses.device, dtype=losses.dtype))

    def state(self) -> dict[str, Any]:
        return {"weights": self.w.cpu().tolist()}
