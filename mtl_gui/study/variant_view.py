"""What the Pareto and parallel-coordinates views share: one plot of the study's multi-task
variants, their legend beside it (untick to hide a variant), a hint below, and the theme."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLayout, QVBoxLayout, QWidget

from ..plots.style import restyle
from .colors import VariantLegend
from .results import StudyResults


class VariantPlotView(QWidget):
    """Subclasses draw `self.res` in `redraw()` and call `_lay_out` once their controls exist."""

    def __init__(self, hint: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.res: StudyResults | None = None
        self.theme = "light"
        self.plot = pg.PlotWidget(self)
        self.plot.setMenuEnabled(False)
        self.legend = VariantLegend(self)
        self.legend.visibility_changed.connect(self.redraw)
        self.hint = QLabel(hint, self)
        self.hint.setProperty("tone", "hint")
        self.hint.setWordWrap(True)

    def _lay_out(self, top: QLayout | None = None) -> None:
        body = QHBoxLayout()
        body.addWidget(self.plot, 1)
        body.addWidget(self.legend)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        if top is not None:
            lay.addLayout(top)
        lay.addLayout(body, 1)
        lay.addWidget(self.hint)

    def _take(self, res: StudyResults | None) -> None:
        """Keep `res` and list its multi-task variants in the legend (the caller redraws)."""
        self.res = res
        if res is not None:
            self.legend.set_rows(res.multi_task_rows)

    def set_theme(self, name: str) -> None:
        self.theme = name
        restyle(self.plot, name)
        self.redraw()

    def redraw(self) -> None:
        raise NotImplementedError
