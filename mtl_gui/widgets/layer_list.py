"""An editable list of layers (trunk or head): add, remove, reorder, edit parameters.

Layers are plain dicts in the preset's flat form (``{"type": "linear", "out_features": 64}``). The
table shows each layer's output shape and parameter count, which the owner computes from the
engine's model summary and passes in with `set_info`; a layer that breaks is shown in red with
the engine's message.

Rows are numbered as the engine names layers in its messages and as the preset lists them
(``trunk[7]``, ``head[0]``, counting from 0), so "Start is disabled: trunk[7]: ..." in the top
bar points at the row labelled trunk[7].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mtl_engine import LAYERS

from ..plots.style import tone
from .param_form import ParamForm


@dataclass(frozen=True)
class RowInfo:
    """What the engine says about one layer: output shape text, parameter count, error."""

    out_shape: str = ""
    params: int | None = None  # None: not known (an earlier layer does not fit)
    error: str = ""
    where: str = ""  # the engine's path of the layer, e.g. "trunk[7]" or "tasks[1].head[0]"


def summarize_params(layer: dict[str, Any]) -> str:
    """A short one-line description of a layer's settings, e.g. ``out_features=64``."""
    shown = []
    for k, v in layer.items():
        if k == "type":
            continue
        if v is None:
            v = "auto"
        elif isinstance(v, float):
            v = f"{v:g}"
        elif isinstance(v, list):
            v = f"[{len(v)}]"
        shown.append(f"{k}={v}")
    return ", ".join(shown)


def fmt_count(n: int | None) -> str:
    if n is None:
        return ""
    if n >= 1_000_000:
        return f"{n / 1e6:.2f}M"
    if n >= 10_000:
        return f"{n / 1e3:.1f}k"
    return str(n)


class LayerListEditor(QWidget):
    """Emits `layers_changed` with the full new list after every edit."""

    layers_changed = Signal(list)

    def __init__(self, title: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layers: list[dict[str, Any]] = []
        self.table = QTableWidget(0, 4, self)
        self.table.setHorizontalHeaderLabels(["layer", "settings", "output", "params"])
        self._names: list[str] = []  # row labels: the layer's path as the engine writes it
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setWordWrap(False)
        self.table.itemSelectionChanged.connect(self._selected)

        self.add_combo = QComboBox(self)
        self.add_combo.addItem("+ add layer")
        self.add_combo.setToolTip("append a layer of this type after the selected one "
                                  "(hover an entry for what it does)")
        for entry in LAYERS.entries():
            self.add_combo.addItem(entry.name)
            self.add_combo.setItemData(self.add_combo.count() - 1, entry.summary,
                                       Qt.ItemDataRole.ToolTipRole)
        self.add_combo.activated.connect(self._add)
        self.remove_btn = QPushButton("Remove", self)
        self.remove_btn.setToolTip("delete the selected layer")
        self.up_btn = QPushButton("Up", self)
        self.up_btn.setToolTip("move the selected layer one place earlier")
        self.down_btn = QPushButton("Down", self)
        self.down_btn.setToolTip("move the selected layer one place later")
        self.remove_btn.clicked.connect(self._remove)
        self.up_btn.clicked.connect(lambda: self._move(-1))
        self.down_btn.clicked.connect(lambda: self._move(1))
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_combo, 1)
        for button in (self.remove_btn, self.up_btn, self.down_btn):
            buttons.addWidget(button)

        self.type_combo = QComboBox(self)
        self.type_combo.setToolTip("the selected layer's type; its parameters are below")
        self.type_combo.addItems(LAYERS.names())
        self.type_combo.activated.connect(self._retype)
        self.form = ParamForm((), self)
        self.form.values_changed.connect(self._params_edited)
        self.detail = QWidget(self)
        detail = QVBoxLayout(self.detail)
        detail.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(QLabel("type", self))
        row.addWidget(self.type_combo, 1)
        detail.addLayout(row)
        detail.addWidget(self.form)
        self.error_label = QLabel(self)
        self.error_label.setWordWrap(True)
        self.error_label.setProperty("tone", "error")  # coloured by the theme
        self.error_label.hide()

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        if title:
            lay.addWidget(QLabel(f"<b>{title}</b>", self))
        lay.addWidget(self.table, 1)
        lay.addLayout(buttons)
        lay.addWidget(self.error_label)
        lay.addWidget(self.detail)
        self._sync_buttons()

    # ------------------------------------------------------------------ public
    def layers(self) -> list[dict[str, Any]]:
        return [dict(layer) for layer in self._layers]

    def set_layers(self, layers: list[dict[str, Any]]) -> None:
        """Show `layers` without emitting; keeps the selected row where possible."""
        if [dict(x) for x in layers] == self._layers:
            return  # unchanged: keep the form (and any field being typed in) as it is
        row = self.current_row()
        self._layers = [dict(layer) for layer in layers]
        self._render()
        if self._layers:
            self.select(min(max(row, 0), len(self._layers) - 1))
        else:
            self._selected()

    def set_info(self, rows: list[RowInfo]) -> None:
        """Output shape, parameter count and error per layer (same order as the layers)."""
        errors = []
        self._names = [rows[row].where.rsplit(".", 1)[-1] if row < len(rows) and rows[row].where
                       else "" for row in range(self.table.rowCount())]
        self._label_rows()
        for row in range(self.table.rowCount()):
            info = rows[row] if row < len(rows) else RowInfo()
            self._set(row, 2, info.out_shape)
            self._set(row, 3, fmt_count(info.params))
            for col in range(4):
                item = self.table.item(row, col)
                if item is not None:
                    item.setForeground(QBrush(tone("error")) if info.error else QBrush())
                    item.setToolTip(info.error or (summarize_params(self._layers[row])
                                                   if col == 1 else ""))
            if info.error:
                # as the top bar words it: "trunk[7]: linear cannot take input ..."
                errors.append(f"{info.where or self._row_name(row)}: {info.error}")
        self.error_label.setText("\n".join(errors))
        self.error_label.setVisible(bool(errors))

    def current_row(self) -> int:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].row() if rows else -1

    def select(self, row: int) -> None:
        self.table.selectRow(row)
        self._selected()

    # ------------------------------------------------------------------ edits
    def _emit(self) -> None:
        self._render()
        self.layers_changed.emit(self.layers())

    def _add(self, index: int) -> None:
        if index <= 0:
            return
        name = self.add_combo.itemText(index)
        self.add_combo.setCurrentIndex(0)
        at = self.current_row() + 1 if self.current_row() >= 0 else len(self._layers)
        self._layers.insert(at, {"type": name, **LAYERS.get(name).defaults()})
        self._emit()
        self.select(at)

    def _remove(self) -> None:
        row = self.current_row()
        if row < 0:
            return
        del self._layers[row]
        self._emit()
        if self._layers:
            self.select(min(row, len(self._layers) - 1))

    def _move(self, delta: int) -> None:
        row = self.current_row()
        dest = row + delta
        if row < 0 or not 0 <= dest < len(self._layers):
            return
        self._layers[row], self._layers[dest] = self._layers[dest], self._layers[row]
        self._emit()
        self.select(dest)

    def _retype(self, index: int) -> None:
        row = self.current_row()
        name = self.type_combo.itemText(index)
        if row < 0 or self._layers[row]["type"] == name:
            return
        self._layers[row] = {"type": name, **LAYERS.get(name).defaults()}
        self._emit()
        self.select(row)

    def _params_edited(self, values: dict[str, Any]) -> None:
        row = self.current_row()
        if row < 0:
            return
        self._layers[row] = {"type": self._layers[row]["type"], **values}
        self._set(row, 1, summarize_params(self._layers[row]))
        self.layers_changed.emit(self.layers())

    # ------------------------------------------------------------------ view
    def _render(self) -> None:
        self.table.blockSignals(True)
        self.table.setRowCount(len(self._layers))
        for i, layer in enumerate(self._layers):
            self._set(i, 0, layer["type"])
            self._set(i, 1, summarize_params(layer))
            self.table.item(i, 1).setToolTip(summarize_params(layer))
        self.table.blockSignals(False)
        self._label_rows()
        self._sync_buttons()

    def _row_name(self, i: int) -> str:
        named = self._names[i] if i < len(self._names) else ""
        return named or f"[{i}]"

    def _label_rows(self) -> None:
        self.table.setVerticalHeaderLabels([self._row_name(i)
                                            for i in range(self.table.rowCount())])

    def _set(self, row: int, col: int, text: str) -> None:
        item = self.table.item(row, col)
        if item is None:
            item = QTableWidgetItem()
            self.table.setItem(row, col, item)
        item.setText(text)

    def _selected(self) -> None:
        row = self.current_row()
        self.detail.setVisible(row >= 0)
        if row >= 0:
            layer = self._layers[row]
            self.type_combo.setCurrentText(layer["type"])
            self.type_combo.setToolTip(LAYERS.get(layer["type"]).summary)
            self.form.set_schema(LAYERS.get(layer["type"]).params)
            self.form.set_values({k: v for k, v in layer.items() if k != "type"})
        self._sync_buttons()

    def _sync_buttons(self) -> None:
        row = self.current_row()
        self.remove_btn.setEnabled(row >= 0)
        self.up_btn.setEnabled(row > 0)
        self.down_btn.setEnabled(0 <= row < len(self._layers) - 1)
