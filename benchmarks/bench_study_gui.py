"""The Study window's event-loop stalls while a 2-worker study of small runs streams.

    python benchmarks/bench_study_gui.py [--workers 2] [--seeds 2] [--epochs 3] [--steps 30]

A 10 ms QTimer on the GUI thread records the gap between its ticks (as benchmarks/bench_gui.py
does for a single run) while the Study window runs a study of small digits runs (3 strategies x
N seeds + single-task baselines, every step logged) on a local pool of worker processes: the
status cells update per event batch and the banded curves redraw from the live histories once a
second. Goal: 99th percentile under 50 ms. Figures, not assertions: wall-clock and noisy.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("MTL_EXPLORER_HOME", tempfile.mkdtemp(prefix="mtl-bench-"))

import numpy as np  # noqa: E402
from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

PROBE_MS = 10


def base(epochs: int, steps: int) -> dict[str, Any]:
    return {"name": "bench digits",
            "data": {"dataset": "digits", "val_fraction": 0.25},
            "trunk": [{"type": "linear", "out_features": 24}, {"type": "relu"}],
            "tasks": [{"name": "digit"}, {"name": "parity"}],
            "strategy": {"name": "equal"}, "optimizer": {"name": "adam", "lr": 0.01},
            "training": {"epochs": epochs, "batch_size": 32, "seed": 0, "device": "cpu",
                         "log_every": 1, "max_steps_per_epoch": steps}}


class FakeSession:  # the Study window reads only the draft and the runs of a session
    def __init__(self, draft: dict[str, Any]) -> None:
        self.draft = draft
        self.runs: list[Any] = []


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--steps", type=int, default=30)
    args = ap.parse_args()
    app = QApplication.instance() or QApplication(sys.argv[:1])  # noqa: F841 - kept alive
    from mtl_gui.study import StudyWindow

    w = StudyWindow(FakeSession(base(args.epochs, args.steps)))
    w.resize(1300, 850)
    w.show()
    w.build.strategies.set_checked(["equal", "uncertainty", "mgda"])
    w.build.seeds.setValue(args.seeds)
    w.build.workers.setValue(args.workers)
    w.recount()
    assert w.study is not None, w.build.error_label.text()
    gaps: list[float] = []
    clock = QElapsedTimer()
    probe = QTimer()
    probe.setInterval(PROBE_MS)

    at: list[float] = []  # seconds since the study started, per tick

    def tick() -> None:
        gaps.append(clock.nsecsElapsed() / 1e6)
        at.append(time.perf_counter() - t0)
        clock.restart()

    probe.timeout.connect(tick)
    loop = QEventLoop()
    w.runner.finished.connect(lambda _: QTimer.singleShot(300, loop.quit))
    folder = Path(tempfile.mkdtemp(prefix="mtl-bench-study-"))
    t0 = time.perf_counter()
    w.run_study(folder)
    w.tabs.setCurrentWidget(w.curves)  # the live curves are the costliest view
    clock.start()
    probe.start()
    loop.exec()
    probe.stop()
    seconds = time.perf_counter() - t0
    g = np.asarray(gaps[1:])
    lateness = np.maximum(g - PROBE_MS, 0.0)
    counts: dict[str, int] = {}
    for s in w.runner.runs.values():
        counts[s.status] = counts.get(s.status, 0) + 1
    print(f"study: {w.n_runs} runs ({counts}), {args.workers} workers, {seconds:.1f} s, "
          f"{len(g)} probe ticks, {os.cpu_count()} cores")
    print(f"event-loop stall (tick lateness past {PROBE_MS} ms): "
          f"p50 {np.percentile(lateness, 50):.1f} ms, "
          f"p99 {np.percentile(lateness, 99):.1f} ms, max {lateness.max():.1f} ms "
          f"(goal: p99 < 50 ms)")
    worst = np.argsort(g)[-3:][::-1]
    print("worst stalls: " + ", ".join(f"{g[i]:.0f} ms ending {at[i + 1]:.1f} s in"
                                       for i in worst) + f" (the study took {seconds:.1f} s)")
    w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
