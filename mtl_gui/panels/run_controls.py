"""Start, Pause, Stop; progress with epoch and step, throughput, time left; why Start is off."""

from __future__ import annotations

import time

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

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


class RunControls(QWidget):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self._shown_at = 0.0
        self.start_btn = QPushButton("\u25b6 Start", self)
        # The one primary action: green when it can be pressed, plain grey when it cannot.
        self.start_btn.setStyleSheet(
            "QPushButton:enabled { background: #2e7d32; color: white; font-weight: bold;"
            " border: 1px solid #1b5e20; border-radius: 3px; padding: 4px 14px; }"
            "QPushButton:enabled:hover { background: #388e3c; }")
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
        self.reason.setStyleSheet("color: #b52b27;")
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
        session.run_updated.connect(self.show_progress)
        session.run_started.connect(self.show_progress)
        session.run_finished.connect(self.show_progress)
        self.sync()

    def _pause_clicked(self) -> None:
        if self.session.state == "paused":
            self.session.resume()
        else:
            self.session.pause()

    def sync(self) -> None:
        state = self.session.state
        problem = self.session.problem
        idle = state == "idle"
        self.start_btn.setEnabled(idle and problem is None)
        self.pause_btn.setEnabled(state in ("running", "paused"))
        self.pause_btn.setText("Resume" if state == "paused" else "Pause")
        self.stop_btn.setEnabled(state in ("running", "paused"))
        why = f"Start is disabled: {problem}" if idle and problem else ""
        self.reason.setText(why)
        self.reason.setToolTip(why)
        self.start_btn.setToolTip(why or "train the current setup (the run is saved as a folder)")
        if state == "stopping":
            self.status.setText("stopping\u2026")

    def show_progress(self, entry: RunEntry) -> None:
        if entry is not self.session.current and self.session.state != "idle":
            return
        h = entry.history
        now = time.monotonic()
        if h.status == "running" and now - self._shown_at < PROGRESS_EVERY_S:
            return  # five updates a second read as live; more only costs the training thread
        self._shown_at = now
        self.progress.setValue(int(h.progress() * 1000))
        epochs = int(entry.config.get("training", {}).get("epochs", 0) or 0)
        epoch = min(h.epoch + (0 if h.status != "running" else 1), epochs) if epochs else h.epoch
        done = h.total_steps if h.status == "completed" else h.steps_done
        self.progress.setFormat(f"epoch {epoch}/{epochs} \u00b7 step {done}/{h.total_steps}")
        if h.status in ("running", "pending"):
            paused = " (paused)" if self.session.state == "paused" else ""
            self.status.setText(f"{h.samples_per_sec:,.0f} samples/s \u00b7 "
                                f"{fmt_duration(h.seconds_left())} left{paused}")
        else:
            self.status.setText(f"{entry.label} {h.status} in {fmt_duration(h.seconds)}")
