"""The events a run emits: the only vocabulary the GUI and the run folder understand.

Past-tense, immutable records of plain Python data (numbers, text, lists, dicts); no tensor ever
crosses this line. `to_json`/`from_json` make them JSON lines, so a past run can be replayed.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any


class RunStatus(StrEnum):
    """Where one run stands: the one vocabulary of run states, for the engine, the run folder,
    studies and the window. Values are the words written to files and shown to users."""

    QUEUED = "queued"  # a study's run that has not started
    PENDING = "pending"  # asked to start, no RunStarted yet (data loading, model building)
    RUNNING = "running"
    COMPLETED = "completed"  # ran every epoch (in a study: also a run kept from an earlier pass)
    STOPPED = "stopped"  # stopped on request before its last epoch
    FAILED = "failed"
    INCOMPLETE = "incomplete"  # its record ends without RunFinished or RunFailed (killed, crashed)
    NOT_RUN = "not run"  # a study's run that never started before the study ended


LIVE_STATUSES = frozenset({RunStatus.QUEUED, RunStatus.PENDING, RunStatus.RUNNING})


@dataclass(frozen=True)
class Event:
    # The run this event belongs to: a study's run key (study/expand.py), "" for a lone run.
    # Keyword-only, so every event's own fields keep their positions.
    run: str = field(default="", kw_only=True)

    @property
    def kind(self) -> str:
        return type(self).__name__


@dataclass(frozen=True)
class TaskInfo:
    name: str
    type: str  # classification | binary | regression
    n_classes: int  # 1 for regression and binary
    loss: str
    metric: str  # the headline metric
    higher_is_better: bool  # of the headline metric
    metrics: tuple[str, ...] = ()  # every metric reported for this task


@dataclass(frozen=True)
class RunStarted(Event):
    config: dict[str, Any]
    tasks: tuple[TaskInfo, ...]
    param_counts: dict[str, int]  # "shared", one per task, "strategy", "total"
    device: str
    steps_per_epoch: int
    total_steps: int
    train_size: int
    val_size: int
    layers: tuple[dict[str, Any], ...] = ()  # LayerInfo records as dicts (see model summary)
    started_at: float = 0.0  # time.time()
    test_size: int = 0  # rows held out for the test metrics (RunFinished.test_metrics)


@dataclass(frozen=True)
class StepsLogged(Event):
    """Every step since the last StepsLogged: each list has one entry per step."""

    steps: tuple[int, ...]
    epoch: int
    wall: tuple[float, ...]  # seconds since the run started, per step
    losses: dict[str, tuple[float, ...]]  # per task, unweighted
    weights: dict[str, tuple[float, ...]]  # per task, the weights the strategy applied
    weighted: dict[str, tuple[float, ...]]  # per task, weight * loss
    total: tuple[float, ...]  # the loss that was back-propagated
    lr: tuple[float, ...]
    extra: dict[str, tuple[float, ...]] = field(default_factory=dict)  # penalties, aux losses
    samples_per_sec: float = 0.0


@dataclass(frozen=True)
class EpochEnded(Event):
    epoch: int  # 1-based: the number of epochs done
    step: int  # global step count at the end of this epoch
    train_loss: dict[str, float]  # mean per-task training loss over the epoch
    val_loss: dict[str, float]
    val_metrics: dict[str, dict[str, float]]  # task -> metric -> value
    score: float | None  # user-weighted average of headline metrics (higher is better), if any
    seconds: float  # wall time of this epoch, validation included
    samples_per_sec: float
    # Across the run's binary tasks as one multi-label problem (2 or more of them, else {}):
    # metric -> value, the names of multilabel.MULTILABEL_METRICS. Files written before: {}.
    val_multilabel: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class GradientsMeasured(Event):
    step: int
    epoch: int
    mode: str  # "shared" or "representation"
    norms: dict[str, float]  # per task gradient norm
    cosine: tuple[tuple[float, ...], ...]  # T x T pairwise cosine similarity, task order
    update_cosine: dict[str, float]  # cosine between each task gradient and the applied update
    tasks: tuple[str, ...] = ()


@dataclass(frozen=True)
class Warned(Event):
    """Something the user must see that does not stop the run (e.g. a solver fell short)."""

    step: int
    message: str


@dataclass(frozen=True)
class RunFinished(Event):
    status: str  # RunStatus.COMPLETED or RunStatus.STOPPED
    step: int
    epoch: int
    seconds: float
    final_metrics: dict[str, dict[str, float]]  # validation metrics of the selected epoch
    # The epoch (1-based) whose weights the run kept (training.select): the last one, or the best
    # by validation score; None when no epoch finished. Files written before it: None.
    selected_epoch: int | None = None
    # The selected weights on the test rows (data.test_fraction), measured once at the end;
    # empty without a test part.
    test_loss: dict[str, float] = field(default_factory=dict)
    test_metrics: dict[str, dict[str, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class RunFailed(Event):
    error_type: str
    message: str
    details: str  # traceback or extra context
    step: int
    epoch: int
    task: str | None = None
    restored_step: int | None = None  # weights were rolled back to this step


@dataclass(frozen=True)
class StudyStarted(Event):
    """A study is about to run. `runs` has one plain record per run of the expansion, in order:
    key, variant (a label such as ``strategy.name=mgda``), seed, baseline (a task name for a
    single-task run, else ""), fields (the overridden config paths and their values), folder
    (relative to the study folder) and status: "queued", or "completed" for a run kept from
    before (RunStatus)."""

    name: str
    folder: str
    runs: tuple[dict[str, Any], ...]
    executor: str  # "inline", "local (N workers)", "ray (ADDRESS)"
    workers: int


@dataclass(frozen=True)
class StudyFinished(Event):
    """Every run is over. `status` (a RunStatus): "completed" (every run completed), "failed"
    (some failed), "stopped" (stopped before every run was done). `counts`: run status -> number
    of runs."""

    status: str
    counts: dict[str, int]
    seconds: float
    folder: str


EVENT_TYPES: dict[str, type[Event]] = {
    cls.__name__: cls
    for cls in (RunStarted, StepsLogged, EpochEnded, GradientsMeasured, Warned, RunFinished,
                RunFailed, StudyStarted, StudyFinished)
}


def to_dict(event: Event) -> dict[str, Any]:
    return {"event": event.kind, **asdict(event)}


def to_json(event: Event) -> str:
    return json.dumps(to_dict(event), allow_nan=True, separators=(",", ":"))


def from_dict(d: dict[str, Any]) -> Event:
    d = dict(d)
    cls = EVENT_TYPES[d.pop("event")]
    kwargs = {}
    for f in fields(cls):
        if f.name not in d:
            continue
        v = d[f.name]
        if f.name == "runs" and cls is StudyStarted:  # plain records, as written
            kwargs[f.name] = tuple(v)
            continue
        if f.name == "tasks" and cls is RunStarted:
            v = tuple(TaskInfo(**{**t, "metrics": tuple(t.get("metrics", ()))}) for t in v)
        # a config stays as to_dict wrote it (lists), so it compares equal after a replay
        kwargs[f.name] = v if f.name == "config" else _freeze(v)
    return cls(**kwargs)


def from_json(line: str) -> Event:
    return from_dict(json.loads(line))


def _freeze(v: Any) -> Any:
    """JSON gives lists; the records hold tuples (dicts stay dicts)."""
    if isinstance(v, list):
        return tuple(_freeze(x) for x in v)
    if isinstance(v, dict):
        return {k: _freeze(x) for k, x in v.items()}
    return v
