"""The Pareto view's numbers: one point per multi-task variant (two tasks' headline means and
stds) and the front among them. No Qt here, so tests check it against the table by hand."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Point:
    variant: str
    x: float
    y: float
    x_std: float  # 0 when there is one seed
    y_std: float
    on_front: bool


def points(rows: list[Any], x_task: str, y_task: str,
           headline: dict[str, tuple[str, bool]]) -> list[Point]:
    """Every multi-task variant with finite means on both tasks' headline metrics."""
    xm, x_hi = headline[x_task]
    ym, y_hi = headline[y_task]
    raw = []
    for r in rows:
        if r.baseline:
            continue
        x, y = r.means.get(f"val/{x_task}/{xm}"), r.means.get(f"val/{y_task}/{ym}")
        if x is None or y is None or not (math.isfinite(x) and math.isfinite(y)):
            continue
        raw.append((r.variant, x, y, r.stds.get(f"val/{x_task}/{xm}") or 0.0,
                    r.stds.get(f"val/{y_task}/{ym}") or 0.0))
    sx, sy = (1.0 if x_hi else -1.0), (1.0 if y_hi else -1.0)  # larger is better, both axes
    out = []
    for v, x, y, xs, ys in raw:
        dominated = any(sx * qx >= sx * x and sy * qy >= sy * y and (qx, qy) != (x, y)
                        for _, qx, qy, _, _ in raw)
        out.append(Point(v, x, y, xs, ys, not dominated))
    return out


def front_steps(pts: list[Point], x_higher: bool) -> tuple[list[float], list[float]]:
    """The front as a step line: the edge of the region the front points dominate. Front points
    in order of x (best x last); along the front y gets worse as x gets better, so between two
    neighbours the line drops from the first to the second's y, then runs along x to it."""
    sx = 1.0 if x_higher else -1.0
    front = sorted((p for p in pts if p.on_front), key=lambda p: sx * p.x)
    xs: list[float] = []
    ys: list[float] = []
    for i, p in enumerate(front):
        if i:
            xs.append(front[i - 1].x)  # down (towards worse y) at the previous x
            ys.append(p.y)
        xs.append(p.x)
        ys.append(p.y)
    return xs, ys
