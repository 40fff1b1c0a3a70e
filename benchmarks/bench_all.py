"""Every performance figure of the engine and the window in one run, each against its goal.

    python benchmarks/bench_all.py [--quick] [--device cpu|cuda] [--only NAME ...]

Runs, one after another in fresh processes, and streams their full output:

- engine: bench_engine.py (every shipped preset: engine / plain loop, engine / fused loop);
- gradients: bench_gradients.py (pipeline: engine vs a LibMTL-style step vs torchjd's pipeline;
  the T x P grid with time and peak memory; the dual-cone projector vs quadprog);
- startup: bench_startup.py (cold start to a usable window);
- gui: bench_gui.py (a run with the window attached vs headless, event-loop stalls).

The window's two run under a real X server when there is one (DISPLAY), else under `xvfb-run`
with Qt's xcb plugin when that is installed, else offscreen (said in the summary). Then one
table: each figure, the goal it is held to (issue 14's), and whether this run met it. The
machine, its load average before and after, and torch's thread count are printed first and
last. `--quick` uses fewer repetitions (minutes instead of about half an hour; the ratios
scatter more). Figures, not assertions: the exit status is 0 whatever they are, unless a
benchmark itself failed.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

HERE = os.path.dirname(os.path.abspath(__file__))


@dataclass(frozen=True)
class Bench:
    script: str
    full: tuple[str, ...]
    quick: tuple[str, ...]
    gui: bool = False


BENCHES = {
    "engine": Bench("bench_engine.py", ("--repeats", "5", "--threads", "1"),
                    ("--repeats", "3", "--threads", "1")),
    "gradients": Bench("bench_gradients.py", ("--reps", "7"),
                       ("--reps", "3", "--tasks", "2", "10", "40")),
    "startup": Bench("bench_startup.py", ("--runs", "7"), ("--runs", "3"), gui=True),
    "gui": Bench("bench_gui.py", ("--pairs", "7", "--points", "0"),
                 ("--pairs", "3", "--points", "0"), gui=True),
}

NUM = r"(-?\d+(?:\.\d+)?)"


def _rows(text: str, pattern: str) -> list[tuple[str, ...]]:
    return re.findall(pattern, text, flags=re.MULTILINE)


def engine_figures(text: str) -> list[tuple[str, str, str, bool | None]]:
    # preset batch epochs plain fused engine e/plain e/fused cpu-e/p cpu-e/f
    rows = _rows(text, rf"^(\S+)\s+\d+\s+\d+\s+\d+\s+\d+\s+\d+\s+{NUM}\s+{NUM}\s+{NUM}\s+{NUM}$")
    if not rows:
        return []
    out = []
    for k, label in ((1, "engine / plain loop"), (2, "engine / fused loop")):
        worst = min(rows, key=lambda r: float(r[k]))
        out.append((f"{label}, lowest preset", f"{float(worst[k]):.3f} ({worst[0]})", ">= 0.98",
                    float(worst[k]) >= 0.98))
    return out


def gradient_figures(text: str) -> list[tuple[str, str, str, bool | None]]:
    out: list[tuple[str, str, str, bool | None]] = []
    pipe = _rows(text, rf"^(\S+)\s+(\S+)\s+{NUM}\s+{NUM}\s+(\S+)\s+{NUM}\s+(\S+)")
    pipe = [r for r in pipe if not r[0].startswith("#")]
    if pipe:
        worst = min(pipe, key=lambda r: float(r[5]))
        out.append(("LibMTL-style / engine, lowest preset x method",
                    f"{float(worst[5]):.2f} ({worst[0]}, {worst[1]})", ">= 1 (0.97: the scatter)",
                    float(worst[5]) >= 0.97))
        tj = [r for r in pipe if re.fullmatch(NUM, r[6])]
        if tj:
            worst = min(tj, key=lambda r: float(r[6]))
            out.append(("torchjd / engine, lowest preset x method",
                        f"{float(worst[6]):.2f} ({worst[0]}, {worst[1]})", ">= 1",
                        float(worst[6]) >= 1.0))
    grid = _rows(text, rf"^\s*(\d+)\s+(\d+)\s+{NUM}\s+{NUM}\s+(\S+)\s+(\S+)\s+\|\s+(\S+)")
    if grid:
        for k, label in ((4, "autojac / engine"), (5, "autogram / engine")):
            cells = [r for r in grid if re.fullmatch(NUM, r[k])]
            if cells:
                worst = min(cells, key=lambda r: float(r[k]))
                out.append((f"grid: torchjd {label}, lowest cell",
                            f"{float(worst[k]):.2f} (T = {worst[0]}, P = {worst[1]})", ">= 1",
                            float(worst[k]) >= 1.0))
        mem = [r for r in grid if re.fullmatch(NUM, r[6])]
        for big, goal, limit in ((True, "< 1 (below G)", 1.0), (False, "<= 1.3", 1.3)):
            cells = [r for r in mem if (int(r[1]) >= 50_000) == big]
            if cells:
                worst = max(cells, key=lambda r: float(r[6]))
                where = "P >= 1e5" if big else "P = 1e4"
                out.append((f"grid: peak above EW in G, {where}, highest cell",
                            f"{float(worst[6]):.2f} (T = {worst[0]})", goal,
                            float(worst[6]) < limit if big else float(worst[6]) <= limit))
    proj = _rows(text, rf"^T =\s*(\d+):.*ours / quadprog\s+{NUM}")
    if proj:
        top = max(proj, key=lambda r: int(r[0]))
        out.append((f"projector ours / quadprog at T = {top[0]}", top[1], "<= 1.5",
                    float(top[1]) <= 1.5))
    return out


def startup_figures(text: str) -> list[tuple[str, str, str, bool | None]]:
    rows = _rows(text, rf"^usable \(s\)\s+{NUM}\s+{NUM}\s+{NUM}$")
    if not rows:
        return []
    usable = float(rows[0][0])
    return [("window usable after a cold start (s)", f"{usable:.2f}", "<= 1.2 (idle 2 cores)",
             usable <= 1.2)]


def gui_figures(text: str) -> list[tuple[str, str, str, bool | None]]:
    out: list[tuple[str, str, str, bool | None]] = []
    ratio = _rows(text, rf"^\| GUI / headless, median of \d+ pair ratios \| \*\*{NUM}\*\*")
    if ratio:
        out.append(("GUI attached / headless", ratio[0], ">= 0.95", float(ratio[0]) >= 0.95))
    p99 = _rows(text, rf"^\| event-loop gap, 99th percentile.*?\| \*\*{NUM} ms\*\*")
    if p99:
        out.append(("event-loop stall p99 (ms)", p99[0], "< 30", float(p99[0]) < 30))
    apart = _rows(text, r"^\| redraws whose visible plots' x ranges differed \| (\d+) of (\d+)")
    if apart:
        out.append(("redraws with plots' x ranges apart", f"{apart[0][0]} of {apart[0][1]}",
                    "0", apart[0][0] == "0"))
    return out


FIGURES: dict[str, Callable[[str], list[tuple[str, str, str, bool | None]]]] = {
    "engine": engine_figures, "gradients": gradient_figures, "startup": startup_figures,
    "gui": gui_figures}


def machine() -> str:
    import torch

    cpu = platform.processor() or platform.machine()
    gpu = f", GPU {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ", no GPU"
    return (f"{platform.node()}: {cpu}, {os.cpu_count()} cores, Python "
            f"{platform.python_version()}, torch {torch.__version__}{gpu}")


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def command(bench: Bench, quick: bool, device: str) -> tuple[list[str], dict[str, str], str]:
    """The command line, its environment and the Qt platform it gets."""
    args = [sys.executable, os.path.join(HERE, bench.script),
            *(bench.quick if quick else bench.full)]
    if device != "cpu" and bench.script in ("bench_engine.py", "bench_gradients.py"):
        args += ["--device", device]
    env = dict(os.environ)
    if not bench.gui:
        return args, env, ""
    if env.get("DISPLAY"):
        env["QT_QPA_PLATFORM"] = env.get("QT_QPA_PLATFORM", "xcb")
        return args, env, f"X server {env['DISPLAY']}"
    if shutil.which("xvfb-run"):
        env["QT_QPA_PLATFORM"] = "xcb"
        return ["xvfb-run", "-a", "-s", "-screen 0 1920x1200x24", *args], env, "Xvfb (xcb)"
    env["QT_QPA_PLATFORM"] = "offscreen"
    return args, env, "offscreen (no X server, no xvfb-run)"


def run_one(name: str, bench: Bench, quick: bool, device: str) -> tuple[str, int, str, float]:
    args, env, where = command(bench, quick, device)
    print(f"\n===== {name}: {' '.join(args[args.index(sys.executable):][1:])}"
          + (f" [{where}]" if where else ""), flush=True)
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, cwd=os.path.dirname(HERE))
    lines = []
    assert proc.stdout is not None
    for line in proc.stdout:
        print(line, end="", flush=True)
        lines.append(line.rstrip("\n"))
    return "\n".join(lines), proc.wait(), where, time.perf_counter() - t0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="fewer repetitions (minutes)")
    p.add_argument("--device", default="cpu", help="the engine and gradient benches' device")
    p.add_argument("--only", nargs="+", choices=sorted(BENCHES), default=sorted(BENCHES),
                   metavar="NAME", help=f"some of: {', '.join(sorted(BENCHES))}")
    a = p.parse_args()
    print(f"machine: {machine()}")
    print(f"load average before: {load()}")
    rows: list[tuple[str, str, str, str]] = []
    failed = 0
    for name in [n for n in BENCHES if n in a.only]:
        text, rc, where, seconds = run_one(name, BENCHES[name], a.quick, a.device)
        figures = FIGURES[name](text)
        if rc != 0 or not figures:
            failed += rc != 0
            rows.append((name, f"no figures (exit status {rc})", "", "FAILED"))
            continue
        for label, value, goal, met in figures:
            rows.append((f"{name}: {label}" + (f" [{where}]" if where else ""), value, goal,
                         "n/a" if met is None else "met" if met else "NOT MET"))
        print(f"===== {name}: {seconds:.0f} s", flush=True)
    print(f"\nload average after: {load()}")
    print(f"machine: {machine()}{' (quick)' if a.quick else ''}\n")
    print("| figure | this run | goal | |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
