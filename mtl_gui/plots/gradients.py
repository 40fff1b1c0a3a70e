"""Gradient diagnostics: which tasks pull the shared parameters apart.

Fed by GradientsMeasured events: a heat map of the latest pairwise cosine matrix (red = conflict),
cosine curves per task pair with a marker wherever a pair turns negative, and per-task gradient
norms (a task with a much larger norm dominates an unweighted sum).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSplitter, QVBoxLayout, QWidget

from ..run_entry import RunEntry
from .base import Curve, CurvePlot, PlotOptions, run_prefix
from .budget import TimedPlotWidget

NO_DATA = ("No gradient measurements in the shown run. Set training \u2192 diagnostics every N "
           "steps above 0, or pick a gradient-based strategy (MGDA, PCGrad, CAGrad...).")


def grad_x(entry: RunEntry, mode: str) -> np.ndarray:
    h = entry.history
    if mode == "epoch":
        return h.g_step.view / max(1, h.steps_per_epoch)
    if mode == "time":
        return h.g_wall.view
    return h.g_step.view.astype(np.float64)


def negative_turns(cos: np.ndarray) -> np.ndarray:
    """Indices where the cosine goes below 0 after being >= 0 (or starts below 0)."""
    neg = cos < 0
    prev = np.concatenate([[False], neg[:-1]])
    return np.flatnonzero(neg & ~prev)


class CosinePlot(CurvePlot):
    title = "Cosine between task gradients (markers: turned negative)"
    y_label = "cosine"
    supports_log = False

    def __init__(self, options: PlotOptions, parent: QWidget | None = None) -> None:
        super().__init__(options, parent)
        self.plot.addItem(pg.InfiniteLine(pos=0, angle=0, pen=pg.mkPen((200, 60, 60, 150))))
        self.markers = pg.ScatterPlotItem(size=9, symbol="t", pen=pg.mkPen("#b52b27"),
                                          brush=pg.mkBrush("#d9534f"))
        self.plot.addItem(self.markers)
        self.plot.setYRange(-1, 1, padding=0.05)

    def curves(self, entry: RunEntry, slot: int, many: bool) -> list[Curve]:
        h, pre = entry.history, run_prefix(entry, many)
        x = grad_x(entry, self.options.x_mode)
        return [Curve(f"{entry.uid}/cos/{i}-{j}", f"{pre}{h.tasks[i]}\u2013{h.tasks[j]}", x,
                      h.cosine_series(i, j), n, slot)
                for n, (i, j) in enumerate(h.cosine_pairs())]

    def refresh(self, runs: list[RunEntry], force: bool = False) -> bool:
        if not super().refresh(runs, force):
            return False
        xs, ys = [], []
        for c in self._shown:
            idx = negative_turns(c.y)
            xs.append(c.x[idx])
            ys.append(c.y[idx])
        self.markers.setData(np.concatenate(xs) if xs else [], np.concatenate(ys) if ys else [])
        return True


class NormPlot(CurvePlot):
    title = "Gradient norm per task"
    y_label = "norm"

    def curves(self, entry: RunEntry, slot: int, many: bool) -> list[Curve]:
        h, pre = entry.history, run_prefix(entry, many)
        x = grad_x(entry, self.options.x_mode)
        return [Curve(f"{entry.uid}/norm/{t}", f"{pre}{t}", x, h.g_norm[t].view, k, slot)
                for k, t in enumerate(h.tasks)]


class ConflictMap(QWidget):
    """The latest cosine matrix as a red (conflict) to blue (agreement) heat map."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.widget = TimedPlotWidget(self)
        self.plot = self.widget.getPlotItem()
        self.plot.setTitle("Gradient conflict (latest)")
        self.plot.setAspectLocked(True)
        self.plot.invertY(True)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.image = pg.ImageItem()
        self.image.setColorMap(_diverging())
        self.image.setLevels((-1, 1))
        self.plot.addItem(self.image)
        self.bar = pg.ColorBarItem(values=(-1, 1), colorMap=self.image.getColorMap(),
                                   interactive=False, width=12, label="cosine")
        self.bar.setImageItem(self.image, insert_in=self.plot)
        self._labels: list[pg.TextItem] = []
        self.caption = QLabel(" ", self)
        self.caption.setStyleSheet("color: palette(mid); font-size: 9pt;")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.widget, 1)
        lay.addWidget(self.caption)
        self.matrix = np.empty((0, 0))

    def show_matrix(self, tasks: list[str], matrix: np.ndarray, caption: str) -> None:
        self.matrix = matrix
        self.image.setImage(np.nan_to_num(matrix.T), levels=(-1, 1))
        for item in self._labels:
            self.plot.removeItem(item)
        self._labels = []
        n = len(tasks)
        for i in range(n):
            for j in range(n):
                text = pg.TextItem(f"{matrix[i, j]:.2f}", anchor=(0.5, 0.5),
                                   color="w" if abs(matrix[i, j]) > 0.6 else "k")
                text.setPos(j + 0.5, i + 0.5)
                self.plot.addItem(text)
                self._labels.append(text)
        ticks = [[(k + 0.5, t[:12]) for k, t in enumerate(tasks)]]
        self.plot.getAxis("bottom").setTicks(ticks)
        self.plot.getAxis("left").setTicks(ticks)
        self.plot.setRange(xRange=(0, n), yRange=(0, n), padding=0)
        self.caption.setText(caption)


def _diverging() -> pg.ColorMap:
    # Red for conflict (-1), white for orthogonal, blue for agreement (+1); built in, since
    # matplotlib's maps would need matplotlib.
    return pg.ColorMap([0.0, 0.5, 1.0], [(178, 24, 43), (247, 247, 247), (33, 102, 172)])


class GradientPanel(QWidget):
    def __init__(self, options: PlotOptions, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.heat = ConflictMap(self)
        self.cosine = CosinePlot(options, self)
        self.norms = NormPlot(options, self)
        self.hint = QLabel(NO_DATA, self)
        self.hint.setWordWrap(True)
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        right = QSplitter(Qt.Orientation.Vertical, self)
        right.addWidget(self.cosine)
        right.addWidget(self.norms)
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(self.heat)
        split.addWidget(right)
        split.setSizes([380, 700])
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        top.addWidget(self.hint)
        lay.addLayout(top)
        lay.addWidget(split, 1)
        self._version: tuple[int, int] | None = None

    def refresh(self, runs: list[RunEntry], force: bool = False) -> bool:
        drew = self.cosine.refresh(runs, force)
        self.norms.refresh(runs, force)
        entry = runs[-1] if runs else None
        has = bool(entry and entry.history.g_cosine)
        self.hint.setVisible(not has)
        if entry is not None and has:
            key = (entry.uid, len(entry.history.g_cosine))
            if key != self._version or force:
                self._version = key
                h = entry.history
                self.heat.show_matrix(h.tasks, h.g_cosine[-1],
                                      f"{entry.label}, step {int(h.g_step.view[-1])}")
        return drew
