"""Which metrics apply to a task: by its type, its loss and its number of values per row.

Read from the metric registry's facts alone (served from the catalogue, no torch), so the engine's
set-up and the window's metric picker ask the same question of the same rule.
"""

from __future__ import annotations

from .registry import METRICS


def metrics_for(task_type: str, loss: str | None = None, outputs: int | None = None
                ) -> list[str]:
    """Every registered metric that applies to `task_type` (trained with `loss`: a metric that
    names the losses it needs applies only to those; with `outputs` values per row: a metric
    that needs a number of them applies only to tasks with that many, and to none when
    `outputs` is not given), in registration order."""
    return [e.name for e in METRICS if task_type in e.meta["task_types"]
            and (not e.meta["losses"] or loss in e.meta["losses"])
            and (e.meta["outputs"] is None or e.meta["outputs"] == outputs)]

