"""A form generated from a registry entry's Param schema, so a new entry needs no GUI code.

Each field's editor is looked up by its Param type in the editor registry (editors.py), which the
editor modules fill themselves; the form knows no type. Every edit is checked with `Param.check`,
the same check a preset goes through; a bad value stays in the field, marked, with the engine's
message as tooltip, and is not sent on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFormLayout, QLabel, QWidget

from mtl_engine import Param

from .editors import BAD_STYLE, FieldEditor, make_editor

__all__ = ["BAD_STYLE", "LABEL_WIDTH", "FieldEditor", "ParamForm", "make_editor"]

LABEL_WIDTH = 140


class ParamForm(QWidget):
    """A form for a tuple of Params. `values_changed` carries the full, checked dict."""

    values_changed = Signal(dict)

    def __init__(self, params: Sequence[Param] = (), parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.layout_ = QFormLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        self.layout_.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.editors: dict[str, FieldEditor] = {}
        self._values: dict[str, Any] = {}
        self.set_schema(params)

    def set_schema(self, params: Sequence[Param]) -> None:
        while self.layout_.rowCount():
            self.layout_.removeRow(0)
        self.editors = {}
        self._values = {param.name: param.default for param in params}
        for param in params:
            editor = make_editor(param, self)
            editor.set_value(param.default)
            editor.edited.connect(lambda value, name=param.name: self._edited(name, value))
            label = QLabel(param.name.replace("_", " "), self)
            label.setToolTip(param.help)
            label.setMinimumWidth(LABEL_WIDTH)  # stacked forms line up
            self.layout_.addRow(label, editor)
            self.editors[param.name] = editor
        if not params:
            self.layout_.addRow(QLabel("(no parameters)", self))

    def set_values(self, values: dict[str, Any]) -> None:
        """Show `values` without emitting anything."""
        for name, editor in self.editors.items():
            if name in values:
                editor.set_value(values[name])
                self._values[name] = values[name]

    def values(self) -> dict[str, Any]:
        return dict(self._values)

    def _edited(self, name: str, value: Any) -> None:
        if self._values.get(name) == value:
            return
        self._values[name] = value
        self.values_changed.emit(self.values())
