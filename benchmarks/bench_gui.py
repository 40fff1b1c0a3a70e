"""The GUI's cost while a run trains at full speed with every plot live.

    python benchmarks/bench_gui.py [--preset NAME] [--epochs N] [--pairs P] [--points N]
                                   [--in-thread]
    (defaults: multimnist_uncertainty with its own 10 epochs, 7 pairs, 200k points)
    xvfb-run -a -s "-screen 0 1920x1200x24" env QT_QPA_PLATFORM=xcb python benchmarks/bench_gui.py

Figures, printed as a table (and quoted in docs/gui.md):

1. Throughput (issue 14, goal >= 0.95): samples/s of the same preset trained through the window
   (every plot live; the run trains in the window's child process, or with --in-thread in its
   worker thread, as MTL_EXPLORER_RUN_IN_THREAD=1 makes it) against `mtl_engine.run` alone, each
   in a fresh process with one torch thread, in P alternating pairs (the order flips every pair,
   so a drifting load favours neither side). The figure is the median of the P per-pair ratios,
   with their spread.
2. Event-loop stalls (goal: 99th percentile < 30 ms): a 10 ms QTimer heartbeat on the GUI thread
   records the gap between its ticks during the GUI runs; a gap is how long a click or a repaint
   would have waited. Also the GUI thread's CPU time as a share of the run's wall time (what it
   can take from the training thread's GIL).
3. Consistency: after every redraw of a GUI run, the x ranges of all visible plots are compared
   (the plot area's rule: one x range at any moment); the count of redraws where they differ.
4. Redraw cost at scale, with N logged steps per task (default 200k) from a replayed history,
   no training: a full redraw after the smoothing slider moves, and one live tick.

The load average is printed before and after: on a shared machine only the ratios count.
Timings are wall-clock and noisy; they are figures, not assertions.
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
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # one torch thread, on both sides
    os.environ.setdefault(_var, "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "gui"))

import numpy as np  # noqa: E402
from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

import mtl_engine.events as ev  # noqa: E402
from mtl_engine.config import ExperimentConfig, from_dict  # noqa: E402
from mtl_engine.presets import load  # noqa: E402
from mtl_engine.training import run  # noqa: E402
from mtl_gui.run_book import IN_THREAD_ENV  # noqa: E402

PROBE_MS = 10  # the stall probe's period; 10 ms resolves a 30 ms stall and costs little
GOAL_RATIO, GOAL_P99_MS = 0.95, 30.0


def bench_config(preset: str, epochs: int) -> ExperimentConfig:
    d = load(preset).to_dict()
    d["training"].update(device="cpu")
    if epochs > 0:  # 0: the preset's own
        d["training"]["epochs"] = epochs
    if "threads" in d["training"]:
        d["training"]["threads"] = 1
    return from_dict(d)


def samples_per_sec(events: list[ev.Event], batch: int) -> float:
    """Training samples per second between the first logged step and the end of the run."""
    steps = [e for e in events if isinstance(e, ev.StepsLogged)]
    n = sum(len(e.steps) for e in steps) * batch
    seconds = steps[-1].wall[-1] - steps[0].wall[0] if steps else 0.0
    return n / seconds if seconds > 0 else 0.0


def headless(config: ExperimentConfig) -> float:
    import torch

    torch.set_num_threads(1)
    return samples_per_sec(list(run(config)), config.training.batch_size)


def x_ranges_agree(window: Any) -> bool:
    """Whether every visible plot of the window shows the same x range now."""
    area = window.plots
    plots = area._on_tab(area.tabs.currentIndex())
    ranges = [tuple(h.vb.viewRange()[0]) for p in plots for h in p.x_holders()]
    return all(np.allclose(r, ranges[0], rtol=1e-9, atol=1e-12) for r in ranges)


def with_gui(app: QApplication, config: ExperimentConfig) -> dict[str, Any]:
    """Train through the real window: samples/s, every heartbeat gap in ms, the GUI thread's
    CPU share of the run, and how many redraws left the visible plots' x ranges apart."""
    import torch

    from mtl_gui.app import freeze_long_lived
    from mtl_gui.main_window import MainWindow

    torch.set_num_threads(1)
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
    redraws = {"n": 0, "apart": 0}
    area = window.plots
    plain_refresh = area.refresh

    def checked_refresh(force: bool = False) -> None:
        before = area._frame_key
        plain_refresh(force)
        if area._frame_key != before:  # it redrew: every visible plot from one new frame
            redraws["n"] += 1
            redraws["apart"] += not x_ranges_agree(window)

    area.timer.timeout.disconnect()
    area.timer.timeout.connect(checked_refresh)
    loop = QEventLoop()  # not app.exec(): Qt 6's quit() would close the window
    ended: dict[str, float] = {}

    def finished(_: object) -> None:
        ended.update(cpu=time.thread_time(), wall=time.perf_counter())
        QTimer.singleShot(300, loop.quit)

    window.session.run_finished.connect(finished)
    for _ in range(5):
        app.processEvents()
    cpu0, wall0 = time.thread_time(), time.perf_counter()
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
    return {"sps": n / seconds if seconds > 0 else 0.0, "gaps": gaps[1:],
            "gui_cpu": (ended["cpu"] - cpu0) / max(1e-9, ended["wall"] - wall0),
            "redraws": redraws["n"], "apart": redraws["apart"]}


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
    print(json.dumps(with_gui(app, config)))
    return 0


def measure(kind: str, preset: str, epochs: int, in_thread: bool = False) -> dict[str, Any]:
    # A fresh process per measurement: torch's OpenMP pool belongs to the thread that first
    # used it, and a headless run on the main thread leaves a pool that competes with the
    # GUI's worker-thread pool for the same cores (it cost the GUI runs a quarter of their
    # speed when both ran in one process). Separate processes are also what users run.
    env = {**os.environ, IN_THREAD_ENV: "1"} if in_thread else {
        k: v for k, v in os.environ.items() if k != IN_THREAD_ENV}
    out = subprocess.run([sys.executable, __file__, "--child", kind, "--preset", preset,
                          "--epochs", str(epochs)], capture_output=True, text=True, check=True,
                         env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def load_text() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="multimnist_uncertainty")
    p.add_argument("--epochs", type=int, default=0, help="0 (default): the preset's own")
    p.add_argument("--pairs", type=int, default=7, help="alternating headless / GUI pairs")
    p.add_argument("--points", type=int, default=200_000, help="0: no redraw-cost figures")
    p.add_argument("--in-thread", action="store_true",
                   help="train the GUI runs in the window's worker thread, not its child process")
    p.add_argument("--child", choices=("headless", "gui"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        return child(args.child, args.preset, args.epochs)
    app = QApplication.instance() or QApplication([])
    import torch

    config = bench_config(args.preset, args.epochs)
    before = load_text()
    print(f"machine: {platform.machine()}, nproc {os.cpu_count()}, torch {torch.__version__} "
          f"(OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}), Qt platform "
          f"{os.environ.get('QT_QPA_PLATFORM')}; preset {args.preset}, "
          f"{config.training.epochs} epochs, "
          f"batch {config.training.batch_size}; {args.pairs} alternating pairs, each run in a "
          f"fresh process; GUI runs train in the window's "
          f"{'worker thread' if args.in_thread else 'child process'}")
    print(f"load average before: {before}")
    ratios, heads, guis, p99s, cpus = [], [], [], [], []
    all_gaps: list[np.ndarray] = []
    redraws = apart = 0
    for i in range(args.pairs):
        order = ("headless", "gui") if i % 2 == 0 else ("gui", "headless")
        got = {kind: measure(kind, args.preset, args.epochs, args.in_thread) for kind in order}
        head, gui = got["headless"]["sps"], got["gui"]["sps"]
        gaps = np.asarray(got["gui"]["gaps"])
        all_gaps.append(gaps)
        heads.append(head)
        guis.append(gui)
        ratios.append(gui / head if head > 0 else float("nan"))
        p99s.append(float(np.percentile(gaps, 99)))
        cpus.append(got["gui"]["gui_cpu"])
        redraws += got["gui"]["redraws"]
        apart += got["gui"]["apart"]
        print(f"  pair {i + 1} ({order[0]} first): headless {head:,.0f}, GUI {gui:,.0f} "
              f"samples/s, ratio {ratios[-1]:.3f}; {gaps.size} heartbeats, p99 gap "
              f"{p99s[-1]:.1f} ms; GUI thread CPU {cpus[-1]:.1%} of the run; "
              f"{got['gui']['redraws']} redraws; load {load_text()}")
    gaps = np.concatenate(all_gaps)
    after = load_text()
    ratio = statistics.median(ratios)
    q1, q3 = (float(v) for v in np.percentile(ratios, [25, 75]))
    p99 = float(np.percentile(gaps, 99))
    print(f"load average after: {after}")
    print()
    print("| figure | value | goal |")
    print("|---|---|---|")
    print(f"| GUI / headless, median of {args.pairs} pair ratios | **{ratio:.3f}** "
          f"(quartiles {q1:.3f}-{q3:.3f}, range {min(ratios):.3f}-{max(ratios):.3f}) | "
          f">= {GOAL_RATIO} |")
    print(f"| throughput headless / with GUI (medians) | {statistics.median(heads):,.0f} / "
          f"{statistics.median(guis):,.0f} samples/s | |")
    print(f"| event-loop gap, median | {np.median(gaps):.1f} ms | ({PROBE_MS} ms heartbeat) |")
    print(f"| event-loop gap, 99th percentile (all GUI runs) | **{p99:.1f} ms** "
          f"(per run: median {statistics.median(p99s):.1f}, worst {max(p99s):.1f}) | "
          f"< {GOAL_P99_MS:.0f} ms |")
    print(f"| event-loop gap, max | {gaps.max():.1f} ms | |")
    print(f"| GUI thread CPU, share of the run's wall time (median) | "
          f"{statistics.median(cpus):.1%} | |")
    print(f"| redraws whose visible plots' x ranges differed | {apart} of {redraws} | 0 |")
    for points in (sorted({10_000, args.points}) if args.points else ()):
        full, tick = redraw_cost(app, points)
        print(f"| {points:,} steps per task: redraw after a smoothing change (4 plots) | "
              f"{full:.1f} ms | |")
        print(f"| {points:,} steps per task: live tick (all visible plots) | {tick:.1f} ms | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
