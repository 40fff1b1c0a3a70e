"""Gradient averaging ("gradient balancing"): the shared update is mean_i g_i, the equal-weight
baseline of Caruana ("Multitask Learning", Machine Learning, 1997) taken as a mean; it is the "EW"
method of LibMTL (Lin & Zhang, JMLR 2023). As a rule it has no paper of its own.

The gradient of sum_i L_i / T w.r.t. the shared parameters is exactly mean_i g_i, so no per-task
gradients are needed: weights 1/T. A variant lets each head keep its own unscaled gradient; here
the heads' gradients are scaled by 1/T as well. With Adam (or any optimiser that normalises per
parameter) a constant scale on a parameter's gradient leaves the step unchanged; with SGD it
acts as a 1/T factor on the heads' learning rate.
"""

from __future__ import annotations

import torch

from ..registry import STRATEGIES
from .base import Combined, StepInfo, Strategy


@STRATEGIES.register(
    "gradient_averaging",
    "Gradient averaging: shared update = mean of the task gradients (weights 1/T)",
    paper="The equal-weight baseline of Caruana, Machine Learning 1997, as the mean gradient "
          "(EW in LibMTL: Lin & Zhang, JMLR 2023)",
    family="gradient",
    grad_modes=("shared", "representation"),
)
class GradientAveraging(Strategy):
    def setup(self) -> None:
        self._w = self.ones() / self.n_tasks

    def combine(self, losses: torch.Tensor, info: StepInfo) -> Combined:
        return self.weighted_sum(losses, self._w.to(losses.dtype))
