"""Uncertainty weighting (UW): Kendall, Gal & Cipolla, "Multi-Task Learning Using Uncertainty to
Weigh Losses for Scene Geometry and Semantics", CVPR 2018.

Each task has a learnable log-variance s_i = log sigma_i^2 trained with the model:
    total = sum_i c_i (exp(-s_i) L_i + s_i)
with c_i = 1 (the simplified form most implementations use, LibMTL's among them). With
`half_regression`, regression tasks use c_i = 1/2, which is exactly the paper's
Gaussian-likelihood term 1/(2 sigma^2) L + log sigma; other tasks keep c_i = 1.
The reported weight is the effective one, d total / d L_i = c_i exp(-s_i) (exp(-s_i) in the
simplified form); the weights are free and need not sum to anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ..registry import STRATEGIES, param
from ._loss_utils import as_tensor
from .base import Combined, StepInfo, Strategy


@STRATEGIES.register(
    "uncertainty",
    "Uncertainty weighting: learnable log-variances s_i, total = sum_i exp(-s_i) L_i + s_i, "
    "weight exp(-s_i) (weights are free, no fixed sum)",
    paper="Kendall, Gal & Cipolla, CVPR 2018",
    family="loss",
)
class UncertaintyWeighting(Strategy):
    @dataclass(frozen=True)
    class Params:
        init_s: float = param(0.0, "initial log-variance s_i = log sigma_i^2 of every task "
                              "(0 gives weight 1)", low=-10.0, high=10.0)
        half_regression: bool = param(False, "regression tasks use the paper's Gaussian form "
                                      "1/(2 sigma^2) L + log sigma, i.e. half the simplified "
                                      "form's term")

    def setup(self) -> None:
        self.log_var = torch.nn.Parameter(torch.full((self.n_tasks,), self.p.init_s,
                                                     device=self.device))
        half = self.p.half_regression
        self._c = as_tensor([0.5 if half and t.type == "regression" else 1.0 for t in self.tasks],
                            self.device)

    def parameters(self) -> list[torch.nn.Parameter]:
        return [self.log_var]

    def combine(self, losses: torch.Tensor, info: StepInfo) -> Combined:
        precision = self._c * torch.exp(-self.log_var)
        total = (precision * losses + self._c * self.log_var).sum()
        return Combined(total=total, weights=precision.detach())

    def state(self) -> dict[str, Any]:
        return {"log_var": self.log_var.detach().cpu().tolist()}
