"""Runs `mtl_engine.toy.run` on a worker thread and hands each chunk to the GUI thread.

The chunks are small (a few hundred steps), so a stop request is honoured within a fraction of a
second; `stop()` then waits for the thread, so a closing window never leaves it running.
"""

from __future__ import annotations

import threading
from typing import Any

from PySide6.QtCore import QThread, Signal

from mtl_engine import toy


class ToyRunner(QThread):
    """One optimisation run. Signals: chunk_ready(ToyChunk), failed(str), and QThread.finished."""

    chunk_ready = Signal(object)
    failed = Signal(str)

    def __init__(self, strategy: str, params: dict[str, Any], settings: dict[str, Any]) -> None:
        super().__init__()
        self.strategy = strategy
        self.params = dict(params)
        self.settings = dict(settings)
        self._stop = threading.Event()

    def run(self) -> None:
        try:
            for chunk in toy.run(self.strategy, self.params, chunk_steps=250, **self.settings):
                self.chunk_ready.emit(chunk)
                if self._stop.is_set():
                    return
        except Exception as exc:  # noqa: BLE001 - the worker boundary: shown, never raised
            self.failed.emit(f"{type(exc).__name__}: {exc}")

    def stop(self) -> None:
        self._stop.set()
        self.wait()
