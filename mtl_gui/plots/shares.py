"""Each task's share of the weighted total loss, stacked to 1: who drives the shared update.

A stack shows one run's tasks. With several runs shown, a run picker above the plot says whose
(the newest shown run until the user picks another), and so does the title, which exports keep;
the stack stays coloured by task, as its legend says. (Small multiples, one stack per run, would
give each of seven runs a seventh of a quarter of the window: too small to read a share.)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ..run_entry import RunEntry, no_points_text
from ..smoothing import SmoothedSeries
from .base import (
    STEADY_AXIS,
    X_LABELS,
    PlotOptions,
    SharedX,
    SingleView,
    fit_title,
    run_title,
    set_label,
    step_x,
    wrap_label,
    x_span,
)
from .budget import TimedPlotWidget
from .export_ui import add_export_action
from .legend import LegendRow
from .style import pen, task_color

MAX_POINTS = 2000  # shares are smooth; bin means keep the fills cheap at any run length


def bin_means(a: np.ndarray, bins: int) -> np.ndarray:
    """Mean of `a` over `bins` nearly equal consecutive chunks (a itself if it is short)."""
    if a.size <= bins:
        return a
    edges = np.linspace(0, a.size, bins + 1).astype(np.int64)
    sums = np.add.reduceat(a, edges[:-1])
    return sums / np.diff(edges)


def binned(a: np.ndarray, bins: int) -> np.ndarray:
    """`bin_means` plus the last value itself, so a binned curve ends where its data ends (the
    other plots' curves do), not half a bin short of it."""
    if a.size <= bins:
        return a
    return np.append(bin_means(a, bins), a[-1])


def shares(weighted: list[np.ndarray]) -> np.ndarray:
    """T x N fractions |w_i L_i| / sum_j |w_j L_j| (rows sum to 1 where the total is > 0)."""
    mags = np.abs(np.vstack(weighted))
    total = mags.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, mags / total, np.nan)


class SharePlot(SingleView, QWidget):
    title = "Share of the weighted loss (stacked)"

    def __init__(self, options: PlotOptions, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.options = options
        self.widget = TimedPlotWidget(self)
        self.plot = self.widget.getPlotItem()
        self.export_action = add_export_action(self)  # right-click: Export plot…
        self.plot.setTitle(self.title)
        fit_title(self.plot)
        self.plot.setLabel("left", "share of total")
        for axis in ("left", "bottom"):
            self.plot.getAxis(axis).enableAutoSIPrefix(False)
            self.plot.getAxis(axis).setStyle(maxTickLevel=0, **STEADY_AXIS)  # see CurvePlot
        self.plot.setYRange(0, 1, padding=0.02)
        self.plot.setMouseEnabled(x=True, y=False)
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.legend = LegendRow(self.plot)
        self.shared_x = SharedX(self.plot)
        self.note = QLabel(" ", self)
        self.note.setStyleSheet("font-size: 9pt;")
        self.note.setProperty("tone", "hint")  # coloured by the theme (style.py)
        wrap_label(self.note, 2)
        self.run_combo = QComboBox(self)
        self.run_combo.setToolTip("whose task shares the stack shows, of the shown runs")
        self.run_combo.activated.connect(self._picked)
        self.run_label = QLabel("shares of", self)
        self._picked_uid: int | None = None  # None: follow the newest shown run
        self._last: list[RunEntry] = []
        picker = QHBoxLayout()
        picker.setContentsMargins(4, 0, 4, 0)
        picker.addWidget(self.run_label)
        picker.addWidget(self.run_combo, 1)
        self.picker = picker
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addLayout(picker)
        lay.addWidget(self.widget, 1)
        lay.addWidget(self.note)
        self._show_picker(False)
        self._stamp: tuple[Any, ...] = ()
        self._smoothers: dict[str, SmoothedSeries] = {}
        self.last_shares = np.empty((0, 0))
        self._layout: tuple[object, ...] = ()
        self._edges: list[pg.PlotDataItem] = []

    def _show_picker(self, on: bool) -> None:
        self.run_combo.setVisible(on)
        self.run_label.setVisible(on)

    def _picked(self, index: int) -> None:
        self._picked_uid = self.run_combo.itemData(index)
        self.refresh(self._last, True)

    def pick(self, runs: list[RunEntry]) -> RunEntry | None:
        """The run whose shares are drawn: the user's pick while it is shown, else the newest
        shown run; the picker lists the shown runs."""
        self._last = list(runs)
        uids = [r.uid for r in runs]
        have = [self.run_combo.itemData(i) for i in range(self.run_combo.count())]
        labels = [self.run_combo.itemText(i) for i in range(self.run_combo.count())]
        want = [run_title(r) for r in runs]
        if have != uids or labels != want:
            self.run_combo.clear()
            for r, text in zip(runs, want):
                self.run_combo.addItem(text, r.uid)
        self._show_picker(len(runs) > 1)
        if self._picked_uid not in uids:
            self._picked_uid = None
        entry = next((r for r in runs if r.uid == self._picked_uid), runs[-1] if runs else None)
        if entry is not None:
            self.run_combo.setCurrentIndex(uids.index(entry.uid))
        title = f"{self.title}: {entry.label}" if entry is not None and len(runs) > 1 else (
            self.title)
        if self.plot.titleLabel.text != title:
            self.plot.setTitle(title)
        return entry

    def refresh(self, runs: list[RunEntry], force: bool = False) -> bool:
        entry = self.pick(runs)
        # Every shown run's version: the shares are one run's, the x range is all of theirs.
        stamp = (tuple((r.uid, r.history.version) for r in runs), self.options.key(),
                 entry.uid if entry is not None else None)
        if stamp == self._stamp and not force:
            return False
        self._stamp = stamp
        set_label(self.plot, "bottom", X_LABELS[self.options.x_mode])
        self.shared_x.apply(runs, self.options.x_mode)  # the x range of every other plot
        if entry is None or not entry.history.n_steps:
            self._build(None, [])
            self.note.setText("each task's share of the weighted loss appears here during a run"
                              if entry is None else no_points_text(entry))
            if x_span(runs, self.options.x_mode) is None:  # no earlier run's x range stays
                self.shared_x.span = None
                self.plot.getViewBox().setXRange(0.0, 1.0, padding=0.0)
            return True
        history, weight = entry.history, self.options.smoothing
        if self._layout != (entry.uid, tuple(history.tasks)):
            self._build(entry.uid, history.tasks)
        series = []
        for task in history.tasks:
            ys = history.weighted[task].view
            if weight > 0:
                smoother = self._smoothers.setdefault(f"{entry.uid}/{task}", SmoothedSeries())
                ys = smoother.update(ys, weight)
            series.append(binned(np.abs(ys), MAX_POINTS))
        xs = binned(step_x(entry, self.options.x_mode), MAX_POINTS)
        frac = shares(series)
        self.last_shares = frac
        top = np.cumsum(np.nan_to_num(frac), axis=0)
        for index, edge in enumerate(self._edges):
            edge.setData(xs, top[index])
        # Largest share first: with many tasks the line wraps and its end may be cut off.
        order = sorted((k for k in range(len(history.tasks)) if np.isfinite(frac[k, -1])),
                       key=lambda k: -frac[k, -1])
        last = ", ".join(f"{history.tasks[k]} {frac[k, -1]:.0%}" for k in order)
        note = f"{entry.label}, latest: {last}"
        if self.note.text() != note:  # (a label's new text re-lays its column out)
            self.note.setText(note)
            self.note.setToolTip(note)
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
            edge = self.plot.plot([], [], pen=pen(k, 1.0), fillLevel=0.0,
                                  brush=pg.mkBrush(fill))
            edge.setZValue(-k)  # later (taller) edges lie under the earlier ones
            self.legend.addItem(edge, t)
            self._edges.append(edge)
