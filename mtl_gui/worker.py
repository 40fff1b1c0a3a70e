"""Runs an engine event stream on a QThread and hands events to the GUI in ~100 ms batches.

The thread only appends to a deque; a QTimer on the GUI thread drains it and emits one
`events_arrived(list)` per tick, so a training loop logging thousands of steps a second costs the
event loop one signal per 100 ms and nothing is ever held back longer than that. (The plots
redraw at most every 40 ms and, during a run, about once a second: see plots/budget.py. Every
batch's handlers take the GIL from the training thread, so 10 batches a second, not 20.) The
worker is one of the two places that catch broad exceptions: anything the stream raises becomes
a RunFailed.
"""

from __future__ import annotations

import collections
import sys
import time
import traceback
from collections.abc import Callable, Iterator

from PySide6.QtCore import QObject, QThread, QTimer, Signal

import mtl_engine.events as ev
from mtl_engine import RunControl

# A source is anything that, given the control flags, yields events: mtl_engine.run bound to
# a config, mtl_engine.run_study bound to a study, a replay of a run folder, or a fake stream.
EventSource = Callable[[RunControl], Iterator[ev.Event]]

BATCH_MS = 100
# The GUI thread draws in bursts of milliseconds holding the GIL; the training thread gives the
# GIL up around nearly every torch op and wants it back microseconds later. At CPython's default
# switch interval (5 ms) each of those waits could last 5 ms, so a redraw stalled training for
# its whole length; at 1 ms the torch ops run alongside the drawing. Process-wide, set once a
# run starts (a shorter interval the process already chose is kept).
SWITCH_INTERVAL_S = 0.001


class _StreamThread(QThread):
    def __init__(self, source: EventSource, control: RunControl, sink: collections.deque) -> None:
        super().__init__()
        self._source = source
        self._control = control
        self._sink = sink
        self.setObjectName("mtl-run")

    def run(self) -> None:  # runs on the worker thread
        last_step, last_epoch, ended = 0, 0, False  # steps done, as RunFinished counts them
        try:
            for event in self._source(self._control):
                self._sink.append(event)
                if isinstance(event, ev.StepsLogged) and event.steps:
                    last_step = event.steps[-1] + 1  # step indices count from 0
                last_epoch = getattr(event, "epoch", last_epoch)
                # A study's stream ends with StudyFinished: its runs closed themselves.
                ended = isinstance(event, (ev.RunFinished, ev.RunFailed, ev.StudyFinished))
        except BaseException as exc:  # noqa: BLE001 - the worker turns anything into RunFailed
            self._sink.append(ev.RunFailed(
                error_type=type(exc).__name__, message=str(exc) or type(exc).__name__,
                details=traceback.format_exc(), step=int(last_step), epoch=int(last_epoch),
                task=getattr(exc, "task", None), restored_step=getattr(exc, "restored_step", None),
            ))
            return
        if not ended:  # a stream that stops without saying why was stopped
            status = (ev.RunStatus.STOPPED if self._control.stop_requested
                      else ev.RunStatus.COMPLETED)
            self._sink.append(ev.RunFinished(status=status, step=int(last_step),
                                             epoch=int(last_epoch), seconds=0.0,
                                             final_metrics={}))


class RunWorker(QObject):
    """One event stream (a run, or a whole study): start it, pause/resume/stop it, and receive
    its events in batches."""

    events_arrived = Signal(list)
    finished = Signal()

    def __init__(self, source: EventSource, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.control = RunControl()
        self._queue: collections.deque[ev.Event] = collections.deque()
        self._thread = _StreamThread(source, self.control, self._queue)
        self._thread.finished.connect(self._on_thread_finished)
        self._timer = QTimer(self)
        self._timer.setInterval(BATCH_MS)
        self._timer.timeout.connect(self._drain)
        self._done = False

    def start(self) -> None:
        if sys.getswitchinterval() > SWITCH_INTERVAL_S:
            sys.setswitchinterval(SWITCH_INTERVAL_S)
        self._timer.start()
        self._thread.start()

    def pause(self) -> None:
        self.control.pause()

    def resume(self) -> None:
        self.control.resume()

    def stop(self) -> None:
        self.control.stop()

    @property
    def paused(self) -> bool:
        return self.control.paused

    def is_running(self) -> bool:
        return self._thread.isRunning()

    def shutdown(self, timeout_s: float = 30.0) -> bool:
        """Stop, join the thread and deliver what is left; True if the thread ended in time."""
        self.control.stop()
        deadline = time.monotonic() + timeout_s
        while self._thread.isRunning() and time.monotonic() < deadline:
            self._thread.wait(50)
        joined = not self._thread.isRunning()
        if joined:
            self._on_thread_finished()
        return joined

    def _drain(self) -> None:
        if not self._queue:
            return
        batch = []
        while self._queue:
            batch.append(self._queue.popleft())
        self.events_arrived.emit(batch)

    def _on_thread_finished(self) -> None:
        if self._done:
            return
        self._done = True
        self._timer.stop()
        self._drain()
        self.finished.emit()
