"""A form field for a parameter that is itself a list of layers (e.g. a per-task private block).

It registers itself as the editor of the "layers" Param type; it sits beside the layer list it
opens, which holds a form of its own, so the form module never imports it (no circle).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from mtl_engine import Param

from .editors import FieldEditor, register_editor
from .layer_list import LayerListEditor


@register_editor("layers")
class LayersField(FieldEditor):
    """Shows "N layers" and opens a layer list editor in a dialog."""

    def __init__(self, param: Param, parent: QWidget | None = None) -> None:
        super().__init__(param, parent)
        self._layers: list[dict[str, Any]] = []
        self.button = QPushButton(self)
        self.button.clicked.connect(self.open_editor)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.button)
        self._label()

    def _label(self) -> None:
        n = len(self._layers)
        names = ", ".join(layer["type"] for layer in self._layers[:4])
        more = ", ..." if n > 4 else ""
        self.button.setText(f"{n} layer{'s' if n != 1 else ''}: {names}{more}  (edit)"
                            if n else "no layers  (edit)")

    def value(self) -> list[dict[str, Any]]:
        return [dict(x) for x in self._layers]

    def set_value(self, value: Any) -> None:
        self._layers = [dict(x) for x in (value or [])]
        self._label()

    def open_editor(self) -> None:
        dialog = QDialog(self)
        dialog.setWindowTitle(self.param.name.replace("_", " "))
        editor = LayerListEditor("", dialog)
        editor.set_layers(self._layers)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel, dialog)
        buttons.accepted.connect(dialog.accept)
        buttons.rejected.connect(dialog.reject)
        lay = QVBoxLayout(dialog)
        lay.addWidget(editor)
        lay.addWidget(buttons)
        dialog.resize(520, 420)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self._layers = editor.layers()
            self._label()
            self._submit(self.value())
