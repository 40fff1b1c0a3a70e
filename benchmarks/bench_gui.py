"""The GUI's cost while a run trains at full speed with every plot live.

    python benchmarks/bench_gui.py [--preset NAME] [--epochs N] [--repeats R] [--points N]

Three figures, printed as a table (and quoted in docs/gui.md):

1. Event-loop stalls: a 10 ms QTimer on the GUI thread records the gap between its ticks while the
   real window trains the preset (worker thread, 50 ms event batches, 25 Hz plot redraws). A gap
   is how long a click or a repaint would have waited. Goal: 99th percentile under 50 ms.
2. Throughput: samples/s of the same preset through the window against the headless runner
   (`mtl_engine.training.run` with no GUI) in the same process, alternating, median of repeats.
   Goal: GUI / headless >= 0.9.
3. Redraw cost at scale, with N logged steps per task (default 200k) from a replayed history,
   no training: a full redraw after the smoothing slider moves, and one live tick.

Timings are wall-clock on this machine and noisy; they are figures, not assertions.
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
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("MTL_EXPLORER_HOME", tempfile.mkdtemp(prefix="mtl-bench-"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "gui"))

import numpy as np  # noqa: E402
from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

import mtl_engine.events as ev  # noqa: E402
from mtl_engine.config import ExperimentConfig, from_dict  # noqa: E402
from mtl_engine.presets import load  # noqa: E402
from mtl_engine.training import run  # noqa: E402

PROBE_MS = 10  # the stall probe's period; 10 ms resolves a 50 ms stall and costs little


def bench_config(preset: str, epochs: int) -> ExperimentConfig:
    d = load(preset).to_dict()
    d["training"].update(epochs=epochs, device="cpu")
    return from_dict(d)


def samples_per_sec(events: list[ev.Event], batch: int) -> float:
    """Training samples per second between the first logged step and the end of the run."""
    steps = [e for e in events if isinstance(e, ev.StepsLogged)]
    n = sum(len(e.steps) for e in steps) * batch
    seconds = steps[-1].wall[-1] - steps[0].wall[0] if steps else 0.0
    return n / seconds if seconds > 0 else 0.0


def headless(config: ExperimentConfig) -> float:
    return samples_per_sec(list(run(config)), config.training.batch_size)


def with_gui(app: QApplication, config: ExperimentConfig) -> tuple[float, np.ndarray]:
    """Train through the real window; returns samples/s and every tick gap in ms."""
    from mtl_gui.app import freeze_long_lived
    from mtl_gui.main_window import MainWindow

    window = MainWindow()
    freeze_long_lived()  # as the app does once its window is built
    window.session.runs_dir = None  # like the headless run: no run folder
    window.resize(1400, 900)
    window.show()
    window.session.load_config(config, None)
    window.ask_unsaved = lambda: "discard"  # type: ignore[method-assign]
    gaps: list[float] = []
    clock = QElapsedTimer()
    probe = QTimer()
    probe.setInterval(PROBE_MS)

    def tick() -> None:
        gaps.append(clock.nsecsElapsed() / 1e6)
        clock.restart()

    probe.timeout.connect(tick)
    loop = QEventLoop()  # not app.exec(): Qt 6's quit() would close the window
    window.session.run_finished.connect(lambda _: QTimer.singleShot(300, loop.quit))
    entry = window.session.start()
    assert entry is not None, window.session.problem
    clock.start()
    probe.start()
    loop.exec()
    probe.stop()
    h = entry.history
    n = h.n_steps * config.training.batch_size
    seconds = float(h.wall.view[-1] - h.wall.view[0]) if h.n_steps else 0.0
    window.close()
    window.deleteLater()
    return (n / seconds if seconds > 0 else 0.0), np.asarray(gaps[1:])


def redraw_cost(app: QApplication, points: int) -> tuple[float, float]:
    """At `points` logged steps per task (2 tasks, no training): milliseconds for a full redraw
    of the four training plots after a smoothing change (everything re-smoothed), and for one
    live tick (a new batch of 100 steps arrives, the timer redraws every visible plot from one
    snapshot, Qt paints them)."""
    from conftest import fake_events

    from mtl_gui.history import RunHistory
    from mtl_gui.plots.area import PlotArea
    from mtl_gui.run_entry import RunEntry

    epochs = 20
    events = fake_events(epochs=epochs, steps_per_epoch=(points + 4000) // epochs, log_every=100,
                         grads_every=0)
    history = RunHistory()
    entry = RunEntry(1, {}, history)
    feed = iter(events)
    while history.n_steps < points:
        history.feed(next(feed))
    area = PlotArea(lambda: [entry])
    area.timer.stop()
    area.resize(1000, 700)
    area.show()
    app.processEvents()
    full = []
    for i in range(5):
        area.options.smoothing = 0.6 + 0.01 * i  # a new weight: everything re-smoothed
        t0 = time.perf_counter()
        area.refresh(force=True)
        app.processEvents()
        full.append((time.perf_counter() - t0) * 1000)
    ticks = []
    for _ in range(24):
        history.feed(next(feed))
        t0 = time.perf_counter()
        area.refresh()
        app.processEvents()
        ticks.append((time.perf_counter() - t0) * 1000)
    area.close()
    return statistics.median(full), statistics.median(ticks)


def child(kind: str, preset: str, epochs: int) -> int:
    """One measurement in this (fresh) process; prints one JSON line."""
    config = bench_config(preset, epochs)
    if kind == "headless":
        print(json.dumps({"sps": headless(config)}))
        return 0
    app = QApplication.instance() or QApplication([])
    sps, gaps = with_gui(app, config)
    print(json.dumps({"sps": sps, "gaps": gaps.tolist()}))
    return 0


def measure(kind: str, preset: str, epochs: int) -> dict[str, Any]:
    # A fresh process per measurement: torch's OpenMP pool belongs to the thread that first
    # used it, and a headless run on the main thread leaves a pool that competes with the
    # GUI's worker-thread pool for the same cores (it cost the GUI runs a quarter of their
    # speed when both ran in one process). Separate processes are also what users run.
    out = subprocess.run([sys.executable, __file__, "--child", kind, "--preset", preset,
                          "--epochs", str(epochs)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="multimnist_uncertainty")
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--points", type=int, default=200_000)
    p.add_argument("--child", choices=("headless", "gui"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        return child(args.child, args.preset, args.epochs)
    app = QApplication.instance() or QApplication([])
    import torch

    config = bench_config(args.preset, args.epochs)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads; preset {args.preset}, "
          f"{args.epochs} epochs, batch {config.training.batch_size}; each measurement in a "
          "fresh process, headless and GUI alternating")
    head, gui, all_gaps = [], [], []
    for r in range(args.repeats):
        head.append(measure("headless", args.preset, args.epochs)["sps"])
        got = measure("gui", args.preset, args.epochs)
        gaps = np.asarray(got["gaps"])
        gui.append(got["sps"])
        all_gaps.append(gaps)
        print(f"  repeat {r + 1}: headless {head[-1]:,.0f} samples/s, with GUI {gui[-1]:,.0f} "
              f"samples/s, {gaps.size} ticks, p99 gap {np.percentile(gaps, 99):.1f} ms")
    gaps = np.concatenate(all_gaps)
    ratio = statistics.median(gui) / statistics.median(head)
    print()
    print("| figure | value | goal |")
    print("|---|---|---|")
    print(f"| event-loop gap, median | {np.median(gaps):.1f} ms | ({PROBE_MS} ms timer) |")
    print(f"| event-loop gap, 99th percentile | {np.percentile(gaps, 99):.1f} ms | < 50 ms |")
    print(f"| event-loop gap, max | {gaps.max():.1f} ms | |")
    print(f"| throughput headless (median) | {statistics.median(head):,.0f} samples/s | |")
    print(f"| throughput with GUI (median) | {statistics.median(gui):,.0f} samples/s | |")
    print(f"| GUI / headless | {ratio:.3f} | >= 0.9 |")
    for points in (10_000, args.points):
        full, tick = redraw_cost(app, points)
        print(f"| {points:,} steps per task: redraw after a smoothing change (4 plots) | "
              f"{full:.1f} ms | |")
        print(f"| {points:,} steps per task: live tick (all visible plots) | {tick:.1f} ms | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
