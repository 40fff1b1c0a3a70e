"""FairGrad: Ban & Ji, "Fair Resource Allocation in Multi-Task Learning", ICML 2024 (eq. 4,
Algorithm 1).

Alpha-fair allocation of the improvement among tasks: the weights solve
    K x = x^(-1 / alpha),  x > 0,
and the update is d = sum_i x_i g_i. alpha = 1 is proportional fairness (the Nash-MTL equation
without its normalisation); alpha -> infinity tends to max-min fairness. The official code and
torchjd use scipy's least_squares; we solve the same equation exactly by Newton's method on its
convex potential (_gramian.power_balance), on K / trace(K) and rescaled back:
x = trace(K)^(-alpha / (alpha + 1)) x~. A task with an exactly zero gradient gets weight 0, and,
as in Nash-MTL, a ridge of 1e-8 keeps exactly opposed gradients solvable.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..errors import SolverError
from ..registry import STRATEGIES, param
from ._gramian import TINY, GramianStrategy, power_balance, tensor


@STRATEGIES.register(
    "fairgrad",
    "FairGrad: alpha-fair weights solving K x = x^(-1/alpha) (alpha = 1: proportional fairness)",
    paper="Ban & Ji, ICML 2024",
    family="gradient",
    grad_modes=("shared", "representation"),
)
class FairGrad(GramianStrategy):
    label = "fairgrad"

    @dataclass(frozen=True)
    class Params:
        alpha: float = param(1.0, "fairness: 1 proportional, larger towards max-min",
                             low=0.01, high=100.0)

    def setup(self) -> None:
        self._last: np.ndarray | None = None

    def weigh(self, k: torch.Tensor, losses: torch.Tensor) -> torch.Tensor:
        p = 1.0 / self.p.alpha
        a = k.numpy()
        t = a.shape[0]
        x = np.zeros(t)
        diag = np.diag(a)
        live = np.flatnonzero(diag > TINY * max(float(diag.max()), 0.0))
        if live.size:
            sub = a[np.ix_(live, live)]
            tr = float(np.trace(sub))
            sub = sub / tr + 1e-8 * np.eye(live.size)  # opposed gradients stay solvable
            start = self._last[live] if self._last is not None else None
            sol, residual = power_balance(sub, p, start, max_iter=100)
            if residual > 1e-6 and start is not None:  # a poor warm start: start afresh
                sol, residual = power_balance(sub, p, None, max_iter=100)
            # 1e-6 is reached unless K is nearly singular, where round-off alone leaves about
            # cond(K) * 1e-16; only a residual far above that is a failure
            if not np.all(np.isfinite(sol)) or residual > 1e-4:
                raise SolverError(f"fairgrad: Newton's method stopped {residual:.2g} away from "
                                  "K x = x^(-1/alpha)")
            self._last = np.zeros(t)
            self._last[live] = sol
            x[live] = sol * tr ** (-1.0 / (1.0 + p))
        return tensor(x)
