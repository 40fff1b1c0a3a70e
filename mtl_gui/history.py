"""A run's curves as growable numpy buffers, filled from engine events. No Qt here.

Plots read views of these buffers on a timer; `version` changes whenever anything was appended,
so a plot can skip a redraw when nothing happened.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

import mtl_engine.events as ev
from mtl_engine.events import RunStatus


class Buffer:
    """An append-only float64 (or int64) array with amortised O(1) growth."""

    def __init__(self, dtype: type = np.float64, capacity: int = 256) -> None:
        self._data = np.empty(capacity, dtype=dtype)
        self._n = 0

    def extend(self, values: Iterable[float]) -> None:
        arr = np.asarray(tuple(values) if not isinstance(values, np.ndarray) else values,
                         dtype=self._data.dtype)
        need = self._n + arr.size
        if need > self._data.size:
            grown = np.empty(max(need, 2 * self._data.size), dtype=self._data.dtype)
            grown[: self._n] = self._data[: self._n]
            self._data = grown
        self._data[self._n : need] = arr
        self._n = need

    def append(self, value: float) -> None:
        self.extend((value,))

    @property
    def view(self) -> np.ndarray:
        """The filled part; a view, valid until the next append."""
        return self._data[: self._n]

    def __len__(self) -> int:
        return self._n

    def frozen(self) -> FrozenBuffer:
        """The values so far, fixed: later appends to this buffer do not show in the copy."""
        return FrozenBuffer(self._data, self._n)


class FrozenBuffer(Buffer):
    """A read-only cut of a Buffer. Shares its array without copying: a Buffer only ever writes
    past its filled part (or into a new array when it grows), so the cut's values never change."""

    def __init__(self, data: np.ndarray, n: int) -> None:
        self._data = data
        self._n = n

    def extend(self, values: Iterable[float]) -> None:
        raise TypeError("a history snapshot is read-only")


def _frozen(value: Any) -> Any:
    if isinstance(value, Buffer):
        return value.frozen()
    if isinstance(value, dict):
        return {k: _frozen(v) for k, v in value.items()}
    if isinstance(value, list):
        return list(value)
    return value


class RunHistory:
    """Every number a run reported, per step, per epoch and per gradient measurement."""

    def __init__(self) -> None:
        self.version = 0
        self.tasks: list[str] = []
        self.task_info: dict[str, ev.TaskInfo] = {}
        self.config: dict[str, Any] = {}
        self.device = ""
        self.param_counts: dict[str, int] = {}
        self.steps_per_epoch = 0
        self.total_steps = 0
        self.train_size = 0
        self.started_at = 0.0
        self.status: RunStatus = RunStatus.PENDING
        self.failure: ev.RunFailed | None = None
        self.final_metrics: dict[str, dict[str, float]] = {}
        self.test_metrics: dict[str, dict[str, float]] = {}  # the kept weights on the test rows
        self.selected_epoch: int | None = None  # the epoch whose weights the run kept
        self.warnings: list[str] = []
        self.samples_per_sec = 0.0
        self.seconds = 0.0
        self.epoch = 0
        # per step
        self.step = Buffer(np.int64)
        self.step_epoch = Buffer(np.int64)
        self.wall = Buffer()
        self.loss: dict[str, Buffer] = {}
        self.weight: dict[str, Buffer] = {}
        self.weighted: dict[str, Buffer] = {}
        self.total = Buffer()
        self.lr = Buffer()
        self.extra: dict[str, Buffer] = {}  # penalties, aux losses: StepsLogged.extra
        # per epoch
        self.ep_index = Buffer(np.int64)
        self.ep_step = Buffer(np.int64)
        self.ep_wall = Buffer()
        self.ep_seconds = Buffer()  # the epoch's own time, validation included
        self.ep_samples_per_sec = Buffer()
        self.train_loss: dict[str, Buffer] = {}
        self.val_loss: dict[str, Buffer] = {}
        self.val_metrics: dict[str, dict[str, Buffer]] = {}
        self.val_multilabel: dict[str, Buffer] = {}  # across the binary tasks: EpochEnded's
        self.score = Buffer()
        # per gradient measurement
        self.g_step = Buffer(np.int64)
        self.g_wall = Buffer()
        self.g_norm: dict[str, Buffer] = {}
        self.g_cosine: list[np.ndarray] = []  # one T x T matrix per measurement
        self.g_pair: dict[tuple[int, int], Buffer] = {}  # (i, j), i < j -> cosine per measurement

    # ------------------------------------------------------------------ feeding
    def feed(self, event: ev.Event) -> None:
        handler = self._HANDLERS.get(type(event))
        if handler is not None:
            handler(self, event)
            self.version += 1

    def feed_all(self, events: Iterable[ev.Event]) -> None:
        for e in events:
            self.feed(e)

    def _started(self, e: ev.RunStarted) -> None:
        self.config = dict(e.config)
        self.tasks = [t.name for t in e.tasks]
        self.task_info = {t.name: t for t in e.tasks}
        self.device = e.device
        self.param_counts = dict(e.param_counts)
        self.steps_per_epoch = e.steps_per_epoch
        self.total_steps = e.total_steps
        self.train_size = e.train_size
        self.started_at = e.started_at
        self.status = RunStatus.RUNNING
        for store in (self.loss, self.weight, self.weighted, self.train_loss, self.val_loss,
                      self.g_norm):
            for t in self.tasks:
                store.setdefault(t, Buffer())
        for t in self.tasks:
            self.val_metrics.setdefault(t, {})

    def _steps(self, e: ev.StepsLogged) -> None:
        n = len(e.steps)
        self.step.extend(e.steps)
        self.step_epoch.extend([e.epoch] * n)
        self.wall.extend(e.wall)
        nan = (float("nan"),) * n
        for t in self.tasks:
            self.loss[t].extend(e.losses.get(t, nan))
            self.weight[t].extend(e.weights.get(t, nan))
            self.weighted[t].extend(e.weighted.get(t, nan))
        self.total.extend(e.total)
        self.lr.extend(e.lr if len(e.lr) == n else nan)
        for k in e.extra:
            if k not in self.extra:  # a series first seen late: pad earlier steps
                self.extra[k] = Buffer()
                self.extra[k].extend([float("nan")] * (len(self.step) - n))
        for k, buf in self.extra.items():
            got = e.extra.get(k, nan)
            buf.extend(got if len(got) == n else nan)
        if e.samples_per_sec:
            self.samples_per_sec = e.samples_per_sec
        self.epoch = e.epoch
        if e.wall:
            self.seconds = e.wall[-1]

    def _epoch(self, e: ev.EpochEnded) -> None:
        self.ep_index.append(e.epoch)
        self.ep_step.append(e.step)
        self.ep_wall.append(self.seconds)
        self.ep_seconds.append(e.seconds)
        self.ep_samples_per_sec.append(e.samples_per_sec)
        nan = float("nan")
        for t in self.tasks:
            self.train_loss[t].append(e.train_loss.get(t, nan))
            self.val_loss[t].append(e.val_loss.get(t, nan))
            got = e.val_metrics.get(t, {})
            known = self.val_metrics[t]
            for m in got:
                if m not in known:  # a metric first seen late: pad earlier epochs
                    known[m] = Buffer()
                    known[m].extend([nan] * (len(self.ep_index) - 1))
            for m, buf in known.items():
                buf.append(got.get(m, nan))
        for m in e.val_multilabel:
            if m not in self.val_multilabel:  # padded like a late per-task metric
                self.val_multilabel[m] = Buffer()
                self.val_multilabel[m].extend([nan] * (len(self.ep_index) - 1))
        for m, buf in self.val_multilabel.items():
            buf.append(e.val_multilabel.get(m, nan))
        self.score.append(nan if e.score is None else e.score)
        self.epoch = e.epoch
        if e.samples_per_sec:
            self.samples_per_sec = e.samples_per_sec

    def _gradients(self, e: ev.GradientsMeasured) -> None:
        names = list(e.tasks) or self.tasks
        self.g_step.append(e.step)
        self.g_wall.append(self.seconds)
        for t in self.tasks:
            self.g_norm[t].append(e.norms.get(t, float("nan")))
        # Reorder to the run's task order so matrix rows always mean the same task.
        raw = np.asarray(e.cosine, dtype=float).reshape(len(names), len(names))
        idx = [names.index(t) if t in names else -1 for t in self.tasks]
        mat = np.full((len(self.tasks), len(self.tasks)), np.nan)
        for i, a in enumerate(idx):
            for j, b in enumerate(idx):
                if a >= 0 and b >= 0:
                    mat[i, j] = raw[a, b]
        self.g_cosine.append(mat)
        for i, j in self.cosine_pairs():
            self.g_pair.setdefault((i, j), Buffer()).append(mat[i, j])

    def _warned(self, e: ev.Warned) -> None:
        self.warnings.append(f"step {e.step}: {e.message}")

    def _finished(self, e: ev.RunFinished) -> None:
        self.status = RunStatus(e.status)
        self.final_metrics = {t: dict(m) for t, m in e.final_metrics.items()}
        self.test_metrics = {t: dict(m) for t, m in e.test_metrics.items()}
        self.selected_epoch = e.selected_epoch
        self.seconds = e.seconds

    def _failed(self, e: ev.RunFailed) -> None:
        self.status = RunStatus.FAILED
        self.failure = e

    _HANDLERS: dict[type, Callable[[RunHistory, Any], None]] = {
        ev.RunStarted: _started,
        ev.StepsLogged: _steps,
        ev.EpochEnded: _epoch,
        ev.GradientsMeasured: _gradients,
        ev.Warned: _warned,
        ev.RunFinished: _finished,
        ev.RunFailed: _failed,
    }

    def snapshot(self) -> RunHistory:
        """A read-only copy of everything reported so far, in O(tasks) without copying data.

        The plot area draws every plot of one redraw cycle from the same snapshot, so no plot
        shows a step that another plot of the same run does not show yet."""
        snap = RunHistory.__new__(RunHistory)
        snap.__dict__.update({k: _frozen(v) for k, v in self.__dict__.items()})
        return snap

    # ------------------------------------------------------------------ reading
    @property
    def n_steps(self) -> int:
        return len(self.step)

    @property
    def last_step(self) -> int:
        """The index of the last logged step (the engine counts steps from 0)."""
        return int(self.step.view[-1]) if len(self.step) else 0

    @property
    def steps_done(self) -> int:
        return self.last_step + 1 if len(self.step) else 0

    def progress(self) -> float:
        """Fraction of the planned steps done, in [0, 1]."""
        if self.status == RunStatus.COMPLETED:
            return 1.0
        return min(1.0, self.steps_done / self.total_steps) if self.total_steps else 0.0

    def seconds_left(self) -> float | None:
        """Linear extrapolation from the wall time so far; None until there is a rate."""
        done = self.steps_done
        if not done or not self.total_steps or self.seconds <= 0:
            return None
        return max(0.0, self.seconds * (self.total_steps - done) / done)

    def metric_names(self) -> list[str]:
        names: list[str] = []
        for per_task in self.val_metrics.values():
            names += [m for m in per_task if m not in names]
        return names

    def headline(self, task: str) -> str:
        info = self.task_info.get(task)
        return info.metric if info else ""

    def cosine_pairs(self) -> list[tuple[int, int]]:
        n = len(self.tasks)
        return [(i, j) for i in range(n) for j in range(i + 1, n)]

    def cosine_series(self, i: int, j: int) -> np.ndarray:
        buf = self.g_pair.get((min(i, j), max(i, j)))
        return buf.view if buf is not None else np.empty(0)


def history_from_events(events: Iterable[ev.Event]) -> RunHistory:
    h = RunHistory()
    h.feed_all(events)
    return h
