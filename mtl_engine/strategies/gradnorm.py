"""GradNorm: Chen, Badrinarayanan, Lee & Rabinovich, "GradNorm: Gradient Normalization for Adaptive
Loss Balancing in Deep Multitask Networks", ICML 2018 (section 3, eq. 1-2).

Learnable task weights w (initially 1) scale the losses, total = sum_i w_i L_i with w detached.
The weights learn from their own loss, on the gradients of the last shared layer W:
    G_i = |grad_W (w_i L_i)| = w_i |g_i|,   r_i = (L_i / L_i(0)) / mean_j (L_j / L_j(0)),
    L_grad = sum_i | G_i - mean_j(G_j) * r_i^alpha |,   target term detached,
so a task that trains slower than the others (larger r_i) is pushed to a larger gradient norm.
L_grad is returned as `aux` (it depends on w only), and after each optimiser step w is
renormalised to sum to T (weights are first floored at 1e-6 so none turns negative).
L_i(0) is the loss of the first step. alpha = 1.5 is the paper's default (0.12 on its toy).
The weights learn at their own rate, 0.01 by default: they are numbers of order 1 that must move
by about that much, which at a network's usual 1e-3 takes thousands of steps.
Checked against a hand computation of these equations on a tiny model, step by step, L_grad's
value included (tests/engine/test_gradnorm_toy.py). On the GradNorm toy as shipped (one output
per task; presets/studies/gradnorm_toy.yaml) it ties with equal weighting over 8 seeds: see
docs/fidelity.md, "GradNorm toy", for why (the paper's tasks have 100 outputs each). The weight
of the sigma = 100 task first drops to near 0 (its gradient norm is about 100x the other's), and
later sits near its equilibrium of about 0.01, below one Adam step at weight lr 0.025, so it
visits the 1e-6 floor now and then.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ..registry import STRATEGIES, param
from ._gramian import gramian_of
from .base import LAST_SHARED_GRADS, Combined, StepInfo, Strategy


@STRATEGIES.register(
    "gradnorm",
    "GradNorm: learnable weights that equalise the tasks' gradient norms on the last shared "
    "layer in proportion to how fast each task trains",
    paper="Chen et al., ICML 2018",
    family="gradient",
    grad_modes=("shared", "representation"),
)
class GradNorm(Strategy):
    requires = frozenset({LAST_SHARED_GRADS})

    @dataclass(frozen=True)
    class Params:
        alpha: float = param(1.5, "strength of the pull towards equal training rates",
                             low=0.0, high=10.0)
        weight_lr: float | None = param(0.01, "learning rate of the weights (off: the task "
                                        "learning rate)", low=0.0)

    def setup(self) -> None:
        self.w = torch.nn.Parameter(torch.ones(self.n_tasks, device=self.device))
        self._initial: torch.Tensor | None = None

    def parameters(self) -> list[torch.nn.Parameter]:
        return [self.w]

    def param_lr(self) -> float | None:
        return self.p.weight_lr

    def combine(self, losses: torch.Tensor, info: StepInfo) -> Combined:
        norms = gramian_of(info, "gradnorm").detach().diagonal().clamp_min(0).sqrt()
        current = losses.detach()
        if self._initial is None:
            self._initial = current.clamp_min(1e-12)
        ratio = current / self._initial
        rate = ratio / ratio.mean().clamp_min(1e-12)
        w = self.w.to(losses.dtype)
        g = w * norms.to(losses.dtype)
        target = (g.mean() * rate ** self.p.alpha).detach()
        weights = w.detach().clone()
        return Combined(total=(weights * losses).sum(), weights=weights,
                        aux=(g - target).abs().sum())

    def after_step(self, losses_after: torch.Tensor | None, info: StepInfo) -> None:
        with torch.no_grad():
            self.w.clamp_(min=1e-6)
            self.w.mul_(self.n_tasks / self.w.sum())

    def state(self) -> dict[str, Any]:
        return {"weights": self.w.detach().cpu().tolist()}
