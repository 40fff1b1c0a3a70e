"""The per-task line plots: training/validation loss, validation metrics, task weights."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QWidget

from ..run_entry import RunEntry
from .base import Curve, CurvePlot, PlotOptions, epoch_x, run_prefix, step_x


class LossPlot(CurvePlot):
    """Per-task training loss every logged step (smoothed) and validation loss every epoch."""

    title = "Loss per task (train, and validation dashed)"
    y_label = "loss"

    def curves(self, entry: RunEntry, slot: int, many: bool) -> list[Curve]:
        h, mode, pre = entry.history, self.options.x_mode, run_prefix(entry, many)
        xs, xe = step_x(entry, mode), epoch_x(entry, mode)
        out = []
        for k, t in enumerate(h.tasks):
            out.append(Curve(f"{entry.uid}/train/{t}", f"{pre}{t} train", xs, h.loss[t].view, k,
                             slot, smooth=True))
            out.append(Curve(f"{entry.uid}/val/{t}", f"{pre}{t} val", xe, h.val_loss[t].view, k,
                             slot, symbol="o", dash=Qt.PenStyle.DashLine))
        return out


class WeightPlot(CurvePlot):
    """The weight each task's loss received, as the strategy reported it."""

    title = "Task weights"
    y_label = "weight"

    def curves(self, entry: RunEntry, slot: int, many: bool) -> list[Curve]:
        h, pre = entry.history, run_prefix(entry, many)
        x = step_x(entry, self.options.x_mode)
        return [Curve(f"{entry.uid}/w/{t}", f"{pre}{t}", x, h.weight[t].view, k, slot,
                      smooth=True) for k, t in enumerate(h.tasks)]


HEADLINE = "headline metric"


class MetricPlot(CurvePlot):
    """Validation metrics per epoch; the headline metric of each task unless one is picked."""

    title = "Validation metric per task"
    y_label = "metric"
    supports_log = False
    legend_offset = (-10, -10)  # bottom right: metrics climb towards the top

    def __init__(self, options: PlotOptions, parent: QWidget | None = None) -> None:
        super().__init__(options, parent)
        self.metric_combo = QComboBox(self)
        self.metric_combo.addItem(HEADLINE)
        self.metric_combo.setToolTip("which validation metric to draw")
        self.metric_combo.currentTextChanged.connect(lambda _: self.refresh(self._last, True))
        self._last: list[RunEntry] = []

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
            out.append(Curve(f"{entry.uid}/m/{t}/{metric}", f"{pre}{t} {metric}", x[: y.size],
                             y, k, slot, symbol="o"))
        return out

