"""A legend laid out in rows under the plot's x axis, so it never covers a curve.

pyqtgraph's own legend floats over the view box and hides whatever data lies under it (with 14
tasks, half of the plot). This one takes a row of the PlotItem's grid layout below the bottom
axis: entries flow into as many columns as the plot's width holds, in as many rows as a quarter
of the plot's height holds (at least two); past that, the last cell says how many more there are
(the hover read-out still names every curve). It is part of the plot's scene, so exports and
QWidget.grab() show it like the screen does.
"""

from __future__ import annotations

import math
from typing import Any

import pyqtgraph as pg
from pyqtgraph.graphicsItems.LegendItem import ItemSample
from PySide6.QtCore import QRectF, Qt

LEGEND_ROW = 4  # PlotItem's grid: 0 title, 1 top axis, 2 view box, 3 bottom axis
COLUMN_GAP = 10.0  # pixels between entries
HEIGHT_SHARE = 0.25  # the legend takes at most this share of the plot's height ...
MIN_ROWS = 2  # ... but always this many rows


SWATCH = QRectF(2.0, 5.0, 16.0, 12.0)  # a filled curve's sample, in the sample's 20 x 20 box


class Sample(ItemSample):
    """pyqtgraph's sample, except for a filled curve (the stacked shares): a filled rectangle
    in the fill's colour, outlined by the curve's pen, instead of pyqtgraph's half-square
    triangle drawn over a line."""

    def paint(self, p: Any, *args: Any) -> None:
        opts = self.item.opts
        if (not self.item.isVisible() or opts.get("fillLevel") is None
                or opts.get("fillBrush") is None):
            super().paint(p, *args)
            return
        p.setPen(pg.mkPen(opts["pen"]))
        p.setBrush(pg.mkBrush(opts["fillBrush"]))
        p.drawRect(SWATCH)


class LegendRow(pg.LegendItem):
    def __init__(self, plot: pg.PlotItem, label_size: str = "8pt") -> None:
        super().__init__(offset=None, labelTextSize=label_size, verSpacing=-4, sampleType=Sample)
        self._flowing = False
        self._width = -1.0
        self._plot_h = -1.0
        self._plot = plot
        plot.geometryChanged.connect(self._plot_resized)
        self._more = pg.LabelItem("", justify="left", size=label_size)
        self._more.setParentItem(self)
        self._more.hide()
        self.layout.setContentsMargins(0, 0, 0, 0)
        plot.layout.addItem(self, LEGEND_ROW, 1)
        plot.layout.setRowStretchFactor(LEGEND_ROW, 0)
        plot.legend = self  # PlotItem.plot(name=...) adds its curve here, clear() removes it
        self.setMinimumWidth(0)
        self.setMaximumHeight(0)

    # pyqtgraph places entries one by one and sizes the legend itself; here the flow does both.
    def _addItemToLayout(self, sample: Any, label: Any) -> None:
        self._width = -1.0

    def updateSize(self) -> None:  # noqa: N802 - pyqtgraph override
        if hasattr(self, "_more"):  # pyqtgraph's __init__ calls it before ours has run
            self.reflow()

    def setLabelTextColor(self, *args: Any, **kwargs: Any) -> None:  # noqa: N802
        super().setLabelTextColor(*args, **kwargs)
        self._more.setText(self._more.text, color=self.opts["labelTextColor"])

    def resizeEvent(self, ev: Any) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(ev)
        if abs(self.geometry().width() - self._width) > 0.5:
            self.reflow()

    def _plot_resized(self) -> None:
        if abs(self._plot.geometry().height() - self._plot_h) > 0.5:
            self.reflow()

    def max_rows(self, row_h: float) -> int:
        return max(MIN_ROWS, int(self._plot_h * HEIGHT_SHARE // max(1.0, row_h)))

    def mouseDragEvent(self, ev: Any) -> None:  # noqa: N802 - the legend stays in its row
        ev.ignore()

    def columns(self) -> int:
        return self._columns

    def reflow(self) -> None:
        """Lay the entries out for the current width; the legend's height follows its rows."""
        if self._flowing:
            return
        self._flowing = True
        try:
            self._flow()
        finally:
            self._flowing = False

    def _flow(self) -> None:
        lay = self.layout
        for index in range(lay.count() - 1, -1, -1):
            lay.removeAt(index)
        width = self.geometry().width()
        self._width = width
        self._plot_h = self._plot.geometry().height()
        items = self.items
        if not items:
            self._columns = 1
            self._more.hide()
            self.setMinimumHeight(0)
            self.setMaximumHeight(0)
            return
        sample_w = 20.0
        entry_w = max(label.minimumWidth() for _, label in items) + sample_w + COLUMN_GAP
        cols = max(1, int(width // entry_w)) if width > 0 else 1
        cols = min(cols, len(items))
        self._columns = cols
        row_h = max(label.minimumHeight() for _, label in items) - 4
        capacity = cols * self.max_rows(row_h)
        shown = items
        if len(items) > capacity:
            # The "+N more" note takes as many cells as its text needs (with 9 entries to a row
            # it was cut off after "(hover for value"), so drop as many entries for it.
            self._more.setText(self._more_text(len(items)), color=self.opts["labelTextColor"])
            note_w = self._more.item.boundingRect().width()
            cells = min(cols, max(1, math.ceil((note_w + COLUMN_GAP) / entry_w)))
            shown = items[: max(0, capacity - cells)]
        for slot, (sample, label) in enumerate(shown):
            row, col = divmod(slot, cols)
            lay.addItem(sample, row, 2 * col, alignment=Qt.AlignmentFlag.AlignVCenter)
            lay.addItem(label, row, 2 * col + 1)
            sample.show()
            label.show()
        for sample, label in items[len(shown):]:
            sample.hide()
            label.hide()
        rows = -(-len(shown) // cols)
        if len(shown) < len(items):
            self._more.setText(self._more_text(len(items) - len(shown)),
                               color=self.opts["labelTextColor"])
            slot = len(shown)
            row, col = divmod(slot, cols)
            lay.addItem(self._more, row, 2 * col, 1, 2 * (cols - col))
            self._more.show()
            rows = row + 1
        else:
            self._more.hide()
        for column in range(cols):
            lay.setColumnFixedWidth(2 * column, sample_w)
            lay.setColumnMinimumWidth(2 * column + 1, entry_w - sample_w - COLUMN_GAP)
        height = rows * row_h + 2
        self.setMinimumHeight(height)
        self.setMaximumHeight(height)
        self.updateGeometry()

    def put_first(self, items: list[Any]) -> None:
        """Move the entries of these data items to the front, in this order (the line-style
        key of a comparison goes before the runs)."""
        first = [e for item in items for e in self.items if e[0].item is item]
        rest = [e for e in self.items if e not in first]
        if first + rest != self.items:
            self.items[:] = first + rest
            self.reflow()

    @staticmethod
    def _more_text(hidden: int) -> str:
        return f"+{hidden} more (hover for values)"

    _columns = 1
