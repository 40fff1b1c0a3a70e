"""The toy playground widget: loss contours, the Pareto set and live trajectories from five starts.

Left, the controls: a strategy picker built from the registry (only strategies the toy can
drive), the strategy's parameter form (the same schema-driven form as the main window), the
optimiser settings and Run / Stop. Right, the plane: the mean loss as a colour map with contour
lines of each loss, the Pareto set in black, and one trajectory per start growing as the worker
thread sends chunks. Everything drawn is plain numpy from `mtl_engine.toy`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from mtl_engine import STRATEGIES, toy, validate_params
from mtl_engine.errors import ConfigError

from ..plots.style import TASK_COLORS, restyle, set_tone
from ..widgets.param_form import ParamForm
from .runner import ToyRunner

# A strategy's paper may scale L1 on this toy or change parameters for it (Nash-MTL and FAMO scale
# L1 by 0.1, FAMO turns its weight decay off): each entry says so itself, in its facts
# `toy_scale_l1` and `toy_params`, which picking it applies.
# "fast" covers in seconds the ground the published runs cover in minutes (tests/engine/
# test_toy2d.py explains why beta2 = 0.99); "published" is the papers' setting.
PRESETS = {
    "fast": {"lr": 6e-3, "steps": 12_000, "beta2": 0.99},
    "published": {"lr": 1e-3, "steps": 35_000, "beta2": 0.999},
}
START_NAMES = tuple(f"({x:g}, {y:g})" for x, y in toy.STARTS)


class ToyPlayground(QWidget):
    """Pick a strategy, press Run, watch the five trajectories. `run_finished` when one ends."""

    run_finished = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner: ToyRunner | None = None
        self.paths: list[list[np.ndarray]] = [[] for _ in toy.STARTS]
        self.last: np.ndarray | None = None
        self.last_step = 0
        self.error = ""
        controls = self._controls()
        self.plot = self._plane()
        lay = QHBoxLayout(self)
        lay.addWidget(controls)
        lay.addWidget(self.plot, 1)
        self.select(self.combo.itemData(0))
        self.apply_preset("fast")

    # ------------------------------------------------------------------ building
    def _controls(self) -> QWidget:
        box = QWidget(self)
        box.setFixedWidth(340)
        column = QVBoxLayout(box)
        self.combo = QComboBox(box)
        for name in toy.toy_strategies():
            entry = STRATEGIES.get(name)
            self.combo.addItem(f"{name}  ({entry.meta.get('family', '')})", name)
            self.combo.setItemData(self.combo.count() - 1, entry.summary,
                                   Qt.ItemDataRole.ToolTipRole)
        self.combo.setToolTip("the strategy that combines the two toy losses; only those the toy "
                              "can drive (no model outputs needed) are listed")
        self.combo.currentIndexChanged.connect(lambda _: self._strategy_changed())
        self.summary = QLabel(box)
        self.summary.setWordWrap(True)
        self.form = ParamForm((), box)
        column.addWidget(QLabel("<b>Strategy</b>", box))
        column.addWidget(self.combo)
        column.addWidget(self.summary)
        column.addWidget(self.form)
        column.addWidget(self._settings_box(box))
        buttons = QHBoxLayout()
        self.run_button = QPushButton("Run", box)
        self.run_button.setToolTip("optimise from the five starts with the chosen strategy and "
                                   "draw the trajectories as they grow")
        self.stop_button = QPushButton("Stop", box)
        self.stop_button.setToolTip("stop the run; the trajectories so far stay drawn")
        self.stop_button.setEnabled(False)
        self.run_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.stop_button)
        column.addLayout(buttons)
        self.status = QLabel("Ready.", box)
        self.status.setTextFormat(Qt.TextFormat.PlainText)  # messages may hold "<"
        self.status.setWordWrap(True)
        self.ends = QLabel(box)
        self.ends.setTextFormat(Qt.TextFormat.RichText)
        column.addWidget(self.status)
        column.addWidget(self.ends)
        column.addStretch(1)
        return box

    def _settings_box(self, parent: QWidget) -> QGroupBox:
        group = QGroupBox("Adam from the five standard starts", parent)
        rows = QFormLayout(group)
        self.lr = QDoubleSpinBox(group)
        self.lr.setDecimals(4)
        self.lr.setRange(1e-4, 0.1)
        self.lr.setSingleStep(1e-3)
        self.lr.setToolTip("Adam's learning rate")
        self.steps = QSpinBox(group)
        self.steps.setRange(100, 200_000)
        self.steps.setSingleStep(1000)
        self.steps.setToolTip("optimiser steps from each start")
        self.beta2 = QDoubleSpinBox(group)
        self.beta2.setDecimals(4)
        self.beta2.setRange(0.9, 0.9999)
        self.beta2.setSingleStep(0.001)
        self.beta2.setToolTip("Adam's second-moment decay (beta1 is 0.9)")
        self.scale = QDoubleSpinBox(group)
        self.scale.setDecimals(3)
        self.scale.setRange(0.001, 10.0)
        self.scale.setSingleStep(0.1)
        self.scale.setToolTip("factor on the first loss L1; picking a strategy sets its paper's "
                              "(0.1 for Nash-MTL and FAMO, 1 for the others)")
        rows.addRow("learning rate", self.lr)
        rows.addRow("steps", self.steps)
        rows.addRow("Adam beta2", self.beta2)
        rows.addRow("L1 scale", self.scale)
        row = QHBoxLayout()
        for name in PRESETS:
            button = QPushButton(name, group)
            button.setToolTip(f"{name} settings: "
                              + ", ".join(f"{k} {v:g}" for k, v in PRESETS[name].items()))
            button.clicked.connect(lambda _=False, n=name: self.apply_preset(n))
            row.addWidget(button)
        rows.addRow("settings", row)
        return group

    def _plane(self) -> pg.PlotWidget:
        plane = pg.PlotWidget(self)
        plane.setAspectLocked(True)
        plane.setLabel("bottom", "x1")
        plane.setLabel("left", "x2")
        plane.setTitle("mean loss (colour), contours of L1 (white) and L2 (orange), Pareto set "
                       "(black)", size="9pt")
        land = toy.landscape(n=160)
        mean = (land.l1 + land.l2) / 2
        image = pg.ImageItem(mean, axisOrder="col-major")
        image.setColorMap(pg.colormap.get("viridis"))
        lim = float(land.x1[-1])
        image.setRect(QRectF(-lim, -lim, 2 * lim, 2 * lim))
        image.setOpacity(0.55)
        plane.addItem(image)
        for data, color in ((land.l1, "#ffffff"), (land.l2, "#ff9e4a")):
            for level in np.quantile(data, np.linspace(0.08, 0.92, 8)):
                iso = pg.IsocurveItem(data, float(level), pen=pg.mkPen(color, width=1),
                                      axisOrder="col-major")
                iso.setParentItem(image)  # grid indices -> plane coordinates via the image
        plane.plot(land.pareto[:, 0], land.pareto[:, 1], pen=pg.mkPen("k", width=5))
        starts = np.array(toy.STARTS)
        plane.addItem(pg.ScatterPlotItem(starts[:, 0], starts[:, 1], size=11, symbol="o",
                                         brush=pg.mkBrush("w"), pen=pg.mkPen("k")))
        self.curves = [plane.plot(pen=pg.mkPen(TASK_COLORS[i], width=2.5))
                       for i in range(len(starts))]
        self.heads = pg.ScatterPlotItem(size=10, symbol="x", pen=pg.mkPen("k", width=2))
        plane.addItem(self.heads)
        plane.setRange(xRange=(-lim, lim), yRange=(-lim, lim))
        return plane

    def set_theme(self, name: str) -> None:
        """Recolour the plane's background, axes and title for the app's new theme."""
        restyle(self.plot, name)

    # ------------------------------------------------------------------ state
    @property
    def strategy(self) -> str:
        return str(self.combo.currentData())

    def select(self, name: str) -> None:
        index = self.combo.findData(name)
        if index < 0:
            self.status.setText(f"The toy cannot run {name!r}; choose one of the list.")
            return
        self.combo.setCurrentIndex(index)
        self._strategy_changed()

    def _strategy_changed(self) -> None:
        entry = STRATEGIES.get(self.strategy)
        self.form.set_schema(entry.params)
        self.form.set_values(dict(entry.meta["toy_params"]))
        self.summary.setText(f"{entry.summary}<br><i>{entry.paper}</i>")
        self.scale.setValue(float(entry.meta["toy_scale_l1"]))

    def apply_preset(self, name: str) -> None:
        p = PRESETS[name]
        self.lr.setValue(p["lr"])
        self.steps.setValue(int(p["steps"]))
        self.beta2.setValue(p["beta2"])

    def settings(self) -> dict[str, Any]:
        return {"lr": self.lr.value(), "steps": self.steps.value(),
                "betas": (0.9, self.beta2.value()),
                "scale_l1": self.scale.value(), "record_every": 10}

    @property
    def running(self) -> bool:
        return self.runner is not None and self.runner.isRunning()

    # ------------------------------------------------------------------ running
    def start(self) -> None:
        if self.running:
            return
        entry = STRATEGIES.get(self.strategy)
        try:
            params = validate_params(entry.params, self.form.values(), "strategy.params")
        except ConfigError as exc:
            self._show_error(str(exc))
            return
        self.paths = [[] for _ in toy.STARTS]
        self.last, self.last_step, self.error = None, 0, ""
        for curve in self.curves:
            curve.setData([], [])
        self.heads.setData([], [])
        self.ends.setText("")
        set_tone(self.status, "")
        self.status.setText(f"Running {self.strategy}...")
        self.runner = ToyRunner(self.strategy, params, self.settings())
        self.runner.chunk_ready.connect(self._chunk)
        self.runner.failed.connect(self._show_error)
        self.runner.finished.connect(self._finished)
        self.run_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.runner.start()

    def stop(self) -> None:
        if self.runner is not None:
            self.runner.stop()

    def _chunk(self, chunk: toy.ToyChunk) -> None:
        for i, path in enumerate(self.paths):
            path.append(chunk.points[:, i, :])
            xy = np.concatenate(path)
            self.curves[i].setData(xy[:, 0], xy[:, 1])
        self.last, self.last_step = chunk.points[-1], int(chunk.steps[-1])
        self.heads.setData(self.last[:, 0], self.last[:, 1])
        self.status.setText(f"{self.strategy}: step {self.last_step} of {self.steps.value()}")

    def _show_error(self, message: str) -> None:
        self.error = message
        set_tone(self.status, "error")  # the theme's error colour, readable in light and dark
        self.status.setText(message)

    def _finished(self) -> None:
        self.run_button.setEnabled(True)
        self.stop_button.setEnabled(False)
        if self.last is not None:
            rows = []
            for name, point in zip(START_NAMES, self.last):
                mark = ("on the Pareto set" if toy.on_pareto_set(point) else "not on it")
                rows.append(f"{name} &rarr; ({point[0]:.2f}, {point[1]:.2f}): {mark}")
            self.ends.setText("<br>".join(rows))
            if not self.error:
                done = self.last_step >= self.steps.value()
                self.status.setText(f"{self.strategy}: {'done' if done else 'stopped'} at step "
                                    f"{self.last_step}.")
        self.run_finished.emit()

    def closeEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        self.stop()
        super().closeEvent(event)
