"""When each start of the 2-D toy first reaches the Pareto set, per strategy (issue 13, point 3).

    .venv/bin/python scripts/toy2d_pareto_steps.py                    # the table, about 10-20 min
    .venv/bin/python scripts/toy2d_pareto_steps.py --csv out.csv --md out.md
    .venv/bin/python scripts/toy2d_pareto_steps.py --strategies nash_mtl famo --steps 30000

The toy of the CAGrad, Nash-MTL and FAMO papers (mtl_engine/toy2d.py) from its five standard
starts, Adam(lr 1e-3, betas 0.9/0.999) as the papers, up to 100k steps. Each strategy runs with its
registry facts: the L1 scale of its paper's toy figure (`toy_scale_l1`: 0.1 for Nash-MTL and FAMO,
1 for the others, so CAGrad sees unscaled losses) and its toy parameters (`toy_params`: FAMO's
gamma = 0). A start has "reached" the Pareto set (x1 in [-7, 7] at x2 = -8.3552) at the first
recorded step where `toy2d.on_pareto_set(point, tol)` holds, tol = 0.1 in each coordinate by
default; points are recorded every `--every` steps (10), so a step count is exact to that many.
A strategy stops early once every start has reached the set and stayed there for `--hold` steps.
The last column says where each start is at the end (on the set or not), since a start that
touches the set could leave it again.
"""

from __future__ import annotations

import argparse
import csv
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mtl_engine import toy
from mtl_engine.registry import STRATEGIES

DEFAULT_STRATEGIES = ("equal", "mgda", "pcgrad", "cagrad", "nash_mtl", "famo")


@dataclass(frozen=True)
class Outcome:
    """One strategy's result: per start, the first step on the Pareto set (None: not reached)."""

    strategy: str
    scale_l1: float
    params: dict
    first: tuple[int | None, ...]
    on_set_at_end: tuple[bool, ...]
    end_points: tuple[tuple[float, float], ...]
    steps_run: int
    seconds: float


def pareto_steps(strategy: str, *, steps: int = 100_000, lr: float = 1e-3, tol: float = 0.1,
                 every: int = 10, hold: int = 2_000) -> Outcome:
    """Drive `strategy` from the five starts and record when each first reaches the set."""
    entry = STRATEGIES.get(strategy, "strategy")
    scale = float(entry.meta["toy_scale_l1"])
    params = dict(entry.meta["toy_params"])
    n = len(toy.STARTS)
    first: list[int | None] = [None] * n
    last = np.array(toy.STARTS, dtype=float)
    steps_run, t0 = 0, time.perf_counter()
    for chunk in toy.run(strategy, params, steps=steps, lr=lr, scale_l1=scale, record_every=every,
                         chunk_steps=5_000):
        for step, points in zip(chunk.steps, chunk.points):
            for s in range(n):
                if first[s] is None and toy.on_pareto_set(points[s], tol):
                    first[s] = int(step)
        last, steps_run = chunk.points[-1], int(chunk.steps[-1])
        reached = [f for f in first if f is not None]
        if len(reached) == n and steps_run - max(reached) >= hold and all(
                toy.on_pareto_set(p, tol) for p in last):
            break  # every start is on the set and has stayed there: the rest changes nothing
    return Outcome(strategy, scale, params, tuple(first),
                   tuple(bool(toy.on_pareto_set(p, tol)) for p in last),
                   tuple((float(p[0]), float(p[1])) for p in last), steps_run,
                   time.perf_counter() - t0)


def _cell(first: int | None, steps: int) -> str:
    return f"{first:,}" if first is not None else f"not within {steps // 1000}k"


def table_rows(outcomes: list[Outcome], steps: int) -> list[list[str]]:
    header = ["strategy", "L1 scale"] + [f"start ({x:g}, {y:g})" for x, y in toy.STARTS] + [
        "on the set at the end", "steps run"]
    rows = [header]
    for o in outcomes:
        ends = ", ".join("yes" if e else "no" for e in o.on_set_at_end)
        rows.append([o.strategy, f"{o.scale_l1:g}"] + [_cell(f, steps) for f in o.first]
                    + [ends, f"{o.steps_run:,}"])
    return rows


def markdown(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--strategies", nargs="+", default=list(DEFAULT_STRATEGIES))
    ap.add_argument("--steps", type=int, default=100_000)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--tol", type=float, default=0.1, help="on_pareto_set tolerance")
    ap.add_argument("--every", type=int, default=10, help="record a point every so many steps")
    ap.add_argument("--hold", type=int, default=2_000,
                    help="stop a strategy once every start has been on the set this long")
    ap.add_argument("--csv", type=Path, help="also write the table as CSV")
    ap.add_argument("--md", type=Path, help="also write the table as markdown")
    args = ap.parse_args(argv)
    outcomes = []
    for name in args.strategies:
        o = pareto_steps(name, steps=args.steps, lr=args.lr, tol=args.tol, every=args.every,
                         hold=args.hold)
        outcomes.append(o)
        ends = "; ".join(f"({x:.3f}, {y:.3f})" for x, y in o.end_points)
        print(f"{name}: first on the set {o.first}, end points {ends} "
              f"[{o.steps_run:,} steps, {o.seconds:.0f} s]", flush=True)
    rows = table_rows(outcomes, args.steps)
    text = markdown(rows)
    print()
    print(text, end="")
    if args.csv:
        with args.csv.open("w", newline="") as f:
            csv.writer(f).writerows(rows)
    if args.md:
        args.md.write_text(text)


if __name__ == "__main__":
    main()
