"""A small drawing of the model: input -> shared part -> one head per task, with shapes."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from ..plots.style import task_color

MAX_HEADS = 8  # more tasks are summarised as "+ N more"
ROW = 22


class ModelDiagram(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.input_text = ""
        self.trunk_text = ""
        self.scheme = ""
        self.heads: list[tuple[str, str, bool]] = []  # name, text, enabled
        self.broken = False  # the shared part does not fit
        self.broken_head = -1  # index of the task whose head does not fit, if one
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(300)
        self.setToolTip("the model: input, the shared part (sharing scheme, trunk layers and the "
                        "shape the heads read), and per task its head layers + the output layer "
                        "and the output width")
        self._resize()

    def _resize(self) -> None:
        rows = min(len(self.heads), MAX_HEADS + 1) or 1
        self.setFixedHeight(max(72, rows * ROW + 12))

    def set_model(self, draft: dict[str, Any], summary: Any, spec: Any) -> None:
        self.input_text = ("input " + "x".join(str(d) for d in spec.input_shape)
                           if spec is not None else "input")
        self.scheme = (draft.get("sharing") or {}).get("scheme", "")
        n_layers = len(draft.get("trunk") or [])
        rep = getattr(summary, "representation_shape", None)
        out = f" \u2192 {'x'.join(str(d) for d in rep)}" if rep is not None else ""
        self.trunk_text = f"{self.scheme}: {n_layers} layers{out}"
        # Named by the engine's path, as the layer list's rows and the top bar name it.
        where = (summary.error_path or "") if summary is not None and not summary.ok else ""
        head_at = where.startswith("tasks[") and where[6:].split("]", 1)[0]
        self.broken_head = int(head_at) if head_at and head_at.isdigit() else -1
        self.broken = bool(where) and self.broken_head < 0
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

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        w, h = self.width(), self.height()
        fg = self.palette().windowText().color()
        # Tasks switched off: the theme's disabled text, dimmer but still >= 4.5:1 (style.py).
        off = self.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText)
        box_h = 22
        col = [4, int(w * 0.27), int(w * 0.63)]
        widths = [col[1] - col[0] - 14, col[2] - col[1] - 16, w - col[2] - 4]
        mid = h / 2
        self._box(p, QRectF(col[0], mid - box_h / 2, widths[0], box_h), self.input_text,
                  QColor(128, 128, 128, 50), fg)
        trunk_color = QColor(217, 83, 79, 90) if self.broken else QColor(0, 114, 178, 60)
        self._box(p, QRectF(col[1], mid - box_h / 2, widths[1], box_h), self.trunk_text,
                  trunk_color, fg)
        p.setPen(QPen(fg, 1.2))
        p.drawLine(QPointF(col[0] + widths[0], mid), QPointF(col[1], mid))
        shown = self.heads[:MAX_HEADS]
        rows = len(shown) + (1 if len(self.heads) > MAX_HEADS else 0)
        top = mid - rows * ROW / 2
        for k, (_, text, enabled) in enumerate(shown):
            y = top + k * ROW + ROW / 2
            color = QColor(217, 83, 79) if k == self.broken_head else task_color(k)
            color.setAlpha(70 if enabled else 20)
            pen = QPen(fg if enabled else off, 1.0,
                       Qt.PenStyle.SolidLine if enabled else Qt.PenStyle.DotLine)
            p.setPen(pen)
            p.drawLine(QPointF(col[1] + widths[1], mid), QPointF(col[2], y))
            label = text if enabled else f"{text} (off)"
            self._box(p, QRectF(col[2], y - (box_h - 4) / 2, widths[2], box_h - 4), label,
                      color, fg if enabled else off)
        if len(self.heads) > MAX_HEADS:
            p.setPen(fg)
            p.drawText(QPointF(col[2] + 4, top + MAX_HEADS * ROW + 15),
                       f"+ {len(self.heads) - MAX_HEADS} more tasks")
        p.end()

    def _box(self, p: QPainter, rect: QRectF, text: str, fill: QColor, fg: QColor) -> None:
        p.setPen(QPen(fg, 0.8))
        p.setBrush(fill)
        p.drawRoundedRect(rect, 4, 4)
        p.setPen(fg)  # fills are translucent, so the theme's text colour reads on both themes
        elided = p.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight,
                                            int(rect.width() - 8))
        p.drawText(rect.adjusted(4, 0, -4, 0), Qt.AlignmentFlag.AlignVCenter, elided)
