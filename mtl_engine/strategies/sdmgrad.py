"""SDMGrad: Xiao, Ban & Ji, "Direction-oriented Multi-objective Learning: Simple and Provable
Stochastic Algorithms", NeurIPS 2023 (Algorithm 1, stochastic direction-oriented multi-objective
gradient descent; defaults and inner solver as LibMTL's weighting/SDMGrad.py).

The update stays close to the mean gradient g0 = G^T 1 / T while improving every task:
    w* = argmin_{w in simplex} |G^T w|^2 / 2 + lambda <G^T w, g0>,
    d = (G^T w* + lambda g0) / (1 + lambda),  so alpha = (w* + lambda / T) / (1 + lambda).
The inner problem is solved stochastically, with its Gramian estimated without bias from two
independent samples: M = G1 G2^T, divided by s^2 + 1e-8 where s is the mean of sqrt(max(M_ii, 0))
(a step size free of the gradients' scale), and `niter` steps of projected SGD with learning rate
5 and momentum 0.5 (a fresh momentum each step, w kept from the last step, starting at 1/T):
    v <- 0.5 v + (M w + lambda M 1 / T),   w <- Proj_simplex(w - 5 v).
The update is taken on a third, independent sample: d = G3^T alpha.

`samples: three` (the default): the three samples are disjoint thirds of the step's (shuffled)
batch (GRADS_SPLIT with 3 parts, each through the model again): M from the first two, d from the
third, returned as the strategy's update direction on the shared parameters; the heads are
trained on sum_i alpha_i L_i of the third part, as every parameter of the paper's theta moves
along the update sample's direction. LibMTL (and the authors' code) draw three whole batches per
step and name the update sample first (zeta) and M's xi1, xi2: the samples are exchangeable, so
that order is naming only; LibMTL's heads get the plain sum of the three samples' gradients.
`samples: halves` (the earlier form, an option): M from the batch's two halves, the update the
whole batch's G^T alpha, applied as a weighting (total = sum_i alpha_i L_i), so the update's
sample overlaps M's. Weights and plotted weights: alpha. grad_mode "shared" only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from ..registry import STRATEGIES, param
from .base import GRADS_SPLIT, Combined, StepInfo, Strategy
from .modo import (
    SAMPLES_HELP,
    along_last_sample,
    cross_gramian,
    parts_for,
    project_simplex,
    sample_gradients,
)

_LR, _MOMENTUM = 5.0, 0.5  # the inner SGD's, as the authors' code sets them


@STRATEGIES.register(
    "sdmgrad",
    "SDMGrad: the min-norm weighting pulled towards the mean gradient by lambda, solved by "
    "projected SGD on two thirds of the batch; the model moves along the last third",
    paper="Xiao, Ban & Ji, NeurIPS 2023",
    family="gradient",
    grad_modes=("shared",),
)
class SDMGrad(Strategy):
    requires = frozenset({GRADS_SPLIT})

    @dataclass(frozen=True)
    class Params:
        lamda: float = param(0.3, "lambda: pull towards the mean gradient (0: MGDA-like)",
                             low=0.0, high=100.0)
        niter: int = param(20, "projected SGD steps on the weights per training step", low=1,
                           high=10_000)
        samples: Literal["three", "halves"] = param("three", SAMPLES_HELP)

    def setup(self) -> None:
        self.w = np.full(self.n_tasks, 1.0 / self.n_tasks)

    def split_parts(self) -> int:
        return parts_for(self.p.samples)

    def combine(self, losses: torch.Tensor, info: StepInfo) -> Combined:
        split = sample_gradients(info, self.split_parts(), "sdmgrad")
        m = cross_gramian(split[0], split[1])
        t, lam = self.n_tasks, self.p.lamda
        if np.isfinite(m).all():  # a NaN loss upstream: keep w, let the loop report it
            s = float(np.mean(np.sqrt(np.clip(np.diag(m), 0.0, None))))
            m = m / (s * s + 1e-8)
            pull = lam * m.mean(axis=1)
            w, v = self.w, np.zeros(t)
            for i in range(self.p.niter):
                grad = m @ w + pull
                v = grad if i == 0 else _MOMENTUM * v + grad
                w = project_simplex(w - _LR * v)
            self.w = w
        alpha = (self.w + lam / t) / (1.0 + lam)
        if self.p.samples == "halves":
            return self.weighted_sum(losses, torch.from_numpy(alpha).to(device=losses.device,
                                                                        dtype=losses.dtype))
        return along_last_sample(losses, info, split, alpha)

    def state(self) -> dict[str, Any]:
        return {"w": self.w.tolist()}
