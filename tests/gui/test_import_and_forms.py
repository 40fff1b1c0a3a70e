"""Importing a CSV/NPZ through the dialog, and the forms generated from registry schemas."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mtl_engine.registry import STRATEGIES, Param
from mtl_gui.panels.import_dialog import ImportDialog, file_filter
from mtl_gui.widgets.param_form import ParamForm


def _csv(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join(rows) + "\n")
    return path


def test_csv_import_maps_columns_to_inputs_and_tasks(qtbot, window, tmp_path: Path) -> None:
    rows = ["a,b,kind,size"] + [f"{i},{i * 2 % 7},{'xy'[i % 2]},{i * 0.5}" for i in range(40)]
    path = _csv(tmp_path / "data.csv", rows)
    dialog = ImportDialog(window)
    qtbot.addWidget(dialog)
    assert dialog.set_path(str(path))
    assert dialog.preview.columnCount() == 4 and dialog.preview.rowCount() == 20
    # the guesses from every row: a row number, a discrete and a continuous input, a label
    assert dialog.mapping() == {"a": "ignore", "b": "input", "kind": "binary task",
                                "size": "input"}
    dialog.set_role("a", "input")
    dialog.set_role("size", "regression task")
    assert dialog.try_accept()
    assert dialog.result_params["tasks"] == ["kind:binary", "size:regression"]
    assert dialog.result_params["inputs"] == ["a", "b"]
    window.dataset_panel._switch(dialog.result_kind, dialog.result_params)
    assert window.session.draft["data"]["dataset"] == "csv"
    assert [t["name"] for t in window.session.draft["tasks"]] == ["kind", "size"]
    assert window.session.check.spec.input_shape == (2,)


def test_a_broken_csv_is_reported_in_the_dialog_and_changes_nothing(qtbot, window,
                                                                     tmp_path: Path) -> None:
    before = window.session.draft
    rows = ["x1,x2,label", "1,2,a", "3,oops,b", "5,6,a"]
    path = _csv(tmp_path / "broken.csv", rows)
    dialog = ImportDialog(window)
    qtbot.addWidget(dialog)
    assert dialog.set_path(str(path))
    dialog.set_role("label", "classification task")
    assert not dialog.try_accept()
    message = dialog.error.text()
    assert "broken.csv" in message and "x2" in message and "row 3" in message
    assert dialog.result_params is None
    assert window.session.draft == before
    assert not dialog.set_path(str(tmp_path / "missing.csv"))
    assert "file not found" in dialog.error.text()


def test_npz_import_offers_its_arrays(qtbot, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    path = tmp_path / "d.npz"
    np.savez(path, x=rng.normal(size=(30, 4)).astype(np.float32), y=rng.integers(0, 3, 30),
             z=rng.normal(size=30))
    dialog = ImportDialog()
    qtbot.addWidget(dialog)
    assert dialog.set_path(str(path))
    assert dialog.mapping() == {"x": "input", "y": "ignore", "z": "ignore"}
    dialog.set_role("y", "classification task")
    dialog.set_role("z", "regression task")
    assert dialog.try_accept()
    assert dialog.result_kind == "npz"
    assert dialog.result_params["tasks"] == ["y:classification", "z:regression"]


def test_the_importer_follows_the_suffix_and_sets_its_own_defaults(qtbot, tmp_path: Path
                                                                    ) -> None:
    np.savez(tmp_path / "d.npz", x=np.zeros((4, 2)), y=np.array([0, 1, 0, 1]))
    tsv = _csv(tmp_path / "d.TSV", ["a\tb\tc", "1\t2\t0", "3\t4\t1", "5\t6\t0"])
    dialog = ImportDialog()
    qtbot.addWidget(dialog)
    assert dialog.set_path(str(tmp_path / "d.npz"))
    assert dialog.kind == "npz" and not dialog.standardize.isChecked()  # npz's default
    assert "inputs" not in dialog.params() and "delimiter" not in dialog.params()
    assert dialog.set_path(str(tsv))
    assert dialog.kind == "csv" and dialog.standardize.isChecked()  # csv's default
    assert dialog.mapping() == {"a": "input", "b": "input", "c": "binary task"}
    assert dialog.params() == {"path": str(tsv), "tasks": ["c:binary"], "standardize": True,
                               "inputs": ["a", "b"], "delimiter": "\t"}
    assert dialog.try_accept() and dialog.result_kind == "csv"


def test_the_file_dialog_offers_the_declared_suffixes() -> None:
    patterns = file_filter().removeprefix("Data files (").split(")")[0].split()
    assert {"*.csv", "*.tsv", "*.txt", "*.npz"} <= set(patterns) and "*" not in patterns
    assert file_filter("npz") == "Data files (*.npz);;All files (*)"


def test_param_form_checks_values_like_a_preset_would(qtbot) -> None:
    schema = (Param("alpha", "float", 1.5, "how much", low=0.0, high=10.0),
              Param("steps", "int", 3, low=1),
              Param("mode", "choice", "a", choices=("a", "b")),
              Param("cap", "float", None, low=0.0, optional=True),
              Param("names", "strs", ["p"]))
    form = ParamForm(schema)
    qtbot.addWidget(form)
    got: list[dict] = []
    form.values_changed.connect(got.append)
    alpha = form.editors["alpha"]
    alpha.edit.setText("20")
    alpha.edit.editingFinished.emit()
    assert got == [] and "[0, 10]" in alpha.error  # the engine's own message
    alpha.edit.setText("0.25")
    alpha.edit.editingFinished.emit()
    assert got[-1]["alpha"] == 0.25 and alpha.error is None
    form.editors["cap"].switch.setChecked(True)
    assert got[-1]["cap"] == 0.0
    form.editors["cap"].switch.setChecked(False)
    assert got[-1]["cap"] is None
    form.editors["mode"].combo.setCurrentText("b")
    names = form.editors["names"]
    names.edit.setText("p, q ,r")
    names.edit.editingFinished.emit()
    assert got[-1] == {"alpha": 0.25, "steps": 3, "mode": "b", "cap": None,
                       "names": ["p", "q", "r"]}
    form.set_values({"alpha": 1e-05})
    assert alpha.edit.text() == "1e-05"  # exact repr: a reloaded preset saves back unchanged


def test_strategy_picker_lists_every_strategy_with_its_form(window) -> None:
    panel = window.strategy_panel
    listed = [panel.combo.itemData(i) for i in range(panel.combo.count())
              if panel.combo.itemData(i)]
    assert sorted(listed) == sorted(STRATEGIES.names())
    headers = [panel.combo.itemText(i) for i in range(panel.combo.count())
               if not panel.combo.itemData(i)]
    assert headers[0] == "\u2014 Loss weighting \u2014"
    panel._picked(panel.combo.findData("dwa"))
    assert window.session.draft["strategy"]["name"] == "dwa"
    assert set(panel.form.editors) == {p.name for p in STRATEGIES.get("dwa").params}
    assert panel.summary.text() == STRATEGIES.get("dwa").summary


def test_picking_a_strategy_moves_grad_mode_to_one_it_works_with(window) -> None:
    panel = window.strategy_panel
    panel._picked(panel.combo.findData("graddrop"))  # the representation's gradient only
    assert window.session.draft["strategy"]["grad_mode"] == "representation"
    assert panel.mode_combo.currentText() == "representation"
    assert not window.session.problem
    panel._picked(panel.combo.findData("mgda"))  # either: the mode stays as it is
    assert window.session.draft["strategy"]["grad_mode"] == "representation"
    panel._picked(panel.combo.findData("db_mtl"))  # running averages: shared parameters only
    assert window.session.draft["strategy"]["grad_mode"] == "shared"
    assert not window.session.problem


def test_training_panel_offers_only_present_devices(window) -> None:
    from mtl_engine.build import available_devices

    combo = window.training_panel.train_form.editors["device"].combo
    assert [combo.itemText(i) for i in range(combo.count())] == available_devices()
    epochs = window.training_panel.train_form.editors["epochs"].spin
    epochs.setValue(7)
    assert window.session.draft["training"]["epochs"] == 7
    window.session.edit(lambda d: d["training"].update(device="mps"))
    if "mps" not in available_devices():
        assert "training.device" in window.session.problem


def test_the_tasks_table_shows_classes_and_values_per_row(window, qtbot) -> None:
    from mtl_engine.presets import load

    window.session.load_config(load("gradnorm_toy_gradnorm"), None)
    table = window.dataset_panel.tasks
    qtbot.waitUntil(lambda: table.rowCount() == 2, timeout=10000)
    assert table.horizontalHeaderItem(2).text() == "classes / values"
    assert [table.item(r, 2).text() for r in range(2)] == ["100 values", "100 values"]
    window.session.load_config(load("penguins_mixed"), None)
    qtbot.waitUntil(lambda: table.item(0, 0).text() == "species", timeout=10000)
    sizes = {table.item(r, 0).text(): table.item(r, 2).text() for r in range(table.rowCount())}
    assert sizes == {"species": "3", "sex": "2", "body_mass": "-"}
