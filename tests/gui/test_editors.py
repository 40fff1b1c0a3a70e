"""The form editors' registry: every engine Param type has an editor, a new type is one registered
editor (the form needs no edit), and a type without one is refused by name."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

import pytest
from PySide6.QtWidgets import QLineEdit, QWidget

from mtl_engine import PARAM_TYPES, Param
from mtl_engine.errors import ConfigError
from mtl_gui.widgets import editors
from mtl_gui.widgets.basic_editors import BoolEditor, ChoiceEditor, IntEditor, TextEditor
from mtl_gui.widgets.layer_button import LayersField
from mtl_gui.widgets.param_form import ParamForm

# One Param of each engine type, with the editor class it must get and a non-default value.
SAMPLES: dict[str, tuple[Param, type, Any]] = {
    "int": (Param("steps", "int", 3, low=1, high=9), IntEditor, 3),
    "float": (Param("alpha", "float", 0.25), TextEditor, 0.25),
    "bool": (Param("on", "bool", True), BoolEditor, True),
    "str": (Param("label", "str", "abc"), TextEditor, "abc"),
    "choice": (Param("mode", "choice", "b", choices=("a", "b")), ChoiceEditor, "b"),
    "floats": (Param("weights", "floats", [0.5, 1.25]), TextEditor, [0.5, 1.25]),
    "ints": (Param("sizes", "ints", [4, 8]), TextEditor, [4, 8]),
    "strs": (Param("names", "strs", ["p", "q"]), TextEditor, ["p", "q"]),
    "layers": (Param("block", "layers", [{"type": "linear", "out_features": 4}]), LayersField,
               [{"type": "linear", "out_features": 4}]),
}


def test_every_engine_param_type_has_an_editor_once_a_form_is_imported() -> None:
    # In a fresh interpreter that imports only the form: no other test's imports can fill the
    # registry, so an editor that the widgets package does not load shows up missing here.
    code = ("import mtl_engine\nfrom mtl_gui.widgets.param_form import ParamForm\n"
            "from mtl_gui.widgets.editors import EDITORS\n"
            "print(' '.join(t for t in mtl_engine.PARAM_TYPES if t not in EDITORS) or 'none')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["none"], f"Param types without a form editor: {out.stdout}"
    assert "layers" in PARAM_TYPES and len(PARAM_TYPES) >= 9


@pytest.mark.parametrize("kind", PARAM_TYPES)
def test_each_type_gets_its_editor_and_shows_its_value(qtbot, kind: str) -> None:
    assert kind in SAMPLES, f"add a sample Param of the new type {kind!r} to SAMPLES"
    param, editor_class, value = SAMPLES[kind]
    assert editors.EDITORS[kind] is editor_class
    form = ParamForm((param,))
    qtbot.addWidget(form)
    editor = form.editors[param.name]
    assert type(editor) is editor_class
    assert editor.value() == value and form.values() == {param.name: value}


@dataclass(frozen=True)
class ColourParam:
    """Param-like, of a type the engine does not have: a colour written #rrggbb."""

    name: str
    default: str = "#000000"
    help: str = "a colour, #rrggbb"
    type: str = "colour"
    optional: bool = False
    low: float | None = None

    def check(self, value: Any, path: str) -> str:
        if isinstance(value, str) and re.fullmatch(r"#[0-9a-f]{6}", value):
            return value
        raise ConfigError(path, f"must be a colour as #rrggbb, got {value!r}")


class ColourEditor(editors.FieldEditor):
    def __init__(self, param: Any, parent: QWidget | None = None) -> None:
        super().__init__(param, parent)
        self.edit = QLineEdit(self)
        self.edit.editingFinished.connect(lambda: self._submit(self.edit.text().strip()))

    def value(self) -> str:
        return self.edit.text()

    def set_value(self, value: Any) -> None:
        self.edit.setText(str(value))


@pytest.fixture
def registry(monkeypatch) -> dict:
    """A copy of the registry for the test to add to; the real one is put back afterwards."""
    copy = dict(editors.EDITORS)
    monkeypatch.setattr(editors, "EDITORS", copy)
    return copy


def test_a_registered_editor_for_a_new_type_is_what_the_form_uses(qtbot, registry) -> None:
    assert editors.register_editor("colour")(ColourEditor) is ColourEditor
    assert registry["colour"] is ColourEditor
    form = ParamForm((Param("alpha", "float", 0.5), ColourParam("tint")))
    qtbot.addWidget(form)
    got: list[dict] = []
    form.values_changed.connect(got.append)
    tint = form.editors["tint"]
    assert isinstance(tint, ColourEditor) and tint.edit.text() == "#000000"
    assert tint.edit.toolTip() == "a colour, #rrggbb"  # the form's tooltip rule applies to it
    tint.edit.setText("green")
    tint.edit.editingFinished.emit()
    assert got == [] and tint.error == "must be a colour as #rrggbb, got 'green'"
    tint.edit.setText("#00ff00")
    tint.edit.editingFinished.emit()
    assert got == [{"alpha": 0.5, "tint": "#00ff00"}] and tint.error is None


def test_an_optional_parameter_of_a_new_type_gets_the_switch(qtbot, registry) -> None:
    editors.register_editor("colour")(ColourEditor)
    form = ParamForm((ColourParam("tint", default=None, optional=True),))  # type: ignore[arg-type]
    qtbot.addWidget(form)
    got: list[dict] = []
    form.values_changed.connect(got.append)
    field = form.editors["tint"]
    assert isinstance(field, editors.OptionalEditor) and isinstance(field.inner, ColourEditor)
    field.inner.edit.setText("#0000ff")
    field.switch.setChecked(True)
    assert got == [{"tint": "#0000ff"}]


def test_a_type_without_an_editor_is_refused_naming_parameter_and_type(qtbot, registry) -> None:
    with pytest.raises(LookupError, match=r"^parameter 'tint': no form editor for Param type "
                                          r"'colour' \(editors exist for bool, choice, "):
        ParamForm((ColourParam("tint"),))


def test_a_type_has_one_editor(registry) -> None:
    with pytest.raises(ValueError, match=r"Param type 'int': already IntEditor, not also "
                                         r"ColourEditor"):
        editors.register_editor("int")(ColourEditor)
    assert registry["int"] is IntEditor
    editors.register_editor("int")(IntEditor)  # the same one again (a module reloaded): fine
