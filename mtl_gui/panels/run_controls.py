"""Start, Pause, Stop; progress with epoch and step, throughput, time left; why Start is off.

The progress bar and the status line follow the live run only (the one Start began), through its
phases: preparing data (Start until the engine's RunStarted), running, Paused, stopping, and how
it ended. A run opened from a folder never takes them over.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from mtl_engine.events import RunStatus

from ..plots.style import set_tone
from ..run_book import BookState
from ..run_entry import RunEntry
from ..session import Session


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    s = int(round(seconds))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


PROGRESS_EVERY_S = 0.2
PREPARING = "preparing data\u2026"


def planned_epochs(entry: RunEntry) -> int:
    """Epochs the run will train: from its RunStarted (the engine's own plan), else its config."""
    h = entry.history
    if h.total_steps and h.steps_per_epoch:
        return h.total_steps // h.steps_per_epoch
    return int(entry.config.get("training", {}).get("epochs", 0) or 0)


def shown_epoch(entry: RunEntry) -> int:
    """The epoch the run is in (1-based): that of its last logged step, so it only grows, and
    a stop keeps the epoch it stopped in; a completed run shows its last epoch."""
    h = entry.history
    epochs = planned_epochs(entry)
    if h.status == RunStatus.COMPLETED:
        return epochs or len(h.ep_index)
    if len(h.step_epoch):
        epoch = int(h.step_epoch.view[-1]) + 1  # StepsLogged counts epochs from 0
    else:
        epoch = 0 if h.status == RunStatus.PENDING else 1
    return min(epoch, epochs) if epochs else epoch


def progress_texts(entry: RunEntry, state: str) -> tuple[int, str, str]:
    """(bar value of 1000, bar text, status text) for the live run in session state `state`."""
    h = entry.history
    paused = "Paused \u00b7 " if state == BookState.PAUSED else ""
    if h.status == RunStatus.PENDING:  # Start pressed, no RunStarted: data loads, the model builds
        status = {BookState.PAUSED: "Paused", BookState.STOPPING: "stopping\u2026"}.get(
            state, "loading data, building model")
        return 0, paused + PREPARING, status
    if not h.total_steps:  # ended before its RunStarted: it never had a plan of steps
        return 0, "no step taken", f"{entry.label} {h.status} while preparing data"
    epochs = planned_epochs(entry)
    done = h.total_steps if h.status == RunStatus.COMPLETED else h.steps_done
    bar = f"{paused}epoch {shown_epoch(entry)}/{epochs} \u00b7 step {done}/{h.total_steps}"
    value = int(h.progress() * 1000)
    if h.status != RunStatus.RUNNING:
        where = f" at step {h.failure.step}" if h.failure is not None else ""
        return value, bar, f"{entry.label} {h.status}{where} in {fmt_duration(h.seconds)}"
    if state == BookState.PAUSED:
        return value, bar, "Paused"
    if state == BookState.STOPPING:
        return value, bar, "stopping\u2026"
    if not h.n_steps:
        return value, bar, "first steps\u2026"
    return value, bar, (f"{h.samples_per_sec:,.0f} samples/s \u00b7 "
                        f"{fmt_duration(h.seconds_left())} left")


class RunControls(QWidget):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self._shown_at = 0.0
        self._phase: tuple[object, ...] = ()
        # An update dropped by the rate limit is shown when the interval ends, so the bar never
        # stays behind when the events pause (validation, a pause, the run's last batch).
        self._later = QTimer(self)
        self._later.setSingleShot(True)
        self._later.timeout.connect(self._show_current)
        self.start_btn = QPushButton("\u25b6 Start", self)
        # The one primary action: green when it can be pressed, plain grey when it cannot.
        self.start_btn.setStyleSheet(
            "QPushButton:enabled { background: #2e7d32; color: white; font-weight: bold;"
            " border: 1px solid #1b5e20; border-radius: 3px; padding: 4px 14px; }"
            "QPushButton:enabled:hover { background: #276b2b; }")  # white on it: 6.5:1
        self.pause_btn = QPushButton("Pause", self)
        self.stop_btn = QPushButton("\u25a0 Stop", self)
        self.start_btn.clicked.connect(session.start)
        self.pause_btn.clicked.connect(self._pause_clicked)
        self.stop_btn.clicked.connect(session.stop)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(True)
        self.progress.setMinimumWidth(180)
        self.progress.setValue(0)
        self.progress.setFormat("ready")
        self.status = QLabel(self)
        self.status.setMinimumWidth(200)
        self.reason = QLabel(self)
        self.reason.setProperty("tone", "error")  # coloured by the theme (plots/style.py)
        self.reason.setWordWrap(True)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 4)
        for b in (self.start_btn, self.pause_btn, self.stop_btn):
            lay.addWidget(b)
        lay.addWidget(self.progress, 1)
        lay.addWidget(self.status)
        lay.addWidget(self.reason, 2)
        session.checked.connect(self.sync)
        session.state_changed.connect(lambda _: self.sync())
        session.runs_changed.connect(self._show_current)  # the live run may have been removed
        session.run_updated.connect(self.show_progress)
        session.run_started.connect(self.show_progress)
        session.run_finished.connect(self.show_progress)
        self.sync()

    def _pause_clicked(self) -> None:
        if self.session.state == BookState.PAUSED:
            self.session.resume()
        else:
            self.session.pause()

    def sync(self) -> None:
        state = self.session.state
        problem = self.session.problem
        idle = state == BookState.IDLE
        self.start_btn.setEnabled(idle and problem is None)
        self.pause_btn.setEnabled(state in (BookState.RUNNING, BookState.PAUSED))
        self.pause_btn.setText("Resume" if state == BookState.PAUSED else "Pause")
        self.stop_btn.setEnabled(state in (BookState.RUNNING, BookState.PAUSED))
        why = f"Start is disabled: {problem}" if idle and problem else ""
        # torch still loading is not the user's mistake: said in the hint tone, not as an error
        set_tone(self.reason, "hint" if self.session.check.pending else "error")
        self.reason.setText(why)
        self.reason.setToolTip(why)
        self.start_btn.setToolTip(why or "train the current setup (the run is saved as a folder)")
        self._show_current()

    def _show_current(self) -> None:
        entry = self.session.current
        if entry is None or entry not in self.session.runs:
            self._phase = ()
            self.progress.setValue(0)
            self.progress.setFormat("ready")
            self.status.setText("")
            return
        self.show_progress(entry)

    def show_progress(self, entry: RunEntry) -> None:
        if entry is not self.session.current:
            return  # a replayed folder, or an older run: the bar is the live run's
        h = entry.history
        state = self.session.state
        now = time.monotonic()
        phase = (entry.uid, h.status, state, h.n_steps > 0)
        wait = PROGRESS_EVERY_S - (now - self._shown_at)
        if phase == self._phase and h.status == RunStatus.RUNNING and wait > 0:
            # five updates a second read as live; more only costs the training thread
            if not self._later.isActive():
                self._later.start(int(wait * 1000) + 1)
            return
        self._later.stop()
        self._shown_at, self._phase = now, phase
        value, bar, status = progress_texts(entry, state)
        self.progress.setValue(value)
        self.progress.setFormat(bar)
        self.status.setText(status)
