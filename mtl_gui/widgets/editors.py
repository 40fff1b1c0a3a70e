"""The form editors' registry: one editor factory per Param type, looked up by the form.

An editor module registers its own type (``@register_editor("layers")`` on its class), so a new
Param type needs one new editor and no edit to the form. The package's ``__init__`` imports every
module that registers, so whoever imports a form finds all the editors in place; a tested
contract (tests/gui/test_editors.py) holds every type in mtl_engine's PARAM_TYPES to having one.

Every edit is checked with `Param.check`, the same check a preset goes through; a bad value stays
in the field, marked, with the engine's message as tooltip, and is not sent on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QWidget

from mtl_engine import Param
from mtl_engine.errors import ConfigError

# Dark text of its own: the pale red background stays readable in the dark theme too.
BAD_STYLE = "border: 1px solid #d9534f; background: #fdecea; color: #1a1a1a;"
# The editing widget of each editor, by the attribute name the editors use, so its tooltip can
# say what the field is (the container's tooltip is not the one a hovered spin box shows first).
INPUT_NAMES = ("edit", "spin", "box", "combo", "button")


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


EditorFactory = Callable[[Param, QWidget | None], FieldEditor]
FactoryT = TypeVar("FactoryT", bound=EditorFactory)

# Param type -> factory. Filled by the editor modules as they load (see the package __init__).
EDITORS: dict[str, EditorFactory] = {}


def register_editor(kind: str) -> Callable[[FactoryT], FactoryT]:
    """Decorator: `factory(param, parent)` edits Params of type `kind`. A type has one editor."""

    def add(factory: FactoryT) -> FactoryT:
        taken = EDITORS.get(kind)
        if taken is not None and taken is not factory:
            raise ValueError(f"form editor for Param type {kind!r}: already "
                             f"{getattr(taken, '__qualname__', taken)}, not also "
                             f"{getattr(factory, '__qualname__', factory)}")
        EDITORS[kind] = factory
        return factory

    return add


def editor_factory(param: Param) -> EditorFactory:
    """The registered factory for `param`'s type, or a LookupError naming the parameter."""
    factory = EDITORS.get(param.type)
    if factory is None:
        raise LookupError(f"parameter {param.name!r}: no form editor for Param type "
                          f"{param.type!r} (editors exist for {', '.join(sorted(EDITORS))})")
    return factory


class OptionalEditor(FieldEditor):
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


def make_editor(param: Param, parent: QWidget | None = None) -> FieldEditor:
    """The editor of `param`'s type, behind an on/off switch when the parameter is optional."""
    editor = editor_factory(param)(param, parent)
    editor.show_error(None)  # the editing widget exists now: give it the field's tooltip
    return OptionalEditor(param, editor, parent) if param.optional else editor
