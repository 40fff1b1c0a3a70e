"""Each task's share of the weighted total loss, stacked to 1: who drives the shared update."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from ..run_entry import RunEntry
from ..smoothing import SmoothedSeries
from .base import X_LABELS, PlotOptions, step_x
from .budget import TimedPlotWidget
from .style import pen, task_color

MAX_POINTS = 2000  # shares are smooth; bin means keep the fills cheap at any run length


def bin_means(a: np.ndarray, bins: int) -> np.ndarray:
    """Mean of `a` over `bins` nearly equal consecutive chunks (a itself if it is short)."""
    if a.size <= bins:
        return a
    edges = np.linspace(0, a.size, bins + 1).astype(np.int64)
    sums = np.add.reduceat(a, edges[:-1])
    return sums / np.diff(edges)


def shares(weighted: list[np.ndarray]) -> np.ndarray:
    """T x N fractions |w_i L_i| / sum_j |w_j L_j| (rows sum to 1 where the total is > 0)."""
    mags = np.abs(np.vstack(weighted))
    total = mags.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, mags / total, np.nan)


class SharePlot(QWidget):
    title = "Share of the weighted loss (stacked)"

    def __init__(self, options: PlotOptions, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.options = options
        self.widget = TimedPlotWidget(self)
        self.plot = self.widget.getPlotItem()
        self.plot.setTitle(self.title)
        self.plot.setLabel("left", "share of total")
        for axis in ("left", "bottom"):
            self.plot.getAxis(axis).enableAutoSIPrefix(False)
            self.plot.getAxis(axis).setStyle(maxTickLevel=0)  # see CurvePlot
        self.plot.setYRange(0, 1, padding=0.02)
        self.plot.setMouseEnabled(x=True, y=False)
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.legend = self.plot.addLegend(offset=(-10, 10), labelTextSize="8pt")
        self.note = QLabel(" ", self)
        self.note.setStyleSheet("color: palette(mid); font-size: 9pt;")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.widget, 1)
        lay.addWidget(self.note)
        self._stamp: tuple[Any, ...] = ()
        self._smoothers: dict[str, SmoothedSeries] = {}
        self.last_shares = np.empty((0, 0))
        self._layout: tuple[object, ...] = ()
        self._edges: list[pg.PlotDataItem] = []

    def refresh(self, runs: list[RunEntry], force: bool = False) -> bool:
        entry = runs[-1] if runs else None
        stamp = ((entry.uid, entry.history.version) if entry else None, self.options.key())
        if stamp == self._stamp and not force:
            return False
        self._stamp = stamp
        self.plot.setLabel("bottom", X_LABELS[self.options.x_mode])
        if entry is None or not entry.history.n_steps:
            self._build(None, [])
            self.note.setText("each task's share of the weighted loss appears here during a run")
            return True
        h, w = entry.history, self.options.smoothing
        if self._layout != (entry.uid, tuple(h.tasks)):
            self._build(entry.uid, h.tasks)
        series = []
        for t in h.tasks:
            y = h.weighted[t].view
            if w > 0:
                y = self._smoothers.setdefault(f"{entry.uid}/{t}", SmoothedSeries()).update(y, w)
            series.append(bin_means(np.abs(y), MAX_POINTS))
        x = bin_means(step_x(entry, self.options.x_mode), MAX_POINTS)
        frac = shares(series)
        self.last_shares = frac
        top = np.cumsum(np.nan_to_num(frac), axis=0)
        for k, edge in enumerate(self._edges):
            edge.setData(x, top[k])
        last = ", ".join(f"{t} {frac[k, -1]:.0%}" for k, t in enumerate(h.tasks)
                         if np.isfinite(frac[k, -1]))
        self.note.setText(f"{entry.label}, latest: {last}")
        return True

    def _build(self, uid: int | None, tasks: list[str]) -> None:
        """Create the curves and legend once per run (refreshes only move data).

        Each task's cumulative top edge is filled down to zero; drawing the tallest first and
        the lower ones over it gives the stack. (pyqtgraph's FillBetweenItem rebuilds its
        polygon in Python on every change, 4 ms a fill; a curve's own fill is drawn by Qt.)
        """
        self.plot.clear()
        self.legend.clear()
        self._layout = (uid, tuple(tasks))
        self._edges = []
        for k, t in enumerate(tasks):
            fill = task_color(k).lighter(135)
            edge = self.plot.plot([], [], pen=pen(k, width=1.0), fillLevel=0.0,
                                  brush=pg.mkBrush(fill))
            edge.setZValue(-k)  # later (taller) edges lie under the earlier ones
            self.legend.addItem(edge, t)
            self._edges.append(edge)
