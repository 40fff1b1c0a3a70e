"""The only thing besides a config that flows into a run: stop and pause requests."""

from __future__ import annotations

import threading
from typing import Any


class RunControl:
    """Thread-safe stop/pause flags; the training loop checks them once per step."""

    def __init__(self, stop_event: Any = None, running_event: Any = None) -> None:
        # Events of another kind (multiprocessing's) let one control reach worker processes.
        self._stop = stop_event if stop_event is not None else threading.Event()
        self._running = running_event if running_event is not None else threading.Event()
        if running_event is None:
            self._running.set()

    def stop(self) -> None:
        self._stop.set()
        self._running.set()  # a paused run must wake up to stop

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def wait_while_paused(self, poll: float = 0.1) -> None:
        # is_set() takes no lock, wait() does: a run that is not paused must not hold the
        # event's lock at every step, or a Ctrl-C handler calling stop() on this same thread
        # (mtl-run's) could land inside it and wait for it forever.
        if self._running.is_set():
            return
        while not self._running.wait(poll):
            if self._stop.is_set():
                return
