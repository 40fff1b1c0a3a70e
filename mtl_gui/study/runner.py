"""A study running in the background, and a status per run: queued, running (step of total),
done, stopped, failed with its message.

With the main window's run book (mtl_gui.run_book.RunBook) the study is the book's: it runs in
one RunWorker through `RunBook.start_study`, its runs are the book's entries (keyed by run key,
listed in the main window's runs table too) and this object only follows the book's signals for
its own folder. Without a book (a bare Study window, the benchmark) it runs `run_study` on a
RunWorker of its own and feeds each run key's events to a RunHistory, the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

import mtl_engine.events as ev
from mtl_engine.events import RunStatus

from ..history import RunHistory
from ..worker import RunWorker


@dataclass
class RunState:
    key: str
    variant: str
    seed: int
    baseline: str
    status: str = RunStatus.QUEUED  # queued | running | completed | stopped | failed | ...
    step: int = 0
    total_steps: int = 0
    message: str = ""
    history: RunHistory = field(default_factory=RunHistory)

    def follow(self, entry: Any) -> None:
        """Take the state of a run book entry (its history is this run's history)."""
        h = entry.history
        self.history = h
        status = RunStatus(h.status)
        self.status = RunStatus.RUNNING if status == RunStatus.PENDING else status
        self.step, self.total_steps = int(h.steps_done), int(h.total_steps)
        self.message = h.failure.message if h.failure is not None else ""

    def text(self) -> str:
        if self.status == RunStatus.RUNNING:
            return (f"running: step {self.step} of {self.total_steps}" if self.total_steps
                    else "running")
        if self.status == RunStatus.FAILED:
            return f"failed: {self.message}"
        return str(self.status)


class StudyRunner(QObject):
    started = Signal()  # StudyStarted arrived: `runs` holds every run
    runs_changed = Signal(list)  # keys whose state changed in one batch
    finished = Signal(object)  # StudyFinished, or None when the stream ended without one
    failed = Signal(str)  # the study itself could not start (one line)

    def __init__(self, book: Any = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.book = book  # a RunBook, or None: run on a worker of our own
        self.runs: dict[str, RunState] = {}
        self.worker: RunWorker | None = None
        self.folder: Path | None = None
        self.result: ev.StudyFinished | None = None
        if book is not None:
            book.study_started.connect(self._book_study_started)
            book.run_updated.connect(self._book_run_changed)
            book.run_finished.connect(self._book_run_changed)
            book.study_finished.connect(self._book_study_finished)
            book.message.connect(self._book_message)

    def start(self, study: Any, folder: Path, workers: int | None, ray: str | None) -> None:
        from mtl_engine import run_study

        self.runs, self.folder, self.result = {}, Path(folder), None
        if self.book is not None:
            self.worker = self.book.start_study(study, folder, workers=workers, ray=ray)
            return

        def source(control: Any) -> Any:
            return run_study(study, folder, workers=workers, ray=ray, control=control)

        self.worker = RunWorker(source, self)
        self.worker.events_arrived.connect(self._on_events)
        self.worker.finished.connect(self._on_finished)
        self.worker.start()

    @property
    def running(self) -> bool:
        return self.worker is not None

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop()  # the book's stop(worker=) does the same for this one worker

    def shutdown(self, timeout_s: float = 30.0) -> bool:
        return True if self.worker is None else self.worker.shutdown(timeout_s)

    def _on_events(self, batch: list[ev.Event]) -> None:
        changed: list[str] = []
        for e in batch:
            if isinstance(e, ev.StudyStarted):
                self.runs = {r["key"]: RunState(r["key"], r["variant"], int(r["seed"]),
                                                r["baseline"], RunStatus(r["status"]))
                             for r in e.runs}
                self.started.emit()
                continue
            if isinstance(e, ev.StudyFinished):
                self.result = e
                continue
            if isinstance(e, ev.RunFailed) and not e.run and not self.runs:
                self.failed.emit(e.message)  # the study was refused before it started
                continue
            state = self.runs.get(e.run)
            if state is None:
                continue
            state.history.feed(e)
            if isinstance(e, ev.RunStarted):
                state.status, state.total_steps = RunStatus.RUNNING, e.total_steps
            elif isinstance(e, ev.StepsLogged) and e.steps:
                state.step = e.steps[-1] + 1
            elif isinstance(e, ev.RunFinished):
                state.status = RunStatus(e.status)
                state.step = e.step
            elif isinstance(e, ev.RunFailed):
                state.status, state.message = RunStatus.FAILED, e.message
            if e.run not in changed:
                changed.append(e.run)
        if changed:
            self.runs_changed.emit(changed)

    def _on_finished(self) -> None:
        worker, self.worker = self.worker, None
        for s in self.runs.values():  # a run the stop caught before it reported its end
            if s.status == RunStatus.RUNNING and self.result is not None:
                s.status = RunStatus.STOPPED
        self.finished.emit(self.result)
        if worker is not None:
            worker.deleteLater()

    # ------------------------------------------------------------------ following a run book
    def _ours(self, folder: str) -> bool:
        return (self.worker is not None and self.folder is not None and bool(folder)
                and Path(folder).resolve() == self.folder.resolve())

    def _book_study_started(self, e: ev.StudyStarted) -> None:
        if not self._ours(e.folder):
            return
        self.runs = {}
        for entry in self.book.study_entries(self.folder):
            state = RunState(entry.key, entry.variant, int(entry.seed or 0), entry.baseline)
            state.follow(entry)
            self.runs[entry.key] = state
        self.started.emit()

    def _book_run_changed(self, entry: Any) -> None:
        state = self.runs.get(getattr(entry, "key", ""))
        if state is None or self.worker is None:
            return
        state.follow(entry)
        self.runs_changed.emit([state.key])

    def _book_message(self, level: str, text: str, details: str) -> None:
        if self.worker is not None and not self.runs and text.startswith("The study failed"):
            self.failed.emit(text.removeprefix("The study failed: "))

    def _book_study_finished(self, e: ev.StudyFinished) -> None:
        if not self._ours(e.folder):
            return
        self.worker = None
        for entry in self.book.study_entries(self.folder):
            if entry.key in self.runs:
                self.runs[entry.key].follow(entry)
        # The book makes up a StudyFinished when the stream ended without one (a failed start).
        self.result = e if self.runs else None
        self.finished.emit(self.result)
