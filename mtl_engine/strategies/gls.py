"""Geometric Loss Strategy (GLS): Chennupati et al., "MultiNet++: Multi-Stream Feature Aggregation
and Geometric Loss Strategy for Multi-Task Learning", CVPR Workshops 2019 (the geometric loss,
written out below).

    total = (prod_i L_i)^(1/T) = exp(mean_i log L_i)

Computed through logs so that many small losses do not underflow. The method is not a weighted
sum, so the reported weights are the effective ones, d total / d L_i = total / (T L_i): a task with
a small loss gets a large weight. They sum to whatever that gives (no fixed sum).
"""

from __future__ import annotations

import torch

from ..registry import STRATEGIES
from ._loss_utils import TINY
from .base import Combined, StepInfo, Strategy


@STRATEGIES.register(
    "gls",
    "Geometric loss strategy: total = (prod_i L_i)^(1/T); weights reported are the effective "
    "d total / d L_i = total / (T L_i) (no fixed sum)",
    paper="Chennupati et al., CVPR Workshops 2019 (MultiNet++)",
    family="loss",
)
class GeometricLossStrategy(Strategy):
    def combine(self, losses: torch.Tensor, info: StepInfo) -> Combined:
        # a loss of exactly 0 would make log -inf and the gradient NaN
        safe = losses.clamp_min(TINY)
        total = torch.exp(torch.log(safe).mean())
        weights = (total / (self.n_tasks * safe)).detach()
        return Combined(total=total, weights=weights)
