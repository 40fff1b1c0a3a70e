"""A run's events as named scalars and texts: the one naming TensorBoard and MLflow share.

The tag names are the columns of steps.csv and epochs.csv (curves_table.py), so a curve in
TensorBoard or MLflow and a column of the CSV are the same numbers under the same name:

- every logged step, at its step: ``total``, ``lr``, ``loss/<task>``, ``weight/<task>``,
  ``weighted/<task>``, ``extra/<name>``;
- every epoch, at the step count when it ended (epochs.csv's ``step``): ``train_loss/<task>``,
  ``val_loss/<task>``, ``val/<task>/<metric>``, ``val/_multilabel/<metric>``, ``score``,
  ``epoch``, ``seconds``, ``samples_per_sec``;
- every gradient measurement, at its step: ``grad_norm/<task>``,
  ``grad_cosine/<a> vs <b>`` (each pair once, in task order), ``update_cosine/<task>``;
- at the end, at the final step: ``final/<task>/<metric>`` (the kept epoch's validation
  metrics), ``test_loss/<task>`` and ``test/<task>/<metric>`` when the run had a test part.

Texts: ``config`` (the resolved config as YAML, indented as a Markdown code block), ``tasks``
(each task's type, loss and headline metric as JSON), ``warnings`` as they come and ``status``
at the end ("completed after 20 steps, epoch 2 kept"). Wall times are the run's own (its start
plus each step's wall), so a "relative time" axis matches steps.csv's ``wall``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from .curves_table import MULTILABEL_COLUMN
from .events import (
    EpochEnded,
    Event,
    GradientsMeasured,
    RunFailed,
    RunFinished,
    RunStarted,
    StepsLogged,
    Warned,
)

PAIR = " vs "  # grad_cosine/<a> vs <b>


def code_block(text: str) -> str:
    """Text shown verbatim by TensorBoard's Markdown: every line indented by four spaces."""
    return "\n".join("    " + line for line in text.rstrip("\n").split("\n"))


class RunScalars:
    """Feed a run's events in order (`record`); a subclass says where each scalar and text goes
    (`scalar(tag, value, step, wall)`, `text(tag, text, step, wall)`; wall: seconds since the
    epoch, time.time())."""

    def __init__(self) -> None:
        self._t0 = 0.0  # the run's start, time.time()
        self._wall = 0.0  # the last logged step's wall time, seconds since the start
        self._tasks: tuple[str, ...] = ()

    def scalar(self, tag: str, value: float, step: int, wall: float) -> None:
        raise NotImplementedError

    def text(self, tag: str, text: str, step: int, wall: float) -> None:
        raise NotImplementedError

    def record(self, event: Event) -> None:
        handler = _HANDLERS.get(type(event))
        if handler is not None:
            handler(self, event)

    def _scalar(self, tag: str, value: float | None, step: int, wall: float) -> None:
        if value is not None:
            self.scalar(tag, float(value), int(step), self._t0 + wall)

    def _text(self, tag: str, text: str, step: int) -> None:
        self.text(tag, text, int(step), self._t0 + self._wall)

    def _started(self, e: RunStarted) -> None:
        import yaml

        self._t0 = e.started_at
        self._tasks = tuple(t.name for t in e.tasks)
        self._text("config", code_block(yaml.safe_dump(e.config, sort_keys=False)), 0)
        tasks = [asdict(t) for t in e.tasks]
        self._text("tasks", code_block(json.dumps(tasks, indent=1)), 0)

    def _steps(self, e: StepsLogged) -> None:
        for i, step in enumerate(e.steps):
            wall = e.wall[i] if i < len(e.wall) else self._wall
            for tag, series in (("total", e.total), ("lr", e.lr)):
                if i < len(series):
                    self._scalar(tag, series[i], step, wall)
            for kind, per in (("loss", e.losses), ("weight", e.weights),
                              ("weighted", e.weighted), ("extra", e.extra)):
                for name, series in per.items():
                    if i < len(series):
                        self._scalar(f"{kind}/{name}", series[i], step, wall)
            self._wall = wall

    def _epoch(self, e: EpochEnded) -> None:
        s, w = e.step, self._wall
        for tag, value in (("epoch", e.epoch), ("seconds", e.seconds),
                           ("samples_per_sec", e.samples_per_sec), ("score", e.score)):
            self._scalar(tag, value, s, w)
        for kind, per in (("train_loss", e.train_loss), ("val_loss", e.val_loss)):
            for task, value in per.items():
                self._scalar(f"{kind}/{task}", value, s, w)
        for task, metrics in e.val_metrics.items():
            for m, value in metrics.items():
                self._scalar(f"val/{task}/{m}", value, s, w)
        for m, value in e.val_multilabel.items():
            self._scalar(f"val/{MULTILABEL_COLUMN}/{m}", value, s, w)

    def _gradients(self, e: GradientsMeasured) -> None:
        names = tuple(e.tasks) or self._tasks
        s, w = e.step, self._wall
        for task, value in e.norms.items():
            self._scalar(f"grad_norm/{task}", value, s, w)
        for i, a in enumerate(names):
            for j in range(i + 1, len(names)):
                if i < len(e.cosine) and j < len(e.cosine[i]):
                    self._scalar(f"grad_cosine/{a}{PAIR}{names[j]}", e.cosine[i][j], s, w)
        for task, value in e.update_cosine.items():
            self._scalar(f"update_cosine/{task}", value, s, w)

    def _warned(self, e: Warned) -> None:
        self._text("warnings", e.message, e.step)

    def _finished(self, e: RunFinished) -> None:
        s, w = e.step, self._wall
        for prefix, per in (("final", e.final_metrics), ("test", e.test_metrics)):
            for task, metrics in per.items():
                for m, value in metrics.items():
                    self._scalar(f"{prefix}/{task}/{m}", value, s, w)
        for task, value in e.test_loss.items():
            self._scalar(f"test_loss/{task}", value, s, w)
        kept = f", epoch {e.selected_epoch} kept" if e.selected_epoch is not None else ""
        self._text("status", f"{e.status} after {e.step} steps{kept}", e.step)

    def _failed(self, e: RunFailed) -> None:
        self._text("status", f"failed at step {e.step}: {e.error_type}: {e.message}", e.step)


_HANDLERS: dict[type, Callable[[RunScalars, Any], None]] = {
    RunStarted: RunScalars._started,
    StepsLogged: RunScalars._steps,
    EpochEnded: RunScalars._epoch,
    GradientsMeasured: RunScalars._gradients,
    Warned: RunScalars._warned,
    RunFinished: RunScalars._finished,
    RunFailed: RunScalars._failed,
}


