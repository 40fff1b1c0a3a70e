"""A colour per variant (the plots' 24-colour palette, in table order) and the side legend the
study's plots share: a list beside the plot, so no entry ever covers a point or a curve."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QWidget

from ..plots.style import task_color


def variant_color(index: int) -> QColor:
    return task_color(index)


def variant_colors(rows: list) -> dict[str, QColor]:
    """Each multi-task variant's colour, by its place in the table (the Pareto and parallel
    views and their legends agree through this)."""
    return {r.variant: variant_color(i) for i, r in enumerate(rows)}


def swatch(color: QColor, dashed: bool = False) -> QIcon:
    pix = QPixmap(18, 12)
    pix.fill(color if not dashed else QColor(0, 0, 0, 0))
    if dashed:  # a baseline: an outlined swatch, as its curves are dashed
        from PySide6.QtGui import QPainter, QPen

        p = QPainter(pix)
        pen = QPen(color, 2, Qt.PenStyle.DashLine)
        p.setPen(pen)
        p.drawRect(1, 1, 16, 10)
        p.end()
    return QIcon(pix)


class VariantLegend(QListWidget):
    """One checkable entry per variant; unticking hides it in the plot beside."""

    visibility_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setToolTip("untick a variant to hide it in the plot")
        self.setMinimumWidth(180)
        self.setMaximumWidth(320)
        self.setWordWrap(True)
        self.itemChanged.connect(lambda _: self.visibility_changed.emit())

    def set_rows(self, rows: list) -> None:
        """The multi-task variants of a results table, in their colours."""
        self.set_variants([(v, c, False) for v, c in variant_colors(rows).items()])

    def set_variants(self, variants: list[tuple[str, QColor, bool]]) -> None:
        """(label, colour, is a baseline) per variant, in table order; ticks are kept by label."""
        hidden = self.hidden()
        self.blockSignals(True)
        self.clear()
        for label, color, baseline in variants:
            item = QListWidgetItem(swatch(color, baseline), label)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked if label in hidden
                               else Qt.CheckState.Checked)
            item.setToolTip(label)
            self.addItem(item)
        self.blockSignals(False)

    def hidden(self) -> set[str]:
        return {self.item(i).text() for i in range(self.count())
                if self.item(i).checkState() != Qt.CheckState.Checked}
