"""FairGrad: Ban & Ji, "Fair Resource Allocation in Multi-Task Learning", ICML 2024 (eq. 4,
Algorithm 1).

Alpha-fair allocation of the improvement among tasks: the weights solve
    K x = x^(-1 / alpha),  x > 0,
and the update is d = sum_i x_i g_i (so g_i . d = x_i^(-1/alpha)). alpha = 1 is proportional
fairness (the Nash-MTL equation without its max_norm); alpha -> infinity tends to max-min
fairness. The official code and torchjd use scipy's least_squares; we solve the same equation
exactly (no ridge) by Newton's method on its convex potential (_gramian.power_balance; the
closed form of _gramian.balanced_weights for alpha = 1 and two tasks), warm-started from the
last step.

As for Nash-MTL, a positive solution exists exactly when no convex combination of the gradients
is zero. Where none exists we say so in a Warned event (once per run) and: give a task with an
exactly zero gradient weight 0; solve Pareto-stationary gradients (to 1e-6) with
K + 1e-8 diag(K). Any other failure to converge is a SolverError.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..registry import STRATEGIES, param
from ._gramian import GramianStrategy, balanced_weights, tensor


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
        x, notes = balanced_weights(k.numpy(), 1.0 / self.p.alpha, self._last, 300, "fairgrad",
                                    "K x = x^(-1/alpha)", "the Gramian may be too badly "
                                    "conditioned for strategy.params.alpha")
        self.note(*notes)
        self._last = x if np.all(x > 0) else None
        return tensor(x)
