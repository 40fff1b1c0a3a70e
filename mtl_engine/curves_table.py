"""The curves tables of a run, steps.csv and epochs.csv: their columns and how a row is formed.

The only definition of both files: the run folder's recorder (runs.py, from events as they come)
and the GUI's "export curves" (from a run's history) write them through this module, so the same
run gives the same columns and values either way.

- steps.csv, a row per logged step: ``step, epoch, wall, total, lr``, then ``loss/<task>``,
  ``weight/<task>``, ``weighted/<task>`` for each task in the run's order, then
  ``extra/<name>`` for each extra series (penalties, a strategy's auxiliary loss) of the first
  logged block. ``epoch`` is the 0-based epoch the step belongs to, ``wall`` the seconds since
  the run started, ``total`` the loss that was back-propagated.
- epochs.csv, a row per finished epoch: ``epoch, step, wall, seconds, samples_per_sec, score``,
  then ``train_loss/<task>``, ``val_loss/<task>``, ``val/<task>/<metric>`` (each task's metrics
  of the first epoch), then ``val/_multilabel/<metric>`` when the run has 2 or more binary tasks
  (hamming_loss, micro_f1, macro_f1, subset_accuracy across them: multilabel.py). ``epoch``
  counts epochs done (1-based), ``step`` the steps done, ``wall`` the last logged step's wall
  time, ``seconds`` the epoch's own time, validation included.

Cells: integers as such, floats as Python's shortest exact repr; an empty cell is no value (a
series the run did not report, a score of None, NaN). Lines end in ``\\n``.
"""

from __future__ import annotations

import csv
import io
import math
import numbers
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from .events import EpochEnded, StepsLogged

STEPS_FILE = "steps.csv"
MULTILABEL_COLUMN = "_multilabel"  # val/_multilabel/<metric>: the run's multi-label metrics
EPOCHS_FILE = "epochs.csv"

Series = Sequence[float]


@dataclass(frozen=True)
class StepSeries:
    """Consecutive logged steps column by column: one StepsLogged's tuples, or a history's
    arrays (every series as long as `step`; a shorter one leaves its last cells empty)."""

    step: Sequence[int]
    epoch: Sequence[int]
    wall: Series
    total: Series
    lr: Series
    loss: Mapping[str, Series]
    weight: Mapping[str, Series]
    weighted: Mapping[str, Series]
    extra: Mapping[str, Series] = field(default_factory=dict)

    @classmethod
    def of_event(cls, e: StepsLogged) -> StepSeries:
        return cls(e.steps, (e.epoch,) * len(e.steps), e.wall, e.total, e.lr, e.losses,
                   e.weights, e.weighted, e.extra)


@dataclass(frozen=True)
class EpochSeries:
    """Finished epochs column by column: one EpochEnded, or a history's arrays."""

    epoch: Sequence[int]
    step: Sequence[int]
    wall: Series
    seconds: Series
    samples_per_sec: Series
    score: Sequence[float | None]
    train_loss: Mapping[str, Series]
    val_loss: Mapping[str, Series]
    val: Mapping[str, Mapping[str, Series]]  # task -> metric -> values
    multilabel: Mapping[str, Series] = field(default_factory=dict)  # across the binary tasks

    @classmethod
    def of_event(cls, e: EpochEnded, wall: float) -> EpochSeries:
        """`wall`: the wall time of the last step logged before the epoch ended."""
        return cls((e.epoch,), (e.step,), (wall,), (e.seconds,), (e.samples_per_sec,),
                   (e.score,), {t: (v,) for t, v in e.train_loss.items()},
                   {t: (v,) for t, v in e.val_loss.items()},
                   {t: {m: (v,) for m, v in ms.items()} for t, ms in e.val_metrics.items()},
                   {m: (v,) for m, v in e.val_multilabel.items()})


def cell(value: object) -> str:
    """One CSV cell (see the module docstring)."""
    if value is None:
        return ""
    if isinstance(value, numbers.Integral):
        return str(int(value))
    number = float(value)  # type: ignore[arg-type]
    return "" if math.isnan(number) else repr(number)


def _rows(columns: Sequence[tuple[str, Callable[..., Series | None]]], series: object,
          count: int) -> list[list[str]]:
    picked = [get(series) for _, get in columns]
    return [[cell(s[i]) if s is not None and i < len(s) else "" for s in picked]
            for i in range(count)]


@dataclass(frozen=True)
class StepsTable:
    """steps.csv for a run of these tasks and extra series."""

    tasks: tuple[str, ...]
    extras: tuple[str, ...] = ()

    @classmethod
    def of(cls, tasks: Iterable[str], extras: Iterable[str] = ()) -> StepsTable:
        """The table of a run of `tasks` (its order) whose first logged block had `extras`."""
        return cls(tuple(tasks), tuple(extras))

    def columns(self) -> list[tuple[str, Callable[[StepSeries], Series | None]]]:
        cols: list[tuple[str, Callable[[StepSeries], Series | None]]] = [
            (name, lambda s, name=name: getattr(s, name))
            for name in ("step", "epoch", "wall", "total", "lr")]
        for kind in ("loss", "weight", "weighted"):
            cols += [(f"{kind}/{t}", lambda s, kind=kind, t=t: getattr(s, kind).get(t))
                     for t in self.tasks]
        cols += [(f"extra/{k}", lambda s, k=k: s.extra.get(k)) for k in self.extras]
        return cols

    def header(self) -> list[str]:
        return [name for name, _ in self.columns()]

    def rows(self, s: StepSeries) -> list[list[str]]:
        return _rows(self.columns(), s, len(s.step))


@dataclass(frozen=True)
class EpochsTable:
    """epochs.csv for a run of these tasks, each with these metrics: ((task, metrics), ...)."""

    tasks: tuple[str, ...]
    metrics: tuple[tuple[str, tuple[str, ...]], ...] = ()
    multilabel: tuple[str, ...] = ()  # run-level metrics across the binary tasks (first epoch)

    @classmethod
    def of(cls, tasks: Iterable[str], metrics: Mapping[str, Iterable[str]],
           multilabel: Iterable[str] = ()) -> EpochsTable:
        """The table of a run of `tasks` whose first epoch had `metrics` (task -> names)."""
        tasks = tuple(tasks)
        named = ((t, tuple(metrics.get(t, ()))) for t in tasks)
        return cls(tasks, tuple((t, names) for t, names in named if names), tuple(multilabel))

    def columns(self) -> list[tuple[str, Callable[[EpochSeries], Series | None]]]:
        cols: list[tuple[str, Callable[[EpochSeries], Series | None]]] = [
            (name, lambda s, name=name: getattr(s, name))
            for name in ("epoch", "step", "wall", "seconds", "samples_per_sec", "score")]
        for kind in ("train_loss", "val_loss"):
            cols += [(f"{kind}/{t}", lambda s, kind=kind, t=t: getattr(s, kind).get(t))
                     for t in self.tasks]
        cols += [(f"val/{t}/{m}", lambda s, t=t, m=m: s.val.get(t, {}).get(m))
                 for t, names in self.metrics for m in names]
        cols += [(f"val/{MULTILABEL_COLUMN}/{m}", lambda s, m=m: s.multilabel.get(m))
                 for m in self.multilabel]
        return cols

    def header(self) -> list[str]:
        return [name for name, _ in self.columns()]

    def rows(self, s: EpochSeries) -> list[list[str]]:
        return _rows(self.columns(), s, len(s.epoch))


def csv_text(rows: Iterable[Sequence[str]]) -> str:
    """Rows (a header among them, if wanted) as CSV text in this module's dialect."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()
