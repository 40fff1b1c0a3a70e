"""The editors of the plain Param types: numbers, text, switches, choices and lists of them.

Each registers itself for the types it edits (see editors.py); the "layers" editor lives with the
layer list it opens (layer_button.py).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLineEdit, QSpinBox, QWidget

from mtl_engine import Param

from .editors import FieldEditor, register_editor

INT_MAX = 2_000_000_000


@register_editor("float")
@register_editor("str")
@register_editor("floats")
@register_editor("ints")
@register_editor("strs")
class TextEditor(FieldEditor):
    """Floats, text and lists are typed; numbers keep their exact repr so presets round-trip."""

    def __init__(self, param: Param, parent: QWidget | None = None) -> None:
        super().__init__(param, parent)
        self.edit = QLineEdit(self)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.edit)
        self.edit.editingFinished.connect(lambda: self._submit(self._parse(self.edit.text())))

    def _parse(self, text: str) -> Any:
        kind = self.param.type
        if kind in ("floats", "ints", "strs"):
            parts = [part.strip() for part in text.split(",") if part.strip()]
            return [_number(part, kind[:-1]) for part in parts]
        return _number(text.strip(), kind)

    def value(self) -> Any:
        return self.param.check(self._parse(self.edit.text()), self.param.name)

    def set_value(self, value: Any) -> None:
        if isinstance(value, (list, tuple)):
            self.edit.setText(", ".join(_fmt(item) for item in value))
        else:
            self.edit.setText("" if value is None else _fmt(value))
        self.show_error(None)


def _number(text: str, kind: str) -> Any:
    if kind == "float":
        try:
            return float(text)
        except ValueError:
            return text  # Param.check then says what was expected
    if kind == "int":
        try:
            return int(text)
        except ValueError:
            return text
    return text


def _fmt(value: Any) -> str:
    return repr(value) if isinstance(value, float) else str(value)


@register_editor("int")
class IntEditor(FieldEditor):
    def __init__(self, param: Param, parent: QWidget | None = None) -> None:
        super().__init__(param, parent)
        self.spin = QSpinBox(self)
        # QSpinBox holds a C int: bounds beyond it (a seed up to 2**32 - 1) are clamped.
        lo = max(int(param.low), -INT_MAX) if param.low is not None else -INT_MAX
        hi = min(int(param.high), INT_MAX) if param.high is not None else INT_MAX
        self.spin.setRange(lo, hi)
        self.spin.setKeyboardTracking(False)  # one edit per committed number, not per digit
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.spin)
        self.spin.valueChanged.connect(self._submit)

    def value(self) -> int:
        return int(self.spin.value())

    def set_value(self, value: Any) -> None:
        self.spin.blockSignals(True)
        self.spin.setValue(int(value if value is not None else self.param.default or 0))
        self.spin.blockSignals(False)


@register_editor("bool")
class BoolEditor(FieldEditor):
    def __init__(self, param: Param, parent: QWidget | None = None) -> None:
        super().__init__(param, parent)
        self.box = QCheckBox(self)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.box)
        self.box.toggled.connect(self._submit)

    def value(self) -> bool:
        return self.box.isChecked()

    def set_value(self, value: Any) -> None:
        self.box.blockSignals(True)
        self.box.setChecked(bool(value))
        self.box.blockSignals(False)


@register_editor("choice")
class ChoiceEditor(FieldEditor):
    def __init__(self, param: Param, parent: QWidget | None = None) -> None:
        super().__init__(param, parent)
        self.combo = QComboBox(self)
        self.combo.addItems(list(param.choices))
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.combo)
        self.combo.currentTextChanged.connect(self._submit)

    def value(self) -> str:
        return self.combo.currentText()

    def set_value(self, value: Any) -> None:
        self.combo.blockSignals(True)
        self.combo.setCurrentText(str(value))
        self.combo.blockSignals(False)
