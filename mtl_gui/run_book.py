"""Every run the app shows, keyed by its run key, and the workers that feed them.

A single run and a study are one mechanism: a RunWorker (worker.py) runs one event stream, and
each event goes to the entry of its `run` key (an event with run == "" to the entry the worker was
started for). A study is one worker running `mtl_engine.run_study`: its StudyStarted event makes
one entry per run, and every run's events then land in their own entry.

The API other modules rely on (names are fixed):

- `RunBook(runs_dir=None, parent=None)`; `runs_dir` (lone runs' folders go under it, None: no
  folder) and `source_factory` ((config, out_dir) -> event source) may be set.
- `runs`: every entry in order (a RunList: a list to read; `runs.get(key)`); `entries`: run key ->
  RunEntry, read-only, insertion-ordered. A lone run's key is "run-<uid>"; a study run's is the
  engine's run key. A key names one entry: a later entry of the same key (a study opened again, a
  study resumed into its folder) takes an earlier one's place and number, unless that one is still
  live, when the newcomer is keyed "<key>#2" (and its events still reach it: each worker routes
  to the entries it made).
- `current` / `worker`: the lone run last started with `start` and its worker while it lives.
- `state`: over every live worker: "running" if any runs, else "paused" if any is paused, else
  "stopping" while the last ones wind down, "idle" when none is left.
- `start(config) -> RunEntry`: one run of an ExperimentConfig (into a new folder of `runs_dir`).
- `start_study(study, folder, workers=None, ray=None, *, visible=False) -> RunWorker`: runs
  `mtl_engine.run_study(study, folder, workers=workers, ray=ray)` in ONE RunWorker. Its entries
  appear when StudyStarted arrives: status "queued" for a queued run, replayed from its folder for
  a run already completed; then each updates as its events arrive. Runs never started end "not run".
- `open_study(folder, *, visible=False) -> list[RunEntry]`: a study folder written by
  `mtl-study`, replayed without training: one entry per record of its study.yaml `runs:` (a
  missing run folder is an entry with status "not run"). Raises ConfigError for a folder that is
  not a study's (one line naming the file and why).
- `study_entries(folder)`: the entries of one study, in the study's order.
- `open_run(folder)`, `remove_run(entry)`, `set_visible(entry, visible)`, `shown_runs()`.
- `feed(entry_or_key, batch)`: route events into their entries (what the workers do).
- `pause()`, `resume()`, `stop()`: every live worker, or only `worker=` (keyword-only, so a
  button's `clicked(bool)` can be connected straight to them); `shutdown(timeout_s)`.
- Entries carry `key`, `variant`, `seed`, `baseline` (a single-task run's task) and `study` (the
  study folder, resolved; "" for a lone run), so a view can group runs by variant. Study entries
  start hidden (`visible` False) unless `visible=True` is passed: fifty runs overlaid on the main
  plots read as noise.

Signals: runs_changed, run_started(entry), run_updated(entry), run_finished(entry),
run_opened(entry), state_changed(str), study_started(StudyStarted event), study_finished(
StudyFinished event: made up as "failed"/"stopped" when the study ended without one), and
message(level, text, details) for failures and warnings. A lone run's run_finished comes when its
worker has ended; a study run's when its closing event arrives.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

import mtl_engine.events as ev
from mtl_engine import ExperimentConfig, config_to_dict
from mtl_engine.errors import ConfigError, MTLError
from mtl_engine.events import LIVE_STATUSES, RunStatus

from .history import RunHistory
from .run_entry import RunEntry, RunList, entry_from_folder, skipped_lines_text
from .worker import EventSource, RunWorker

# (config, run folder or None) -> event source; tests swap in a fake or a replay.
SourceFactory = Callable[[ExperimentConfig, "Path | None"], EventSource]

LIVE = LIVE_STATUSES  # a study run in these may still get events
IN_THREAD_ENV = "MTL_EXPLORER_RUN_IN_THREAD"  # "1": lone runs train in the worker thread


class BookState(StrEnum):
    """The run book's state over every live worker (see the module docstring)."""

    IDLE = "idle"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPING = "stopping"


def engine_source(config: ExperimentConfig, out_dir: Path | None) -> EventSource:
    """A lone run's events: trained in a child process where the platform forks one warm (the
    window's redraws then never hold the training's interpreter lock; docs/gui.md), else, or
    with MTL_EXPLORER_RUN_IN_THREAD=1 set, in the worker thread itself."""
    from mtl_engine import RUNS_IN_PROCESS, run, run_in_process

    train = run if not RUNS_IN_PROCESS or os.environ.get(IN_THREAD_ENV) == "1" else run_in_process
    return lambda control: train(config, control, out_dir)


@dataclass(eq=False)
class _Feed:
    """One live worker and where its events go."""

    worker: RunWorker
    entry: RunEntry | None  # where run == "" goes: the lone run the worker was started for
    study: str = ""  # a study's folder, resolved
    visible: bool = False  # a study's entries start ticked?
    routes: dict[str, RunEntry] = field(default_factory=dict)  # run key -> entry
    error: ev.RunFailed | None = None  # the study itself failed (not one of its runs)
    ended: ev.StudyFinished | None = None
    t0: float = field(default_factory=time.perf_counter)

    @property
    def stopping(self) -> bool:
        """Asked to stop, through the book or the worker itself: read off its control."""
        return self.worker.control.stop_requested


class RunBook(QObject):
    run_started = Signal(object)  # RunEntry
    run_updated = Signal(object)  # RunEntry whose history grew
    run_finished = Signal(object)  # RunEntry (completed, stopped or failed)
    run_opened = Signal(object)  # RunEntry replayed from a folder: not a live run
    runs_changed = Signal()  # the list of runs or their visibility changed
    state_changed = Signal(str)  # idle | running | paused | stopping
    study_started = Signal(object)  # the StudyStarted event; entries: study_entries(e.folder)
    study_finished = Signal(object)  # the StudyFinished event
    message = Signal(str, str, str)  # level (info|warning|error), text, details

    def __init__(self, runs_dir: Path | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runs_dir = runs_dir
        self.source_factory: SourceFactory = engine_source
        self.runs = RunList()
        self.current: RunEntry | None = None
        self.state = BookState.IDLE
        self._feeds: list[_Feed] = []

    @property
    def entries(self) -> Mapping[str, RunEntry]:
        return self.runs.by_key

    @property
    def worker(self) -> RunWorker | None:
        """The worker of the lone run last started, while it runs."""
        feed = self._feed_of(self.current)
        return feed.worker if feed is not None else None

    @property
    def workers(self) -> list[RunWorker]:
        return [f.worker for f in self._feeds]

    # ------------------------------------------------------------------ starting
    def start(self, config: ExperimentConfig) -> RunEntry:
        """Train `config` as a lone run, alongside whatever else runs."""
        out_dir = None
        if self.runs_dir is not None:
            from mtl_engine import new_run_dir

            out_dir = new_run_dir(self.runs_dir, config.name)
        entry = RunEntry.new(len(self.runs) + 1, config_to_dict(config), out_dir)
        self.runs.append(entry)
        self.current = entry
        self._show_only(entry)  # tick older runs in the table to overlay them
        feed = self._launch(self.source_factory(config, out_dir), entry)
        self.runs_changed.emit()
        self.run_started.emit(entry)
        feed.worker.start()
        return entry

    def start_study(self, study: Any, folder: str | Path, workers: int | None = None,
                    ray: str | None = None, *, visible: bool = False) -> RunWorker:
        """Run a study (a Study, a study file or a dict) into `folder` in one worker; its
        entries come with its StudyStarted event. Validation happens in the worker: a bad study
        ends at once with a message and study_finished("failed")."""
        from mtl_engine import run_study

        root = Path(folder)

        def source(control: Any) -> Any:
            return run_study(study, root, workers=workers, ray=ray, control=control)

        feed = self._launch(source, None, study=str(root.resolve()))
        feed.visible = visible
        feed.worker.start()
        return feed.worker

    def _launch(self, source: EventSource, entry: RunEntry | None, study: str = "") -> _Feed:
        worker = RunWorker(source, self)
        feed = _Feed(worker, entry, study)
        worker.events_arrived.connect(lambda batch: self._route(feed.entry, feed.routes, batch,
                                                                feed))
        worker.finished.connect(lambda: self._on_finished(feed))
        self._feeds.append(feed)
        self._sync_state()
        return feed

    # ------------------------------------------------------------------ control
    def pause(self, *, worker: RunWorker | None = None) -> None:
        for f in self._targets(worker):
            if not f.stopping and not f.worker.paused:
                f.worker.pause()
        self._sync_state()

    def resume(self, *, worker: RunWorker | None = None) -> None:
        for f in self._targets(worker):
            if not f.stopping and f.worker.paused:
                f.worker.resume()
        self._sync_state()

    def stop(self, *, worker: RunWorker | None = None) -> None:
        for f in self._targets(worker):
            f.worker.stop()
        self._sync_state()

    def shutdown(self, timeout_s: float = 30.0) -> bool:
        """Stop and join every worker (window closing); True when no thread is left running."""
        feeds = list(self._feeds)
        for f in feeds:  # all at once, so they wind down together
            f.worker.stop()
        deadline = time.monotonic() + timeout_s
        joined = True
        for f in feeds:
            joined = f.worker.shutdown(max(0.0, deadline - time.monotonic())) and joined
        return joined

    def _targets(self, worker: RunWorker | None) -> list[_Feed]:
        return [f for f in self._feeds if worker is None or f.worker is worker]

    def _sync_state(self) -> None:
        active = [f for f in self._feeds if not f.stopping]
        state = (BookState.IDLE if not self._feeds
                 else BookState.RUNNING if any(not f.worker.paused for f in active)
                 else BookState.PAUSED if active else BookState.STOPPING)
        if state != self.state:
            self.state = state
            self.state_changed.emit(state)

    # ------------------------------------------------------------------ events
    def feed(self, entry_or_key: RunEntry | str | None, batch: Iterable[ev.Event]) -> None:
        """Route events into the book: each to the entry of its `run` key, one with run == ""
        (or a key the book does not hold) to `entry_or_key` (an entry or a key; None: dropped)."""
        default = (self.entries.get(entry_or_key) if isinstance(entry_or_key, str)
                   else entry_or_key)
        self._route(default, self.entries, list(batch), None)

    def _route(self, default: RunEntry | None, routes: Mapping[str, RunEntry],
               batch: list[ev.Event], feed: _Feed | None) -> None:
        touched: dict[int, RunEntry] = {}
        closed: list[RunEntry] = []
        lone = feed.entry if feed is not None else None  # its run_finished waits for the worker
        for e in batch:
            if isinstance(e, ev.StudyStarted):
                self._study_started(e, feed)
                continue
            if isinstance(e, ev.StudyFinished):
                if feed is not None:
                    feed.ended = e  # announced once the worker has ended
                else:
                    self.study_finished.emit(e)
                continue
            entry = (routes.get(e.run) if e.run else None) or default
            if entry is None:
                if isinstance(e, ev.RunFailed):  # the study itself: bad file, locked folder
                    if feed is not None:
                        feed.error = e
                    self.message.emit("error", f"The study failed: {e.error_type}: {e.message}",
                                      e.details)
                continue
            entry.history.feed(e)
            touched[entry.uid] = entry
            if entry is not lone:
                if isinstance(e, ev.RunStarted):
                    entry.config = dict(e.config)
                    self.run_started.emit(entry)
                elif isinstance(e, (ev.RunFinished, ev.RunFailed)):
                    closed.append(entry)
            if isinstance(e, ev.RunFailed):
                where = f" (task {e.task})" if e.task else ""
                kept = (f" The model from step {e.restored_step} was kept."
                        if e.restored_step is not None else "")
                self.message.emit("error", f"Run {entry.number} failed at step {e.step}{where}: "
                                  f"{e.error_type}: {e.message}.{kept}",
                                  failure_details(entry, e))
            elif isinstance(e, ev.Warned):
                self.message.emit("warning", f"Run {entry.number}, step {e.step}: {e.message}", "")
        for entry in touched.values():
            self.run_updated.emit(entry)
        for entry in closed:
            self.run_finished.emit(entry)

    def _study_started(self, e: ev.StudyStarted, feed: _Feed | None) -> None:
        root = Path(e.folder).resolve()
        visible = feed.visible if feed is not None else False
        for rec in e.runs:
            entry = self._add(self._study_entry(root, e.name, rec, RunStatus(rec["status"]),
                                                visible))
            if feed is not None:
                feed.routes[str(rec["key"])] = entry
        if feed is not None:
            feed.study = str(root)
        self.runs_changed.emit()
        self.study_started.emit(e)

    def _on_finished(self, feed: _Feed) -> None:
        self._feeds.remove(feed)
        if feed.entry is not None:  # a lone run
            entry = feed.entry
            if entry.history.status in (RunStatus.PENDING, RunStatus.RUNNING):
                entry.history.status = RunStatus.STOPPED
            self._sync_state()
            self.runs_changed.emit()
            self.run_finished.emit(entry)
        else:
            self._end_study(feed)
        # Out of the book's children first: a book deleted before the deferred deletion runs
        # (a Session dropped by a test) must not delete the worker a second time.
        feed.worker.setParent(None)
        feed.worker.deleteLater()

    def _end_study(self, feed: _Feed) -> None:
        over, unrun = [], []
        for entry in feed.routes.values():
            if entry.history.status == RunStatus.QUEUED:  # never started: the study stopped first
                entry.history.status = RunStatus.NOT_RUN
                unrun.append(entry)
            elif entry.history.status in (RunStatus.PENDING, RunStatus.RUNNING):  # no end came
                entry.history.status = (RunStatus.STOPPED if feed.stopping
                                        else RunStatus.INCOMPLETE)
                over.append(entry)
        self._sync_state()
        self.runs_changed.emit()
        for entry in unrun:
            self.run_updated.emit(entry)
        for entry in over:
            self.run_finished.emit(entry)
        ended = feed.ended
        if ended is None:
            counts: dict[str, int] = {}
            for entry in feed.routes.values():
                counts[entry.status] = counts.get(entry.status, 0) + 1
            ended = ev.StudyFinished(RunStatus.STOPPED if feed.stopping and feed.error is None
                                     else RunStatus.FAILED, counts, time.perf_counter() - feed.t0,
                                     feed.study)
        self.study_finished.emit(ended)

    # ------------------------------------------------------------------ entries
    def add(self, entry: RunEntry) -> RunEntry:
        """Put `entry` in the book under its key (see the module docstring for a key in use);
        returns the entry as filed. Emits nothing: the caller says runs_changed once."""
        return self._add(entry)

    def _add(self, entry: RunEntry) -> RunEntry:
        old = self.runs.get(entry.key)
        if old is None:
            self.runs.append(entry)
        elif not self._is_live(old):
            entry.number, entry.visible = old.number, old.visible
            self.runs[self.runs.index(old)] = entry
            if old is self.current:
                self.current = None
        else:
            base, n = entry.key, 2
            while f"{base}#{n}" in self.entries:
                n += 1
            entry.key = f"{base}#{n}"
            self.runs.append(entry)
        return entry

    def _study_entry(self, root: Path, study_name: str, rec: dict[str, Any], status: str,
                     visible: bool) -> RunEntry:
        """One study run's entry: replayed from its folder when `status` is COMPLETED (a run kept
        from before), else empty with that status (QUEUED, NOT_RUN)."""
        folder = root / str(rec["folder"])
        what = f"single task {rec['baseline']}" if rec.get("baseline") else rec.get("variant", "")
        seed = rec.get("seed")
        name = f"{study_name} [{what}] seed {seed}"  # as the engine names the run's config
        number = len(self.runs) + 1
        if status == RunStatus.COMPLETED:
            try:
                entry = entry_from_folder(number, folder)
            except MTLError as exc:  # a run folder that is not one (any more)
                entry = RunEntry(number, {"name": name}, RunHistory(), folder,
                                 read_warnings=[str(exc)])
                entry.history.status = RunStatus.INCOMPLETE
        else:
            entry = RunEntry(number, {"name": name}, RunHistory(), folder)
            entry.history.status = status
        entry.key = str(rec["key"])
        entry.variant = str(rec.get("variant", ""))
        entry.seed = int(seed) if seed is not None else None
        entry.baseline = str(rec.get("baseline") or "")
        entry.fields = dict(rec.get("fields") or {})
        entry.study = str(root)
        entry.visible = visible
        return entry

    def open_study(self, folder: str | Path, *, visible: bool = False) -> list[RunEntry]:
        """Replay a study folder written by `mtl-study` into one entry per run; raises
        ConfigError (not a study folder, an unreadable study.yaml) naming the file."""
        root = Path(folder).resolve()
        name, records = read_study_runs(root)
        made = []
        for rec in records:
            there = (root / str(rec["folder"])).is_dir()
            made.append(self._add(self._study_entry(root, name, rec,
                                                    RunStatus.COMPLETED if there
                                                    else RunStatus.NOT_RUN, visible)))
        self.runs_changed.emit()
        for entry in made:
            self.run_opened.emit(entry)
        skipped = [entry for entry in made if entry.read_warnings]
        if skipped:
            labels = ", ".join(entry.label for entry in skipped[:3])
            more = ", \u2026" if len(skipped) > 3 else ""
            self.message.emit("warning", f"{len(skipped)} of the study's {len(made)} runs could "
                              f"not be read whole ({labels}{more}); the rest was replayed",
                              "\n".join(w for entry in skipped for w in entry.read_warnings))
        return made

    def study_entries(self, folder: str | Path) -> list[RunEntry]:
        root = str(Path(folder).resolve())
        return [e for e in self.runs if e.study == root]

    def open_run(self, folder: str | Path) -> RunEntry:
        """Show a past run folder (GUI or `mtl-run`) without training; raises MTLError."""
        entry = entry_from_folder(len(self.runs) + 1, Path(folder))
        self.runs.append(entry)
        if self.worker is not None and self.current is not None:
            entry.visible = True  # overlaid on the live run, which stays in view
        else:
            self._show_only(entry)
        self.runs_changed.emit()
        self.run_opened.emit(entry)  # not run_finished: the live run's progress is not its
        skipped = skipped_lines_text(entry)
        if skipped:  # replayed all the same; Details\u2026 lists every skipped line and why
            self.message.emit("warning", skipped, "\n".join(entry.read_warnings))
        return entry

    def remove_run(self, entry: RunEntry) -> None:
        if self._is_live(entry):
            return  # a live run stays until it ends
        self.runs.remove(entry)
        if entry is self.current:
            self.current = None
        self.runs_changed.emit()

    def set_visible(self, entry: RunEntry, visible: bool) -> None:
        entry.visible = visible
        self.runs_changed.emit()

    def shown_runs(self) -> list[RunEntry]:
        """Runs whose curves are drawn (ticked in the runs table)."""
        return [r for r in self.runs if r.visible]

    def _show_only(self, entry: RunEntry) -> None:
        for r in self.runs:
            r.visible = r is entry

    def _feed_of(self, entry: RunEntry | None) -> _Feed | None:
        """The live worker a lone run belongs to."""
        if entry is None:
            return None
        return next((f for f in self._feeds if f.entry is entry), None)

    def _is_live(self, entry: RunEntry) -> bool:
        """A lone run whose worker still runs, or a study run that may still get events."""
        return any(f.entry is entry or (entry.status in LIVE and f.routes.get(entry.key) is entry)
                   for f in self._feeds)


def read_study_runs(root: Path) -> tuple[str, list[dict[str, Any]]]:
    """The study's name and its run records (key, variant, seed, baseline, fields, folder) from
    the study.yaml `mtl-study` wrote into `root`; ConfigError naming the file and why."""
    import yaml

    from mtl_engine import STUDY_FILE

    path = root / STUDY_FILE
    if not path.is_file():
        raise ConfigError("", f"{root}: not a study folder (no {STUDY_FILE})")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError("", f"{path}: cannot read: {why}") from None
    runs = doc.get("runs") if isinstance(doc, dict) else None
    if not isinstance(runs, list):
        raise ConfigError("runs", f"{path}: has no list of runs (not written by mtl-study)")
    for i, rec in enumerate(runs):
        missing = [k for k in ("key", "folder") if not isinstance(rec, dict) or k not in rec]
        if missing:
            raise ConfigError(f"runs[{i}]", f"{path}: a run record without {missing[0]!r}")
    return str(doc.get("name") or root.name), runs


def failure_details(entry: RunEntry, e: ev.RunFailed) -> str:
    """What Details\u2026 shows for a failed run: where it failed, what was kept, the last
    losses, and the traceback when the failure was an exception (a divergence check has none)."""
    h = entry.history
    lines = [f"{e.error_type}: {e.message}", "", f"run {entry.number}, failed at step {e.step}"
             + (f", task {e.task}" if e.task else "")]
    if e.restored_step is not None:
        lines.append(f"the model from step {e.restored_step} was kept"
                     + (f" in {entry.folder}" if entry.folder is not None else ""))
    elif entry.folder is not None:
        lines.append(f"run folder: {entry.folder}")
    if h.n_steps:
        last = ", ".join(f"{t} {h.loss[t].view[-1]:.4g}" for t in h.tasks if len(h.loss[t]))
        lines.append(f"last logged losses (step {h.last_step}): {last}")
    else:
        lines.append("no training step was logged")
    lines += ["", e.details.rstrip() if e.details.strip() else
              "(no traceback: the engine ended the run itself rather than through an exception)"]
    return "\n".join(lines)
