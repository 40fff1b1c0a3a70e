"""The per-task line plots: training/validation loss, validation metrics, task weights."""

from __future__ import annotations

from functools import cache
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QWidget

import mtl_engine

from ..run_entry import RunEntry
from .base import (
    STEADY_AXIS,
    Curve,
    CurvePlot,
    PlotOptions,
    epoch_x,
    run_prefix,
    set_label,
    show_axis,
    step_x,
)
from .style import pen


class LossPlot(CurvePlot):
    """Per-task training loss every logged step (smoothed) and validation loss every epoch."""

    title = "Loss per task (train, and validation dashed)"
    compare_title = "Loss"
    y_label = "loss"

    def curves(self, entry: RunEntry, slot: int, many: bool) -> list[Curve]:
        h, mode, pre = entry.history, self.options.x_mode, run_prefix(entry, many)
        xs, xe = step_x(entry, mode), epoch_x(entry, mode)
        out = []
        for k, t in enumerate(h.tasks):
            out.append(Curve(f"{entry.uid}/train/{t}", f"{pre}{t} train", xs, h.loss[t].view, k,
                             slot, smooth=True, extra={"legend_name": f"{pre}{t}"}, task=t,
                             split="train"))
            # One legend entry per task: the title says dashed lines are validation.
            out.append(Curve(f"{entry.uid}/val/{t}", f"{pre}{t} val", xe, h.val_loss[t].view, k,
                             slot, symbol="o", dash=Qt.PenStyle.DashLine, legend=False, task=t,
                             split="val"))
        return out


class WeightPlot(CurvePlot):
    """The weight each task's loss received, as the strategy reported it."""

    title = "Task weights"
    compare_title = "Task weight"
    y_label = "weight"

    def curves(self, entry: RunEntry, slot: int, many: bool) -> list[Curve]:
        h, pre = entry.history, run_prefix(entry, many)
        x = step_x(entry, self.options.x_mode)
        return [Curve(f"{entry.uid}/w/{t}", f"{pre}{t}", x, h.weight[t].view, k, slot,
                      smooth=True, task=t, split="train") for k, t in enumerate(h.tasks)]


HEADLINE = "headline metric"
UP, DOWN = "\u2191", "\u2193"


@cache
def _registry_direction(metric: str) -> bool:
    """Whether the engine's metric registry says higher is better (True for names it lacks)."""
    registry = mtl_engine.registries()["metrics"]
    if metric not in registry:
        return True
    return bool(registry.get(metric).meta.get("higher_is_better", True))


def higher_is_better(entry: RunEntry, task: str, metric: str) -> bool:
    info = entry.history.task_info.get(task)
    if info is not None and info.metric == metric:  # the run said so for its headline metric
        return bool(info.higher_is_better)
    return _registry_direction(metric)


def _axis_label(metrics: list[str], higher: bool) -> str:
    # No arrow here: DejaVu's arrows are drawn narrow in a wide advance, which read as a stray
    # space ("accuracy ( ↑ higher..."), and on the rotated left axis an up arrow points left.
    # The legend marks each curve's direction with the arrows when both kinds are shown.
    names = ", ".join(metrics) if len(metrics) <= 3 else f"{len(metrics)} metrics"
    return f"{names} (higher is better)" if higher else f"{names} (lower is better)"


class MetricPlot(CurvePlot):
    """Validation metrics per epoch; the headline metric of each task unless one is picked.

    Metrics where higher is better (accuracy) and where lower is better (error, MAE) never share
    an unlabelled axis: when both kinds are shown, the lower-is-better ones move to a second
    view box with its own y axis on the right (square markers), and each axis names its metrics
    and their direction. The directions come from the run's task records and, for metrics that
    are not a task's headline, from the engine's metric registry."""

    title = "Validation metric per task"
    compare_title = "Validation metric"
    y_label = "metric"

    def __init__(self, options: PlotOptions, parent: QWidget | None = None) -> None:
        super().__init__(options, parent)
        self.metric_combo = QComboBox(self)
        self.metric_combo.addItem(HEADLINE)
        self.metric_combo.setToolTip("which validation metric to draw")
        self.metric_combo.currentTextChanged.connect(lambda _: self.refresh(self._last, True))
        self._last: list[RunEntry] = []
        # The lower-is-better view box: a child of the PlotItem (so exports of the plot take it
        # along) laid over the main view box, x linked to it, y on the right axis.
        self.low_vb = pg.ViewBox()
        self.low_vb.setParentItem(self.plot)
        self.low_vb.setXLink(self.plot.getViewBox())
        self.low_vb.setVisible(False)
        self.low_vb.setMouseEnabled(x=True, y=True)
        self.low_vb.sigRangeChangedManually.connect(self.shared_x._by_user)
        self.plot.getAxis("right").linkToView(self.low_vb)
        self.plot.getAxis("right").enableAutoSIPrefix(False)
        self.plot.getAxis("right").setStyle(maxTickLevel=0, **STEADY_AXIS)
        self.plot.getViewBox().sigResized.connect(self._sync_low_vb)
        self._low_items: set[int] = set()
        self.directions: dict[str, bool] = {}  # curve key -> higher is better

    def controls(self) -> list[tuple[str, QWidget]]:
        return [("metric", self.metric_combo)]

    def _sync_low_vb(self, *_: Any) -> None:
        self.low_vb.setGeometry(self.plot.getViewBox().geometry())

    def extra_stamp(self) -> tuple[Any, ...]:
        return (self.metric_combo.currentText(),)

    def refresh(self, runs: list[RunEntry], force: bool = False) -> bool:
        self._last = list(runs)
        names = [HEADLINE] + sorted({m for r in runs for m in r.history.metric_names()})
        have = [self.metric_combo.itemText(i) for i in range(self.metric_combo.count())]
        if names != have:
            current = self.metric_combo.currentText()
            self.metric_combo.blockSignals(True)
            self.metric_combo.clear()
            self.metric_combo.addItems(names)
            self.metric_combo.setCurrentText(current if current in names else HEADLINE)
            self.metric_combo.blockSignals(False)
        return super().refresh(runs, force)

    def curves(self, entry: RunEntry, slot: int, many: bool) -> list[Curve]:
        h, pre = entry.history, run_prefix(entry, many)
        x = epoch_x(entry, self.options.x_mode)
        chosen = self.metric_combo.currentText()
        out = []
        for k, t in enumerate(h.tasks):
            metric = h.headline(t) if chosen == HEADLINE else chosen
            buf = h.val_metrics.get(t, {}).get(metric)
            if buf is None:
                continue
            y = buf.view
            up = higher_is_better(entry, t, metric)
            out.append(Curve(f"{entry.uid}/m/{t}/{metric}", f"{pre}{t} {metric}", x[: y.size],
                             y, k, slot, symbol="o",
                             extra={"higher": up, "metric": metric}, task=t, split="val"))
        return out

    def _draw(self, curves: list[Curve]) -> None:
        ups = {c.extra["higher"] for c in curves}
        mixed = len(ups) == 2
        for curve in curves:
            if mixed and not curve.extra["higher"]:
                curve.key += "/right"  # another view box: another item
                curve.symbol = "s"
                curve.name += f" {DOWN}"
                curve.extra["right"] = True
            elif mixed:
                curve.name += f" {UP}"
        compare = any(c.extra.get("compare") for c in curves)  # the legend names the runs
        if len({c.extra["metric"] for c in curves}) == 1 and not compare:  # the axis names it
            for curve in curves:
                metric = curve.extra["metric"]
                curve.extra["legend_name"] = curve.name[: -len(metric) - 1].rstrip()
        super()._draw(curves)
        left = [c for c in curves if not c.extra.get("right")]
        right = [c for c in curves if c.extra.get("right")]
        self.directions = {c.key: bool(c.extra["higher"]) for c in curves}
        if left:
            metrics = sorted({c.extra["metric"] for c in left})
            set_label(self.plot, "left", _axis_label(metrics, bool(left[0].extra["higher"])))
        else:
            set_label(self.plot, "left", self.y_label)
        if self.low_vb.isVisible() != bool(right):
            self.low_vb.setVisible(bool(right))
        show_axis(self.plot, "right", bool(right))
        if right:
            self._sync_low_vb()
            set_label(self.plot, "right", _axis_label(sorted({c.extra["metric"] for c in right}),
                                                      False))

    def _new_item(self, c: Curve) -> pg.PlotDataItem:
        if not c.extra.get("right"):
            return super()._new_item(c)
        p = pen(self._color(c), 2.0, 255, c.dash)
        name = c.extra.get("legend_name", c.name) if c.legend else None
        item = pg.PlotDataItem(pen=p, symbol=c.symbol, symbolSize=6, symbolPen=p,
                               symbolBrush=p.color(), name=name)
        item.setLogMode(False, self._log)  # not the PlotItem's: its log switch never reaches it
        self.low_vb.addItem(item)
        if name is not None:
            self.legend.addItem(item, name)
        self._low_items.add(id(item))
        self._items[c.key] = item
        return item

    def _set_log(self, log: bool) -> None:
        super()._set_log(log)  # the main view box's items and every axis, the right one too
        for item in self.low_vb.addedItems:
            if isinstance(item, pg.PlotDataItem):
                item.setLogMode(False, log)
        self.low_vb.enableAutoRange(y=True)

    def _remove_item(self, item: pg.PlotDataItem) -> None:
        if id(item) in self._low_items:
            self._low_items.discard(id(item))
            self.low_vb.removeItem(item)
            self.legend.removeItem(item)
        else:
            super()._remove_item(item)

    def _y_groups(self) -> list[tuple[pg.ViewBox, list[Curve]]]:
        left = [c for c in self._shown if not c.extra.get("right")]
        right = [c for c in self._shown if c.extra.get("right")]
        groups = [(self.plot.getViewBox(), left)]
        if right:
            groups.append((self.low_vb, right))
        return groups
