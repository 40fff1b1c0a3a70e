"""A form generated from a registry entry's Param schema, so a new entry needs no GUI code.

One editor per Param type (a small registry of factories, not an if-chain). Every edit is checked
with `Param.check`, the same check a preset goes through; a bad value stays in the field, marked,
with the engine's message as tooltip, and is not sent on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from mtl_engine import Param
from mtl_engine.errors import ConfigError

# Dark text of its own: the pale red background stays readable in the dark theme too.
BAD_STYLE = "border: 1px solid #d9534f; background: #fdecea; color: #1a1a1a;"
# The editing widget of each editor, by the attribute name the editors use, so its tooltip can
# say what the field is (the container's tooltip is not the one a hovered spin box shows first).
INPUT_NAMES = ("edit", "spin", "box", "combo", "button")
INT_MAX = 2_000_000_000
LABEL_WIDTH = 140


class FieldEditor(QWidget):
    """One parameter's editor. Emits `edited` with a checked value."""

    edited = Signal(object)

    def __init__(self, param: Param, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.param = param
        self.error: str | None = None
        self.setToolTip(param.help)

    def value(self) -> Any:
        raise NotImplementedError

    def set_value(self, value: Any) -> None:
        raise NotImplementedError

    def _submit(self, raw: Any) -> None:
        try:
            value = self.param.check(raw, self.param.name)
        except ConfigError as exc:
            self.show_error(exc.message)
            return
        self.show_error(None)
        self.edited.emit(value)

    def show_error(self, message: str | None) -> None:
        self.error = message
        self.setStyleSheet(BAD_STYLE if message else "")
        tip = message or self.param.help or self.param.name.replace("_", " ")
        self.setToolTip(tip)
        for name in INPUT_NAMES:
            widget = getattr(self, name, None)
            if isinstance(widget, QWidget):
                widget.setToolTip(tip)


class _Text(FieldEditor):
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
            parts = [p.strip() for p in text.split(",") if p.strip()]
            return [_number(p, kind[:-1]) for p in parts]
        return _number(text.strip(), kind)

    def value(self) -> Any:
        return self.param.check(self._parse(self.edit.text()), self.param.name)

    def set_value(self, value: Any) -> None:
        if isinstance(value, (list, tuple)):
            self.edit.setText(", ".join(_fmt(v) for v in value))
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


def _fmt(v: Any) -> str:
    return repr(v) if isinstance(v, float) else str(v)


class _Int(FieldEditor):
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


class _Bool(FieldEditor):
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


class _Choice(FieldEditor):
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


class _Optional(FieldEditor):
    """Wraps an editor with a switch; switched off means None ("auto" / "off")."""

    def __init__(self, param: Param, inner: FieldEditor, parent: QWidget | None = None) -> None:
        super().__init__(param, parent)
        self.inner = inner
        self.switch = QCheckBox(self)
        self.switch.setToolTip("untick for auto / off")
        self.off_label = QLabel("auto", self)
        self.off_label.setEnabled(False)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.switch)
        lay.addWidget(inner, 1)
        lay.addWidget(self.off_label, 1)
        self.switch.toggled.connect(self._toggled)
        inner.edited.connect(self.edited.emit)

    def _toggled(self, on: bool) -> None:
        self._show(on)
        self.edited.emit(self.inner.value() if on else None)

    def _show(self, on: bool) -> None:
        self.inner.setVisible(on)
        self.off_label.setVisible(not on)

    def value(self) -> Any:
        return self.inner.value() if self.switch.isChecked() else None

    def set_value(self, value: Any) -> None:
        on = value is not None
        self.switch.blockSignals(True)
        self.switch.setChecked(on)
        self.switch.blockSignals(False)
        self._show(on)
        if on:
            self.inner.set_value(value)
        elif self.param.default is not None:
            self.inner.set_value(self.param.default)
        else:
            self.inner.set_value(self.param.low if self.param.low is not None else 1)


def _layers(param: Param, parent: QWidget | None) -> FieldEditor:
    from .layer_button import LayersField  # the layer editor needs the engine's layer catalogue

    return LayersField(param, parent)


EDITORS: dict[str, Callable[[Param, QWidget | None], FieldEditor]] = {
    "int": _Int,
    "float": _Text,
    "str": _Text,
    "floats": _Text,
    "ints": _Text,
    "strs": _Text,
    "bool": _Bool,
    "choice": _Choice,
    "layers": _layers,
}


def make_editor(param: Param, parent: QWidget | None = None) -> FieldEditor:
    editor = EDITORS[param.type](param, parent)
    editor.show_error(None)  # the editing widget exists now: give it the field's tooltip
    return _Optional(param, editor, parent) if param.optional else editor


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
        self._values = {p.name: p.default for p in params}
        for p in params:
            editor = make_editor(p, self)
            editor.set_value(p.default)
            editor.edited.connect(lambda v, name=p.name: self._edited(name, v))
            label = QLabel(p.name.replace("_", " "), self)
            label.setToolTip(p.help)
            label.setMinimumWidth(LABEL_WIDTH)  # stacked forms line up
            self.layout_.addRow(label, editor)
            self.editors[p.name] = editor
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
