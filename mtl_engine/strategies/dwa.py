"""Dynamic Weight Average (DWA): Liu, Johns & Davison, "End-to-End Multi-Task Learning with
Attention", CVPR 2019 (the DWA weighting rule, written out below).

    w_k(e) = T exp(r_k / temp) / sum_j exp(r_j / temp),   r_k = Lbar_k(e-1) / Lbar_k(e-2)

where Lbar_k is task k's mean training loss over an epoch. A task whose loss fell less in the last
epoch gets more weight. The weights sum to T; they are 1 for the first two epochs, before two
epoch means exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ..registry import STRATEGIES, param
from ._loss_utils import TINY, as_tensor
from .base import Combined, EpochStats, StepInfo, Strategy


@STRATEGIES.register(
    "dwa",
    "Dynamic Weight Average: w = T softmax(r / temp), r_k the ratio of task k's last two epoch "
    "mean losses; w = 1 for the first two epochs (weights sum to T)",
    paper="Liu, Johns & Davison, CVPR 2019",
    family="loss",
)
class DynamicWeightAverage(Strategy):
    @dataclass(frozen=True)
    class Params:
        temp: float = param(2.0, "softmax temperature: larger values flatten the weights",
                            low=1e-3, high=1e3)

    def setup(self) -> None:
        self._w = self.ones()
        self._history: list[list[float]] = []

    def combine(self, losses: torch.Tensor, info: StepInfo) -> Combined:
        return self.weighted_sum(losses, self._w.to(losses.dtype))

    def end_epoch(self, stats: EpochStats) -> None:
        self._history = [*self._history[-1:], list(stats.train_loss)]
        if len(self._history) < 2:
            return
        prev, last = (as_tensor(h, self.device) for h in self._history)
        ratio = last / prev.clamp_min(TINY)
        self._w = self.n_tasks * torch.softmax(ratio / self.p.temp, dim=0)

    def state(self) -> dict[str, Any]:
        return {"weights": self._w.cpu().tolist()}
