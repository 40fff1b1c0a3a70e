"""Ctrl-C and SIGTERM in the terminal that started the window.

Python runs its signal handlers only between bytecodes, and Qt's event loop runs none while idle,
so by default a Ctrl-C waits for the next slot and then surfaces there as a KeyboardInterrupt (the
crash dialog). Instead, the first signal closes the window as its close button does (a live run is
stopped and joined, its folder finished; unsaved changes are asked about), and a second one quits
at once, still stopping the run first. The app then exits with 128 + the signal number, as a shell
expects of an interrupted program.
"""

from __future__ import annotations

import signal
import sys
from typing import Any

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication

NAMES = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM"}
POLL_MS = 200  # how soon a signal is seen while Qt idles


class Interrupts(QObject):
    """Installed by run_app; `restore()` puts the previous handlers back (tests)."""

    def __init__(self, app: QApplication, window: Any) -> None:
        super().__init__(app)
        self.app = app
        self.window = window
        self.count = 0
        self.exit_code: int | None = None
        self._previous: dict[int, Any] = {}
        for sig in NAMES:
            # A signal the parent set to "ignored" (a background job of a script) stays ignored,
            # as Python itself leaves it.
            if signal.getsignal(sig) is not signal.SIG_IGN:
                self._previous[sig] = signal.signal(sig, self._handle)
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(lambda: None)  # a bytecode now and then: handlers run
        self._timer.start()

    def _handle(self, signum: int, _frame: object) -> None:
        self.count += 1
        self.exit_code = 128 + signum
        name = NAMES.get(signum, f"signal {signum}")
        if self.count == 1:
            sys.stderr.write(f"mtl-explorer: {name}: closing the window (a live run is stopped "
                             f"and saved); a second {name} quits at once\n")
            # Not from inside the handler: let the event loop close the window.
            QTimer.singleShot(0, self._close)
            return
        sys.stderr.write(f"mtl-explorer: second {name}: quitting now\n")
        QTimer.singleShot(0, self._quit)

    def _close(self) -> None:
        if not self.window.close():  # the user kept the window (unsaved changes: Cancel)
            self.count = 0
            self.exit_code = None

    def _quit(self) -> None:
        session = getattr(self.window, "session", None)
        if session is not None:
            session.shutdown()  # stop and join the run: its folder gets its closing event
        self.app.exit(self.exit_code or 130)  # also ends a modal dialog's nested loop

    def restore(self) -> None:
        self._timer.stop()
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()
