"""Equal weighting (EW), the baseline every multi-task method is measured against (uniform
weighting of the task losses, as in Caruana, "Multitask Learning", Machine Learning, 1997).

total = sum_i L_i: every w_i = 1, so the weights sum to T (not the 1/T mean; the two differ only by
a constant factor on the learning rate).
"""

from __future__ import annotations

import torch

from ..registry import STRATEGIES
from .base import Combined, StepInfo, Strategy


@STRATEGIES.register(
    "equal",
    "Equal weighting: total = sum_i L_i (w_i = 1, weights sum to T)",
    paper="Baseline (uniform weighting; e.g. Caruana, Machine Learning 1997)",
    family="loss",
)
class EqualWeighting(Strategy):
    def setup(self) -> None:
        self._w = self.ones()

    def combine(self, losses: torch.Tensor, info: StepInfo) -> Combined:
        return self.weighted_sum(losses, self._w.to(losses.dtype))
