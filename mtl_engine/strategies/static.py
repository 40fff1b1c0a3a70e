"""Static weighting: total = sum_i w_i L_i with the per-task weights the user set in the config.

The fixed weighted sum is the classic multi-task objective (Caruana, Machine Learning 1997); the
weights come from each task's `weight` field (TaskConfig.weight, default 1).
"""

from __future__ import annotations

import torch

from ..registry import STRATEGIES
from ._loss_utils import as_tensor
from .base import Combined, StepInfo, Strategy


@STRATEGIES.register(
    "static",
    "Static weights: total = sum_i w_i L_i with each task's configured weight "
    "(the weights sum to whatever the tasks set)",
    paper="Caruana, Machine Learning 1997 (weighted sum of task losses)",
    family="loss",
)
class StaticWeighting(Strategy):
    def setup(self) -> None:
        self._w = as_tensor(self.static_weights, self.device)

    def combine(self, losses: torch.Tensor, info: StepInfo) -> Combined:
        return self.weighted_sum(losses, self._w.to(losses.dtype))
