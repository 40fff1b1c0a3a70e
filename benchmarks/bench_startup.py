"""Cold start of the window: time to its first paint and to a usable window, in fresh processes.

    python benchmarks/bench_startup.py [--runs N]

Each run starts a new Python process (nothing imported yet, the OS file cache warm after the
first) and times, from just before the process is started:

- first paint: the first paint of any window of the app (the start-up frame, startup.py);
- usable: the first event-loop turn after the main window has painted (its panels built, the
  preset loaded and checked): when a click would first be handled;
- whether torch had been imported at the first paint (it must not have been).

The yardstick is a bare PySide6 window (a QMainWindow with a label) timed the same way, its runs
alternating with the app's; medians of N each, with the ratio app / bare. A fresh settings folder
(MTL_EXPLORER_HOME) for every run, so each opens the default preset as on a first launch. The
platform is QT_QPA_PLATFORM (offscreen unless set: run under `xvfb-run -a` with
QT_QPA_PLATFORM=xcb for a real X server). Prints the load average before and after and the
machine; figures, not assertions. Python's bytecode cache is on in the children (the first,
untimed run fills it), as on a user's machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The child: installs a paint watcher on a QApplication of its own, then starts the app as
# `mtl-explorer` does (run_app reuses the existing QApplication). Prints one JSON line.
_WATCH = """
import json, os, sys, time
T0 = float(sys.argv[1])
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication
app = QApplication(sys.argv[:1])
marks = {}

def usable():
    marks["usable"] = time.time() - T0
    print(json.dumps(marks), flush=True)
    os._exit(0)

class Watch(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint and obj.isWidgetType():
            top = type(obj.window()).__name__
            if "first_paint" not in marks:
                marks["first_paint"] = time.time() - T0
                marks["torch_at_first_paint"] = "torch" in sys.modules
            if top == MAIN and "main_paint" not in marks:
                marks["main_paint"] = time.time() - T0
                QTimer.singleShot(0, usable)
        return False

watch = Watch()
app.installEventFilter(watch)
"""
APP = _WATCH + """
MAIN = "MainWindow"
from mtl_gui.app import run_app
run_app()
"""
BARE = _WATCH + """
MAIN = "QMainWindow"
from PySide6.QtWidgets import QLabel, QMainWindow
w = QMainWindow()
w.setWindowTitle("bare")
w.setCentralWidget(QLabel("bare PySide6 window"))
w.resize(1400, 900)
w.show()
app.exec()
"""


def one(script: str, env: dict[str, str]) -> dict[str, float]:
    home = tempfile.mkdtemp(prefix="mtl-startup-")
    t0 = time.time()
    out = subprocess.run([sys.executable, "-c", script, repr(t0)], cwd=ROOT, text=True,
                         capture_output=True, timeout=120,
                         env={**env, "MTL_EXPLORER_HOME": home})
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise SystemExit(f"the child failed (exit {out.returncode}):\n{out.stderr[-2000:]}")
    return json.loads(lines[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env.setdefault("OMP_NUM_THREADS", "1")
    # As on a user's machine, where Python caches compiled modules: with this set (some CI and
    # sandbox images do) every start compiles ~130 modules from source again (0.2 s).
    no_cache = env.pop("PYTHONDONTWRITEBYTECODE", None) is not None
    try:
        torch_version = metadata.version("torch")
    except metadata.PackageNotFoundError:
        torch_version = "absent"
    print(f"machine: {os.cpu_count()} cores, {platform.machine()}, Python "
          f"{platform.python_version()}, torch {torch_version}, "
          f"platform {env['QT_QPA_PLATFORM']}")
    if no_cache:
        print("PYTHONDONTWRITEBYTECODE was set: unset for the children, as on a user's machine")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    one(APP, env)  # a warm-up: the OS file cache holds torch and Qt from here on
    apps, bares = [], []
    for _ in range(args.runs):  # alternating, so a drift in the machine's load hits both
        apps.append(one(APP, env))
        bares.append(one(BARE, env))
    print(f"load average after:  {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    def med(rows: list[dict[str, float]], key: str) -> float:
        return statistics.median(r[key] for r in rows)

    print(f"\n{'median of ' + str(args.runs):<22}{'app':>9}{'bare':>9}{'app/bare':>10}")
    for key, label in (("first_paint", "first paint (s)"), ("usable", "usable (s)")):
        a, b = med(apps, key), med(bares, key)
        print(f"{label:<22}{a:9.3f}{b:9.3f}{a / b:10.2f}")
    print(f"{'main window paint (s)':<22}{med(apps, 'main_paint'):9.3f}")
    torch_seen = sum(bool(r["torch_at_first_paint"]) for r in apps)
    print(f"torch imported at the first paint: {torch_seen} of {len(apps)} runs")


if __name__ == "__main__":
    main()
