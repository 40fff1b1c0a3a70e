"""The guard against PySide6 6.12's refcount leak on None/True (see mtl_gui/qt_fix.py)."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QWidget

from mtl_gui import qt_fix


def test_half_a_million_void_calls_and_emits_leave_the_singletons_alive(qtbot) -> None:
    w = QWidget()
    qtbot.addWidget(w)
    probe = qt_fix._Probe()
    before = sys.getrefcount(None)
    # Without the guard this loop alone drains None's ~10^5 references and aborts the process.
    for _ in range(250_000):
        w.update()
        probe.fired.emit()
    assert sys.getrefcount(None) > 0 and sys.getrefcount(True) > 0
    if qt_fix.APPLIED:
        assert sys.getrefcount(None) > 2**39  # the ballast, minus what leaked
        assert before - sys.getrefcount(None) >= 0
