"""The import dialog on a 14-label file (issue 12, point 5): guesses as defaults (no label among
the inputs), many columns set at once, delimiter and encoding choices, and a fresh setup."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt

from mtl_gui.document import head_for
from mtl_gui.panels.import_dialog import INPUT, ImportDialog

LABELS = [f"Class{k}" for k in range(1, 11)] + ["happy", "sad", "calm", "angry"]
FEATURES = [f"Att{k}" for k in range(1, 7)]


def fourteen_labels(path: Path, n: int = 120, sep: str = ",") -> Path:
    """An id, six measurements, a text column, then 14 binary labels (ten ClassK, four not)."""
    rng = np.random.default_rng(0)
    rows = [sep.join(["id", *FEATURES, "site", *LABELS])]
    for i in range(n):
        atts = [f"{v:.4f}" for v in rng.normal(size=6)]
        ys = [str(int(v)) for v in rng.integers(0, 2, size=len(LABELS))]
        rows.append(sep.join([str(i + 1), *atts, ["north", "south", "east"][i % 3], *ys]))
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def opened(qtbot, path: Path) -> ImportDialog:  # noqa: ANN001 - pytest-qt's fixture
    dialog = ImportDialog()
    qtbot.addWidget(dialog)
    assert dialog.set_path(str(path))
    return dialog


def test_no_label_of_a_14_label_file_defaults_to_an_input(qtbot, tmp_path: Path) -> None:
    dialog = opened(qtbot, fourteen_labels(tmp_path / "emotions.csv"))
    roles = dialog.mapping()
    assert len(roles) == 22
    assert [name for name, role in roles.items() if role == INPUT] == [*FEATURES, "site"]
    assert {roles[label] for label in LABELS} == {"binary task"}
    assert roles["id"] == "ignore"
    assert dialog.counts.text() == "7 inputs, 14 tasks, 1 left out"
    # the reason is shown beside each role
    why = {dialog.roles.item(i, 0).text(): dialog.roles.item(i, 2).text()
           for i in range(dialog.roles.rowCount())}
    assert why["happy"] == "2 values (0, 1): a likely label" and "id" in why["id"]
    assert dialog.try_accept()
    assert dialog.result_params["tasks"] == [f"{label}:binary" for label in LABELS]
    assert dialog.result_params["inputs"] == [*FEATURES, "site"]


def test_many_columns_get_a_role_at_once(qtbot, tmp_path: Path) -> None:
    dialog = opened(qtbot, fourteen_labels(tmp_path / "emotions.csv"))
    dialog.show()
    # ctrl-click two rows, as a user would, then set them together
    for name in ("happy", "sad"):
        row = next(i for i in range(dialog.roles.rowCount())
                   if dialog.roles.item(i, 0).text() == name)
        rect = dialog.roles.visualItemRect(dialog.roles.item(row, 0))
        qtbot.mouseClick(dialog.roles.viewport(), Qt.MouseButton.LeftButton,
                         Qt.KeyboardModifier.ControlModifier, rect.center())
    assert dialog.selected_columns() == ["happy", "sad"]
    dialog.bulk_role.setCurrentText("ignore")
    dialog.bulk_apply.click()
    roles = dialog.mapping()
    assert roles["happy"] == roles["sad"] == "ignore" and roles["calm"] == "binary task"
    dialog.select_columns(LABELS[:10])
    assert dialog.set_selected("classification task") == 10
    assert {dialog.mapping()[label] for label in LABELS[:10]} == {"classification task"}
    assert dialog.mapping()["Att1"] == INPUT  # unselected rows keep their roles


def test_delimiter_and_encoding_choices_reread_the_file(qtbot, tmp_path: Path) -> None:
    path = tmp_path / "caf\u00e9s.txt"
    path.write_bytes("x;place;y\n1,5;caf\u00e9;0\n2,5;bar;1\n3,5;caf\u00e9;0\n".encode("latin-1"))
    dialog = ImportDialog()
    qtbot.addWidget(dialog)
    assert not dialog.set_path(str(path))
    assert "encoding: latin-1" in dialog.error.text()
    dialog.encoding.setCurrentText("latin-1")
    dialog._reread()
    assert dialog.error.isHidden() and dialog.preview.item(0, 1).text() == "caf\u00e9"
    assert dialog.params()["delimiter"] == ";" and dialog.params()["encoding"] == "latin-1"
    # a wrong choice is named (the decimal commas split rows the header does not have);
    # "auto" sniffs again
    dialog.delimiter.setCurrentIndex(dialog.delimiter.findData("comma"))
    dialog._reread()
    assert "check the delimiter (',')" in dialog.error.text()
    assert dialog.preview.rowCount() == 0 and dialog.roles.rowCount() == 0
    dialog.delimiter.setCurrentIndex(dialog.delimiter.findData("auto"))
    dialog._reread()
    assert dialog.preview.columnCount() == 3 and dialog.try_accept()
    spaced = fourteen_labels(tmp_path / "spaced.txt", sep="   ")
    assert dialog.set_path(str(spaced))
    assert dialog.preview.columnCount() == 22 and dialog.params()["delimiter"] == "whitespace"


def test_an_import_starts_a_fresh_setup(qtbot, window, tmp_path: Path) -> None:
    before = window.session.draft
    assert before["strategy"]["name"] != "equal"  # the default preset weights otherwise
    dialog = opened(qtbot, fourteen_labels(tmp_path / "emotions.csv"))
    assert dialog.try_accept()
    window.dataset_panel.import_file(dialog.result_kind, dialog.result_params)
    draft = window.session.draft
    assert draft["name"] == "emotions" and window.session.run_name() == "emotions"
    assert "emotions.csv" in draft["description"]
    assert draft["strategy"] == {"name": "equal", "params": {}}
    assert draft["sharing"] == {"scheme": "hard", "params": {}}
    assert [t["name"] for t in draft["tasks"]] == LABELS
    # one hidden layer per head, sized for the task (1 logit: the floor of 16), not the
    # preset's 50 units
    assert {t["head"][0]["out_features"] for t in draft["tasks"]} == {16}
    assert [head_for(n)[0]["out_features"] for n in (1, 3, 10, 100)] == [16, 16, 40, 64]
    assert all(t["weight"] == 1.0 and t["enabled"] for t in draft["tasks"])
    assert window.session.problem is None, window.session.problem
    assert window.session.check.spec.input_shape == (6 + 3,)  # site one-hot: 3 features
    assert draft["trunk"][0] == {"type": "linear", "out_features": 64, "bias": True}
