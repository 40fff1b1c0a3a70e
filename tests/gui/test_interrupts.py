"""Ctrl-C / SIGTERM in the terminal of a running window: the first closes it (a live run stopped,
its folder finished, the model saved), a second quits at once; never a KeyboardInterrupt dialog."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mtl_engine.config import to_dict
from mtl_engine.export import load_bundle
from mtl_engine.presets import load, save
from mtl_engine.runs import read_run

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

# The app as `mtl-explorer` runs it (run_app), with a run started once the window is up and a
# signal sent to itself after the first logged steps.
SCRIPT = textwrap.dedent("""
    import os, signal, sys
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    from mtl_gui.app import run_app

    app = QApplication(sys.argv[:1])
    SIGNALS = [getattr(signal, name) for name in sys.argv[2].split(",")]

    def window():
        return next(w for w in app.topLevelWidgets() if type(w).__name__ == "MainWindow")

    def send():
        entry = window().session.current
        if entry is None or entry.history.n_steps < 5:
            QTimer.singleShot(50, send)
            return
        for sig in SIGNALS:
            os.kill(os.getpid(), sig)

    def start():
        w = window()
        if w.session.check.pending:  # torch is still loading: Start is disabled until then
            QTimer.singleShot(50, start)
            return
        w.ask_unsaved = lambda: "discard"
        w.session.start()
        send()

    QTimer.singleShot(300, start)
    sys.exit(run_app(sys.argv[1]))
""")


def _run_app(tmp_path: Path, signals: str) -> tuple[int, str, Path]:
    d = to_dict(load("gradnorm_toy_equal"))
    d["training"]["epochs"] = 10_000  # hours: only a signal ends it
    preset = save(d, tmp_path / "long.yaml")
    home = tmp_path / "home"
    env = {**os.environ, "MTL_EXPLORER_HOME": str(home), "OMP_NUM_THREADS": "1"}
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    if env["QT_QPA_PLATFORM"].startswith("offscreen"):
        env["QT_QPA_PLATFORM"] = "offscreen"
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(preset), signals], env=env,
                          capture_output=True, text=True, timeout=240)
    folders = [p for p in (home / "runs").iterdir() if p.is_dir()]
    assert len(folders) == 1, proc.stderr
    return proc.returncode, proc.stderr, folders[0]


@pytest.mark.parametrize(("signals", "code"), [("SIGINT", 130), ("SIGTERM", 143)])
def test_a_signal_closes_the_window_and_finishes_the_run(tmp_path: Path, signals: str,
                                                         code: int) -> None:
    rc, err, folder = _run_app(tmp_path, signals)
    assert rc == code, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert "closing the window" in err
    record = read_run(folder)
    assert record.finished is not None and record.finished.status == "stopped"
    assert not record.incomplete
    assert load_bundle(folder / "model.pt").status == "stopped"


def test_a_second_signal_quits_at_once_still_stopping_the_run(tmp_path: Path) -> None:
    rc, err, folder = _run_app(tmp_path, "SIGINT,SIGINT")
    assert rc == 128 + signal.SIGINT, err
    assert "Traceback" not in err and "quitting now" in err
    record = read_run(folder)  # the worker was stopped and joined before the app quit
    assert record.finished is not None and record.finished.status == "stopped"
