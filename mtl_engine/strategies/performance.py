"""Performance weighting: weight each task by how well it already does.

No paper defines this rule; it is the inverse of dynamic task prioritisation (Guo, Haque, Huang,
Yeung & Fei-Fei, "Dynamic Task Prioritization for Multitask Learning", ECCV 2018), which weights
the task that does worse up.

After every validation pass, w_i = T a_i / sum_j a_j with a_i task i's validation score. The rule
is w_i = a_i / sum_j a_j; the factor T keeps the weights' sum at T, the same scale as equal
weighting, which is also what the weights are (1 each) until the first validation.

a_i is the task's headline metric when higher is better (accuracy, F1, AUROC), floored at 0. For a
lower-is-better headline (regression MSE or MAE) the stand-in is R^2 clipped to [0, 1] when the
task's validation metrics include "r2", otherwise 1 / (1 + value); both grow as the task improves.
A task without a measurement this epoch (no validation data, a NaN) takes the mean score of the
others; if no task has one the weights stay as they were. All scores 0 give equal weights.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from ..events import TaskInfo
from ..registry import STRATEGIES
from ._loss_utils import as_tensor, normalise
from .base import Combined, EpochStats, StepInfo, Strategy


def task_score(task: TaskInfo, headline: float | None, metrics: dict[str, float]) -> float | None:
    """The higher-is-better score in [0, inf) the weighting uses for one task, or None."""
    if headline is None or not math.isfinite(headline):
        return None
    if task.higher_is_better:
        return max(headline, 0.0)
    r2 = metrics.get("r2")
    if r2 is not None and math.isfinite(r2):
        return min(max(r2, 0.0), 1.0)
    return 1.0 / (1.0 + max(headline, 0.0))


@STRATEGIES.register(
    "performance",
    "Performance weighting: w_i = T a_i / sum_j a_j, a_i task i's last validation score "
    "(R^2 or 1/(1+error) if lower is better); 1 until then (weights sum to T)",
    paper="Performance-based weighting; the inverse of dynamic task prioritisation (Guo et al., "
          "ECCV 2018), which weights the worse task up",
    family="loss",
)
class PerformanceWeighting(Strategy):
    def setup(self) -> None:
        self._w = self.ones()

    def combine(self, losses: torch.Tensor, info: StepInfo) -> Combined:
        return self.weighted_sum(losses, self._w.to(losses.dtype))

    def end_epoch(self, stats: EpochStats) -> None:
        scores = [task_score(t, _at(stats.headline, i), _at(stats.val_metrics, i) or {})
                  for i, t in enumerate(self.tasks)]
        known = [s for s in scores if s is not None]
        if not known:
            return
        fill = sum(known) / len(known)
        a = as_tensor([fill if s is None else s for s in scores], self.device)
        self._w = normalise(a, float(self.n_tasks))

    def state(self) -> dict[str, Any]:
        return {"weights": self._w.cpu().tolist()}


def _at(values: list[Any], i: int) -> Any:
    return values[i] if i < len(values) else None
