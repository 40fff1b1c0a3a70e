"""Curves per variant: the mean over seeds of a task's validation headline metric and of its
training loss per epoch, each with a ±1 std band (pyqtgraph's FillBetweenItem)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ..plots.style import THEMES, restyle
from .bands import Band, EpochSeries, band
from .colors import VariantLegend, variant_color

BAND_ALPHA = 50
EPOCH_TICKS = 12  # up to this many epochs the x axis ticks every epoch


class CurvesView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = "light"
        self.variants: list[tuple[str, str]] = []  # (variant, baseline task or "")
        self.series: dict[str, list[EpochSeries]] = {}
        self.headline: dict[str, tuple[str, bool]] = {}
        self.bands: dict[tuple[str, str], Band] = {}  # (plot key, variant) -> drawn band
        self._curves: dict[tuple[int, int], _Curve] = {}  # (plot, variant index) -> its items
        self.task_box = QComboBox(self)
        self.task_box.setToolTip("the task whose curves are shown")
        self.task_box.currentIndexChanged.connect(lambda _: self.redraw())
        self.val_plot = pg.PlotWidget(self)
        self.loss_plot = pg.PlotWidget(self)
        for p in (self.val_plot, self.loss_plot):
            p.showGrid(x=True, y=True, alpha=0.2)
            p.setMenuEnabled(False)
            for axis in ("left", "bottom"):  # values as reported, not rescaled as "x0.001"
                p.getPlotItem().getAxis(axis).enableAutoSIPrefix(False)
        self.legend = VariantLegend(self)
        self.legend.visibility_changed.connect(self.redraw)
        hint = QLabel("Lines: the mean over seeds; bands: \u00b11 std. Dashed: a single-task "
                      "baseline.", self)
        hint.setProperty("tone", "hint")
        hint.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(QLabel("task:", self))
        top.addWidget(self.task_box)
        top.addStretch(1)
        body = QHBoxLayout()
        body.addWidget(self.val_plot, 1)
        body.addWidget(self.loss_plot, 1)
        body.addWidget(self.legend)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(top)
        lay.addLayout(body, 1)
        lay.addWidget(hint)

    def set_series(self, variants: list[tuple[str, str]], series: dict[str, list[EpochSeries]],
                   tasks: tuple[str, ...], headline: dict[str, tuple[str, bool]]) -> None:
        if variants != self.variants:
            self._forget_curves()
        self.variants, self.series, self.headline = variants, series, dict(headline)
        current = self.task_box.currentText()
        self.task_box.blockSignals(True)
        self.task_box.clear()
        self.task_box.addItems([t for t in tasks if t in headline])
        if current in headline:
            self.task_box.setCurrentText(current)
        self.task_box.blockSignals(False)
        self.legend.set_variants([(v, variant_color(i), bool(b))
                                  for i, (v, b) in enumerate(variants)])
        self.redraw()

    def set_theme(self, name: str) -> None:
        self.theme = name
        for p in (self.val_plot, self.loss_plot):
            restyle(p, name)
        self.redraw()

    def redraw(self) -> None:
        """Update the curves in place: each (plot, variant) keeps its items, so a live redraw
        once an epoch ends costs a few setData calls, not a rebuilt scene."""
        self.bands = {}
        task = self.task_box.currentText()
        fg = THEMES[self.theme]["foreground"]
        if not task:
            for c in self._curves.values():
                c.hide()
            return
        metric, higher = self.headline[task]
        keys = ((self.val_plot, f"val/{task}/{metric}",
                 f"validation {metric} ({'higher' if higher else 'lower'} is better)"),
                (self.loss_plot, f"train_loss/{task}", "training loss"))
        hidden = self.legend.hidden()
        drawn: set[tuple[int, int]] = set()
        for n, (plot, key, title) in enumerate(keys):
            item = plot.getPlotItem()
            item.setLabel("left", title, color=fg)
            item.setLabel("bottom", "epoch", color=fg)
            for i, (variant, baseline) in enumerate(self.variants):
                if variant in hidden or (baseline and baseline != task):
                    continue
                b = band(self.series.get(variant, []), key)
                if b is None:
                    continue
                self.bands[(key, variant)] = b
                curve = self._curves.get((n, i))
                if curve is None:
                    curve = self._curves[(n, i)] = _Curve(item, i, bool(baseline), variant)
                curve.show(b)
                drawn.add((n, i))
        for k, c in self._curves.items():
            if k not in drawn:
                c.hide()
        last = max((int(b.epochs[-1]) for b in self.bands.values() if len(b.epochs)), default=0)
        for plot, _, _ in keys:
            item = plot.getPlotItem()
            axis = item.getAxis("bottom")
            if 0 < last <= EPOCH_TICKS:  # whole epochs only; one epoch is not a range of x
                axis.setTickSpacing(major=1.0, minor=1.0)
                item.setXRange(0.5, last + 0.5, padding=0)
            else:
                axis.setTickSpacing()
                item.enableAutoRange(x=True)

    def _forget_curves(self) -> None:
        """Another study (or another list of variants): the kept items belong to the old one."""
        for p in (self.val_plot, self.loss_plot):
            p.getPlotItem().clear()
        self._curves = {}


class _Curve:
    """One variant's curve in one plot: the mean line, the ±1 std band (two invisible edge
    curves and the fill between them) and, for one or two epochs, error bars."""

    def __init__(self, item: Any, index: int, baseline: bool, variant: str) -> None:
        color = variant_color(index)
        style = Qt.PenStyle.DashLine if baseline else Qt.PenStyle.SolidLine
        self.mean = pg.PlotDataItem(pen=pg.mkPen(color, width=2, style=style), symbolSize=7,
                                    symbolBrush=color, symbolPen=color)
        self.mean.setToolTip(variant)
        self.lo = pg.PlotDataItem(pen=pg.mkPen(None))
        self.hi = pg.PlotDataItem(pen=pg.mkPen(None))
        fill = QColor(color)
        fill.setAlpha(BAND_ALPHA)
        self.fill = pg.FillBetweenItem(self.lo, self.hi, brush=pg.mkBrush(fill))
        self.err = pg.ErrorBarItem(x=np.zeros(1), y=np.zeros(1), height=np.zeros(1), beam=0.02,
                                   pen=pg.mkPen(color, width=1.5))
        for it in (self.lo, self.hi, self.fill, self.err, self.mean):
            item.addItem(it)

    def show(self, b: Band) -> None:
        few = len(b.epochs) < 3  # one or two epochs: a line alone would hardly show
        self.mean.setData(b.epochs, b.mean, symbol="o" if few else None)
        self.lo.setData(b.epochs, b.mean - b.std)
        self.hi.setData(b.epochs, b.mean + b.std)
        wide = len(b.epochs) > 1  # a fill of one epoch has no width, and pulls the range to 0
        for it in (self.lo, self.hi, self.fill):
            it.setVisible(wide)
        if few:  # the spread as error bars where a band would hardly show
            self.err.setData(x=b.epochs, y=b.mean, height=2 * b.std)
        self.err.setVisible(few)
        self.mean.setVisible(True)

    def hide(self) -> None:
        for it in (self.lo, self.hi, self.fill, self.err, self.mean):
            it.setVisible(False)
