"""Studies against running the same runs as separate commands, and 2 workers against 1.

The study: the 6 strategies of the MultiMNIST study x 2 seeds on `digits_cascade`, 5 epochs each,
no baselines (12 runs). Timed as whole processes, interleaved (A B C, A B C, ...) so a drift in
the machine's speed hits every variant alike; medians of --repeats:

- A: `mtl-study STUDY --workers 1` (one worker process)
- B: the same 12 runs as 12 `mtl-run` commands one after another (what a shell loop does)
- C: `mtl-study STUDY --workers 2`

Prints the medians, B / A and B / C (how much faster the study is) and C / A (the wall time of
2 workers against 1), and the machine's load before and after. Targets (issue 9, on 2 cores):
B / C >= 10 and C / A <= 0.6 on an idle machine.

    python benchmarks/bench_study.py [--repeats 3] [--epochs 5]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STRATEGIES = ["equal", "uncertainty", "mgda", "pcgrad", "cagrad", "nash_mtl"]
SEEDS = [0, 1]


def study_text(epochs: int) -> str:
    return (f"name: digits cascade strategies\nbase: digits_cascade\nseeds: {SEEDS}\n"
            f"baselines: none\noverrides: {{training.epochs: {epochs}, training.device: cpu}}\n"
            f"grid:\n  strategy.name: [{', '.join(STRATEGIES)}]\n")


def _bin(name: str) -> str:
    here = Path(sys.executable).parent / name
    return str(here) if here.exists() else name


def run_study(study: Path, out: Path, workers: int) -> tuple[float, float]:
    """(wall seconds of the whole command, seconds of its runs phase as mtl-study reports it:
    from the study's start, after validation, to its tables)."""
    shutil.rmtree(out, ignore_errors=True)
    t = time.perf_counter()
    proc = subprocess.run([_bin("mtl-study"), str(study), "--out", str(out), "--workers",
                           str(workers), "--quiet"], check=True, capture_output=True, text=True)
    wall = time.perf_counter() - t
    m = re.search(r"mtl-study: \w+ in ([0-9.]+) s", proc.stderr)
    return wall, float(m.group(1)) if m else float("nan")


def run_commands(tmp: Path, epochs: int) -> float:
    """The 12 runs as 12 mtl-run commands: a preset per run, as a user's loop would write it."""
    from mtl_engine.presets import load, save

    presets = []
    for s in STRATEGIES:
        for seed in SEEDS:
            d = load("digits_cascade").to_dict()
            d["strategy"] = {"name": s}
            d["training"].update(epochs=epochs, seed=seed, device="cpu")
            p = tmp / f"{s}_{seed}.yaml"
            save(d, p)
            presets.append(p)
    out = tmp / "cmds"
    shutil.rmtree(out, ignore_errors=True)
    t = time.perf_counter()
    for p in presets:
        subprocess.run([_bin("mtl-run"), str(p), "--into", str(out), "--quiet"], check=True,
                       capture_output=True)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=5)
    args = ap.parse_args()
    load0 = os.getloadavg()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        study = tmp / "study.yaml"
        study.write_text(study_text(args.epochs))
        a, b, c, pa, pc = [], [], [], [], []
        run_study(study, tmp / "warm", 1)  # warm the file cache; not counted
        for i in range(args.repeats):
            wall, phase = run_study(study, tmp / "a", 1)
            a.append(wall)
            pa.append(phase)
            b.append(run_commands(tmp, args.epochs))
            wall, phase = run_study(study, tmp / "c", 2)
            c.append(wall)
            pc.append(phase)
            print(f"repeat {i + 1}: workers 1 {a[-1]:.2f} s (runs {pa[-1]:.2f} s), 12 commands "
                  f"{b[-1]:.2f} s, workers 2 {c[-1]:.2f} s (runs {pc[-1]:.2f} s)", flush=True)
    ma, mb, mc = (statistics.median(x) for x in (a, b, c))
    mpa, mpc = statistics.median(pa), statistics.median(pc)
    print(f"\n{len(STRATEGIES)} strategies x {len(SEEDS)} seeds of digits_cascade, "
          f"{args.epochs} epochs; {os.cpu_count()} cores; load average before "
          f"{load0[0]:.2f}, after {os.getloadavg()[0]:.2f}")
    print(f"median wall: study --workers 1 {ma:.2f} s | 12 mtl-run commands {mb:.2f} s | "
          f"study --workers 2 {mc:.2f} s")
    print(f"12 commands / study (1 worker) = {mb / ma:.1f}x; 12 commands / study (2 workers) "
          f"= {mb / mc:.1f}x; 2 workers / 1 worker = {mc / ma:.2f} (whole command), "
          f"{mpc / mpa:.2f} (runs phase: {mpa:.2f} s vs {mpc:.2f} s)")


if __name__ == "__main__":
    main()
