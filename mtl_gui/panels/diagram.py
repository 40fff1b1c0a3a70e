"""A small drawing of the model: input -> shared part -> one head per task, with shapes.

A model over named inputs draws its branches above (diagram_branches.py): each a column of layer
boxes under its input, joined into the merge box, which takes the input's place in the row.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from ..plots.style import task_color
from .diagram_branches import (
    Box,
    Column,
    band_height,
    columns_of,
    layout_band,
    merge_text,
    shape_part,
)

MAX_HEADS = 8  # more tasks are summarised as "+ N more"
ROW = 22
BOX_H = 22
BROKEN = QColor(217, 83, 79, 90)
FILLS = {"input": QColor(128, 128, 128, 50), "layer": QColor(0, 158, 115, 55),
         "more": QColor(128, 128, 128, 25), "merge": QColor(204, 121, 167, 70),
         "trunk": QColor(0, 114, 178, 60)}
TIP = ("the model: input, the shared part (sharing scheme, trunk layers and the shape the heads "
       "read), and per task its head layers + the output layer and the output width")


class ModelDiagram(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.input_text = ""
        self.trunk_text = ""
        self.scheme = ""
        self.heads: list[tuple[str, str, bool]] = []  # name, text, enabled
        self.broken = False  # the shared part does not fit
        self.broken_head = -1  # index of the task whose head does not fit, if one
        self.columns: list[Column] = []  # the branches of a model over named inputs
        self.merge = ("", "", False)  # the merge box: text, tip, broken
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(300)
        self.setToolTip(TIP)
        self._resize()

    def _row_height(self) -> int:
        rows = min(len(self.heads), MAX_HEADS + 1) or 1
        return max(72, rows * ROW + 12)

    def _resize(self) -> None:
        self.setFixedHeight(band_height(self.columns) + self._row_height())

    def set_model(self, draft: dict[str, Any], summary: Any, spec: Any) -> None:
        self.input_text = ("input " + "x".join(str(d) for d in spec.input_shape)
                           if spec is not None else "input")
        self.columns = columns_of(draft, summary, spec)
        self.merge = merge_text(draft, summary) if self.columns else ("", "", False)
        self.scheme = (draft.get("sharing") or {}).get("scheme", "")
        n_layers = len(draft.get("trunk") or [])
        rep = getattr(summary, "representation_shape", None)
        out = f" \u2192 {'x'.join(str(d) for d in rep)}" if rep is not None else ""
        self.trunk_text = f"{self.scheme}: {n_layers} layers{out}"
        # Named by the engine's path, as the layer list's rows and the top bar name it.
        where = (summary.error_path or "") if summary is not None and not summary.ok else ""
        head_at = where.startswith("tasks[") and where[6:].split("]", 1)[0]
        self.broken_head = int(head_at) if head_at and head_at.isdigit() else -1
        # a branch or the merge that does not fit is drawn red in its own box
        own_box = where.startswith(("branches", "merge"))
        self.broken = bool(where) and self.broken_head < 0 and not own_box
        if self.broken:
            # the break first: the box elides its end
            self.trunk_text = f"{where} does not fit ({self.scheme}, {n_layers} layers)"
        rows = {r.where: r for r in summary.layers} if summary is not None else {}
        self.heads = []
        for i, t in enumerate(draft.get("tasks") or []):
            head = len(t.get("head") or [])
            final = rows.get(f"tasks[{i}].output")
            width = f" \u2192 {final.out_shape[0]}" if final and final.out_shape else ""
            text = f"{t.get('name', '?')}: {head}+out{width}"
            if i == self.broken_head:
                text = f"{t.get('name', '?')}: {where.split('.', 1)[-1]} does not fit"
            self.heads.append((t.get("name", "?"), text, bool(t.get("enabled", True))))
        self._resize()
        self.update()

    # ------------------------------------------------------------------ layout
    def layout_boxes(self, w: float | None = None
                     ) -> tuple[list[Box], list[tuple[QPointF, QPointF, bool]]]:
        """Every box and connector (start, end, enabled) at width `w` (the widget's own)."""
        w = float(self.width() if w is None else w)
        top = band_height(self.columns)
        col = [4, int(w * 0.27), int(w * 0.63)]
        widths = [col[1] - col[0] - 14, col[2] - col[1] - 16, w - col[2] - 4]
        mid = top + self._row_height() / 2
        first = QRectF(col[0], mid - BOX_H / 2, widths[0], BOX_H)
        boxes, band_lines = layout_band(self.columns, w, QPointF(first.center().x(), first.top()))
        lines = [(a, b, True) for a, b in band_lines]
        if self.columns:
            text, tip, broken = self.merge
            boxes.append(Box(first, text, "merge", tip, broken, keep=shape_part(text)))
        else:
            boxes.append(Box(first, self.input_text, "input"))
        boxes.append(Box(QRectF(col[1], mid - BOX_H / 2, widths[1], BOX_H), self.trunk_text,
                         "trunk", broken=self.broken,
                         keep="" if self.broken else shape_part(self.trunk_text)))
        lines.append((QPointF(col[0] + widths[0], mid), QPointF(col[1], mid), True))
        shown = self.heads[:MAX_HEADS]
        rows = len(shown) + (1 if len(self.heads) > MAX_HEADS else 0)
        head_top = mid - rows * ROW / 2
        for k, (_, text, enabled) in enumerate(shown):
            y = head_top + k * ROW + ROW / 2
            lines.append((QPointF(col[1] + widths[1], mid), QPointF(col[2], y), enabled))
            boxes.append(Box(QRectF(col[2], y - (BOX_H - 4) / 2, widths[2], BOX_H - 4),
                             text if enabled else f"{text} (off)", "head",
                             broken=k == self.broken_head, task=k, enabled=enabled))
        if len(self.heads) > MAX_HEADS:
            boxes.append(Box(QRectF(col[2], head_top + MAX_HEADS * ROW, widths[2], ROW),
                             f"+ {len(self.heads) - MAX_HEADS} more tasks", "note"))
        return boxes, lines

    # ------------------------------------------------------------------ painting
    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        fg = self.palette().windowText().color()
        # Tasks switched off: the theme's disabled text, dimmer but still >= 4.5:1 (style.py).
        off = self.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText)
        boxes, lines = self.layout_boxes()
        for a, b, enabled in lines:
            p.setPen(QPen(fg if enabled else off, 1.2 if enabled else 1.0,
                          Qt.PenStyle.SolidLine if enabled else Qt.PenStyle.DotLine))
            p.drawLine(a, b)
        for box in boxes:
            if box.kind == "note":  # plain text, no box
                p.setPen(fg)
                p.drawText(box.rect.adjusted(4, 0, 0, 0), Qt.AlignmentFlag.AlignVCenter,
                           box.text)
                continue
            self._box(p, box, fg if box.enabled else off)
        p.end()

    def _fill(self, box: Box) -> QColor:
        if box.kind == "head":
            color = QColor(217, 83, 79) if box.broken else task_color(box.task)
            color.setAlpha(70 if box.enabled else 20)
            return color
        return BROKEN if box.broken else FILLS.get(box.kind, FILLS["input"])

    def _box(self, p: QPainter, box: Box, fg: QColor) -> None:
        p.setPen(QPen(fg, 0.8))
        p.setBrush(self._fill(box))
        p.drawRoundedRect(box.rect, 4, 4)
        p.setPen(fg)  # fills are translucent, so the theme's text colour reads on both themes
        fm, room = p.fontMetrics(), int(box.rect.width() - 8)
        if box.keep and fm.horizontalAdvance(box.text) > room:
            # elide the name, keep the shape: "embed… → 10x16"
            head = box.text[:len(box.text) - len(box.keep)]
            rest = room - fm.horizontalAdvance(box.keep)
            elided = fm.elidedText(head, Qt.TextElideMode.ElideRight, max(rest, 0)) + box.keep
        else:
            elided = fm.elidedText(box.text, Qt.TextElideMode.ElideRight, room)
        p.drawText(box.rect.adjusted(4, 0, -4, 0), Qt.AlignmentFlag.AlignVCenter, elided)

    def event(self, e: QEvent) -> bool:  # noqa: N802 - Qt override
        """Hovering a box shows its whole text (boxes elide) and what it is."""
        if e.type() == QEvent.Type.ToolTip:
            pos = QPointF(e.pos())
            for box in self.layout_boxes()[0]:
                if box.rect.contains(pos):
                    tip = box.text if not box.tip else f"{box.text}\n{box.tip}"
                    QToolTip.showText(e.globalPos(), tip, self)
                    return True
        return super().event(e)
