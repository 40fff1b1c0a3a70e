"""Parallel coordinates for 3+ tasks: one axis per task's headline metric, one polyline per
multi-task variant. Each axis is scaled to the variants' range with the better end up (a
lower-is-better metric is flipped), so a line high everywhere is good everywhere."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from ..plots.style import THEMES
from .colors import variant_colors
from .results import StudyResults
from .variant_view import VariantPlotView


def normalised(res: StudyResults, hidden: set[str] = frozenset()  # type: ignore[assignment]
               ) -> tuple[list[str], dict[str, np.ndarray], dict[str, tuple[float, float]]]:
    """Tasks (axes), variant -> values in [0, 1] (1 = best among the variants; nan = missing),
    and each axis's (worst, best) raw value."""
    tasks = [t for t in res.tasks if t in res.headline]
    rows = [r for r in res.multi_task_rows if r.variant not in hidden]
    ranges: dict[str, tuple[float, float]] = {}
    for t in tasks:
        metric, higher = res.headline[t]
        vals = [r.means.get(f"val/{t}/{metric}") for r in rows]
        vals = [v for v in vals if v is not None and math.isfinite(v)]
        if vals:
            lo, hi = min(vals), max(vals)
            ranges[t] = (lo, hi) if higher else (hi, lo)
    out: dict[str, np.ndarray] = {}
    for r in rows:
        line = []
        for t in tasks:
            v = r.means.get(f"val/{t}/{res.headline[t][0]}")
            if t not in ranges or v is None or not math.isfinite(v):
                line.append(math.nan)
                continue
            worst, best = ranges[t]
            line.append(0.5 if best == worst else (v - worst) / (best - worst))
        out[r.variant] = np.asarray(line)
    return tasks, out, ranges


class ParallelView(VariantPlotView):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Each axis: a task's headline metric, scaled to the variants' range, "
                         "best at the top (lower-is-better metrics flipped). Hover an axis "
                         "label for its range.", parent)
        self.plot.setMouseEnabled(x=False, y=False)
        self._lay_out()

    def set_results(self, res: StudyResults | None) -> None:
        self._take(res)
        self.redraw()

    def redraw(self) -> None:
        item = self.plot.getPlotItem()
        item.clear()
        if self.res is None:
            return
        fg = THEMES[self.theme]["foreground"]
        tasks, lines, ranges = normalised(self.res, self.legend.hidden())
        x = np.arange(len(tasks), dtype=float)
        for i in x:
            item.addItem(pg.InfiniteLine(pos=i, angle=90, pen=pg.mkPen(fg, width=1)))
        colors = variant_colors(self.res.multi_task_rows)
        for variant, ys in lines.items():
            curve = pg.PlotDataItem(x, ys, pen=pg.mkPen(colors[variant], width=2),
                                    symbol="o", symbolSize=6, symbolBrush=colors[variant],
                                    symbolPen=colors[variant], connect="finite")
            curve.setToolTip(variant)
            item.addItem(curve)
        bottom = item.getAxis("bottom")
        bottom.setTicks([[(float(i), t) for i, t in enumerate(tasks)]])
        left = item.getAxis("left")
        left.setTicks([[(0.0, "worst"), (0.5, ""), (1.0, "best")]])
        item.setLabel("left", "scaled headline metric", color=fg)
        item.setXRange(-0.3, len(tasks) - 0.7, padding=0)
        item.setYRange(-0.05, 1.05, padding=0)
        self.ranges = ranges
        bottom.setToolTip("\n".join(f"{t} {self.res.headline[t][0]}: worst {w:.4g}, best {b:.4g}"
                                    for t, (w, b) in ranges.items()))
