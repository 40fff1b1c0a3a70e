"""The Pareto view: each multi-task variant a point at two tasks' headline means, seed spread
as error bars, the front as a step line; hovering a point names its variant."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from ..plots.style import THEMES
from .colors import variant_color, variant_colors
from .pareto import Point, front_steps, points
from .results import StudyResults
from .variant_view import VariantPlotView


def axis_title(task: str, headline: dict[str, tuple[str, bool]]) -> str:
    metric, higher = headline[task]
    return f"{task} {metric} ({'higher' if higher else 'lower'} is better)"


class ParetoView(VariantPlotView):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("", parent)
        self.pts: list[Point] = []
        self.front: tuple[list[float], list[float]] = ([], [])
        self.x_box, self.y_box = QComboBox(self), QComboBox(self)
        self.x_box.setToolTip("the task on the x axis (its headline metric)")
        self.y_box.setToolTip("the task on the y axis (its headline metric)")
        for box in (self.x_box, self.y_box):
            box.currentIndexChanged.connect(lambda _: self.redraw())
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        for axis in ("left", "bottom"):  # values as reported, not rescaled as "x0.001"
            self.plot.getPlotItem().getAxis(axis).enableAutoSIPrefix(False)
        top = QHBoxLayout()
        top.addWidget(QLabel("x:", self))
        top.addWidget(self.x_box)
        top.addWidget(QLabel("y:", self))
        top.addWidget(self.y_box)
        top.addStretch(1)
        self._lay_out(top)

    def set_results(self, res: StudyResults | None) -> None:
        tasks = [t for t in (res.tasks if res else ()) if res and t in res.headline]
        for box, pick in ((self.x_box, 0), (self.y_box, 1)):
            box.blockSignals(True)
            box.clear()
            box.addItems(tasks)
            box.setCurrentIndex(min(pick, len(tasks) - 1))
            box.blockSignals(False)
        self._take(res)
        self.redraw()

    def redraw(self) -> None:
        item = self.plot.getPlotItem()
        item.clear()
        self.pts, self.front = [], ([], [])
        res = self.res
        x_task, y_task = self.x_box.currentText(), self.y_box.currentText()
        if res is None or not x_task or not y_task or x_task == y_task:
            self.hint.setText("Pick two different tasks." if res else "No study open.")
            return
        hidden = self.legend.hidden()
        colors = variant_colors(res.multi_task_rows)
        x_hi = res.headline[x_task][1]
        # The front among the shown variants: hiding one may put another on it.
        shown_rows = [r for r in res.rows if r.variant not in hidden]
        self.pts = points(shown_rows, x_task, y_task, res.headline)
        self.front = front_steps(self.pts, x_hi)
        fg = THEMES[self.theme]["foreground"]
        item.setLabel("bottom", axis_title(x_task, res.headline), color=fg)
        item.setLabel("left", axis_title(y_task, res.headline), color=fg)
        if not self.pts:
            self.hint.setText("No variant has both tasks' headline metrics.")
            return
        for p in self.pts:  # each variant's spread in its own colour
            item.addItem(pg.ErrorBarItem(x=np.asarray([p.x]), y=np.asarray([p.y]),
                                         width=np.asarray([2 * p.x_std]),
                                         height=np.asarray([2 * p.y_std]), beam=0.0,
                                         pen=pg.mkPen(colors.get(p.variant, fg), width=1.5)))
        if self.front[0]:
            line = pg.PlotDataItem(self.front[0], self.front[1],
                                   pen=pg.mkPen(fg, width=1.5, style=Qt.PenStyle.DashLine))
            item.addItem(line)
        spots: list[dict[str, Any]] = []
        for p in self.pts:
            c = colors.get(p.variant, variant_color(0))
            spots.append({"pos": (p.x, p.y), "data": p.variant, "brush": pg.mkBrush(c),
                          "pen": pg.mkPen(fg if p.on_front else c, width=2 if p.on_front else 1),
                          "size": 14 if p.on_front else 11,
                          "symbol": "o"})
        scatter = pg.ScatterPlotItem(spots=spots, hoverable=True, tip=self._tip,
                                     hoverSize=17)
        item.addItem(scatter)
        self.scatter = scatter
        on_front = [p.variant for p in self.pts if p.on_front]
        self.hint.setText(f"Error bars: \u00b11 std over seeds. Dashed: the Pareto front "
                          f"({len(on_front)} of {len(self.pts)} variants, ringed). "
                          "Hover a point for its variant.")

    def _tip(self, x: float, y: float, data: Any) -> str:
        p = next((q for q in self.pts if q.variant == data), None)
        if p is None:
            return str(data)
        return (f"{p.variant}\n{self.x_box.currentText()}: {p.x:.4g} \u00b1 {p.x_std:.2g}\n"
                f"{self.y_box.currentText()}: {p.y:.4g} \u00b1 {p.y_std:.2g}"
                + ("\non the Pareto front" if p.on_front else ""))
