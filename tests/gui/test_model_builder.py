"""Model builder: edit the trunk and heads, see shapes and counts follow; bad shapes are named."""

from __future__ import annotations

from mtl_gui.widgets.layer_list import LayerListEditor


def _rows(editor: LayerListEditor) -> list[tuple[str, str, str]]:
    t = editor.table
    return [(t.item(i, 0).text(), t.item(i, 2).text(), t.item(i, 3).text())
            for i in range(t.rowCount())]


def test_trunk_shows_shapes_and_parameter_counts(window) -> None:
    rows = _rows(window.model_panel.trunk)
    # LeNet on 1 x 28 x 28: conv 1->10 k5 = 10*25+10 = 260 parameters, output (10, 24, 24)
    assert rows[0] == ("conv2d", "(10, 24, 24)", "260")
    assert rows[7] == ("flatten", "(320)", "0")
    # linear 320 -> 50: 320 * 50 + 50 = 16,050 parameters, shown as 16.1k
    assert rows[8] == ("linear", "(50)", "16.1k")


def test_editing_a_layer_updates_its_shape_the_next_ones_and_the_totals(window) -> None:
    trunk = window.model_panel.trunk
    trunk.select(0)
    trunk.form.editors["out_channels"].spin.setValue(16)
    rows = _rows(trunk)
    assert rows[0] == ("conv2d", "(16, 24, 24)", "416")  # 16 * 25 + 16
    assert rows[3][2] == str(20 * 16 * 25 + 20)  # the next conv now reads 16 channels
    assert window.session.draft["trunk"][0]["out_channels"] == 16
    assert window.session.dirty
    # the engine's summary agrees with what the table shows
    assert window.session.check.summary.layers[0].n_params == 416
    assert "in all" in window.model_panel.counts.text()


def test_add_remove_and_reorder_layers(window) -> None:
    trunk = window.model_panel.trunk
    n = len(trunk.layers())
    trunk.select(n - 1)
    trunk._add(trunk.add_combo.findText("linear"))
    assert [layer["type"] for layer in window.session.draft["trunk"]][-1] == "linear"
    assert _rows(trunk)[-1][1] == "(64)"  # the linear default width
    trunk._move(-1)
    assert [layer["type"] for layer in window.session.draft["trunk"]][-2:] == ["linear", "relu"]
    trunk._remove()
    assert len(window.session.draft["trunk"]) == n
    assert window.session.problem is None


def test_a_shape_that_does_not_fit_is_shown_at_its_layer_and_blocks_start(window) -> None:
    trunk = window.model_panel.trunk
    trunk.select(7)  # flatten -> linear: move the linear above the flatten
    trunk.select(8)
    trunk._move(-1)
    problem = window.session.problem
    assert problem is not None and "trunk[7]" in problem and "linear" in problem
    assert not window.controls.start_btn.isEnabled()
    assert "Start is disabled" in window.controls.reason.text()
    assert "trunk[7]" in window.controls.reason.text()
    assert trunk.table.item(7, 0).toolTip()  # the broken row carries the engine's message
    assert not trunk.error_label.isHidden()
    assert trunk.error_label.text().startswith("trunk[7]: linear")  # numbered as the top bar
    trunk._move(1)  # put it back: everything fits again
    assert window.session.problem is None
    assert window.controls.start_btn.isEnabled()


def test_head_layers_loss_metric_weight_and_switch_per_task(window) -> None:
    tasks = window.tasks_panel
    tasks.list.setCurrentRow(1)
    head = tasks.head
    head.select(0)
    head.form.editors["out_features"].spin.setValue(32)
    assert window.session.draft["tasks"][1]["head"][0]["out_features"] == 32
    assert _rows(head)[0] == ("linear", "(32)", str(50 * 32 + 32))
    assert "(32) \u2192 (10)" in tasks.output_label.text()
    tasks.weight_spin.setValue(2.5)
    assert window.session.draft["tasks"][1]["weight"] == 2.5
    tasks.loss_combo.setCurrentIndex(tasks.loss_combo.findText("cross_entropy"))
    tasks._set_choice("loss", tasks.loss_combo)
    assert window.session.draft["tasks"][1]["loss"] == "cross_entropy"
    # only metrics that fit a classification task are offered
    offered = [tasks.metric_combo.itemText(i) for i in range(tasks.metric_combo.count())]
    assert "accuracy" in offered and "mse" not in offered
    tasks.enabled_box.setChecked(False)
    assert window.session.draft["tasks"][1]["enabled"] is False
    assert window.session.check.summary.task_params == {"left": 50 * 50 + 50 + 510}
    tasks.list.setCurrentRow(0)
    tasks.enabled_box.setChecked(False)
    assert "at least one task" in window.session.problem
    assert not window.controls.start_btn.isEnabled()


def test_sharing_scheme_and_its_parameters(window) -> None:
    panel = window.model_panel
    panel._scheme_picked(panel.scheme_combo.findText("mmoe"))
    assert window.session.draft["sharing"] == {"scheme": "mmoe", "params": {"experts": 4}}
    shared_4 = window.session.check.summary.shared_params
    panel.scheme_form.editors["experts"].spin.setValue(2)
    assert window.session.draft["sharing"]["params"]["experts"] == 2
    assert window.session.check.summary.shared_params < shared_4
    assert "mmoe" in panel.diagram.trunk_text


def test_changing_dataset_brings_its_tasks_and_a_trunk_that_fits(window) -> None:
    panel = window.dataset_panel
    panel.combo.setCurrentText("penguins")
    panel._picked(panel.combo.findText("penguins"))
    names = [t["name"] for t in window.session.draft["tasks"]]
    assert names == ["species", "sex", "body_mass"]
    assert panel.tasks.rowCount() == 3
    # the LeNet trunk cannot read penguins' flat features: it is replaced, and the user told why
    assert [layer["type"] for layer in window.session.draft["trunk"]] == ["linear", "relu"] * 2
    assert "conv2d" in window.message_bar.text and "MLP" in window.message_bar.text
    assert window.session.problem is None


def test_a_shape_error_after_a_dataset_change_names_the_layer(window) -> None:
    window.session.set_dataset("digits", {"image": True})  # 8 x 8 images: LeNet is too deep
    problem = window.session.problem
    assert problem is not None and problem.startswith("trunk[")


def test_renaming_a_task_keeps_its_dataset_target(window) -> None:
    tasks = window.tasks_panel
    tasks.list.setCurrentRow(0)
    tasks.name_edit.setText("top_left")
    tasks.name_edit.editingFinished.emit()
    t = window.session.draft["tasks"][0]
    assert (t["name"], t["target"]) == ("top_left", "left")
    assert window.session.problem is None
    assert tasks.list.item(0).text() == "top_left"


def test_a_layer_list_parameter_of_a_sharing_scheme(window, monkeypatch) -> None:
    from PySide6.QtWidgets import QDialog

    from mtl_gui.widgets.layer_button import LayersField

    panel = window.model_panel
    panel._scheme_picked(panel.scheme_combo.findText("task_specific"))
    field = panel.scheme_form.editors["private"]
    assert isinstance(field, LayersField)
    assert field.button.text().startswith("2 layers: linear, relu")

    def edit_and_accept(dialog: QDialog) -> int:  # what a user does in the dialog
        editor = dialog.findChild(type(panel.trunk))
        editor.select(0)
        editor.form.editors["out_features"].spin.setValue(8)
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(QDialog, "exec", edit_and_accept)
    field.open_editor()
    assert window.session.draft["sharing"]["params"]["private"][0]["out_features"] == 8
    assert window.session.problem is None
    private = [r for r in window.session.check.summary.layers
               if r.where.startswith("sharing.params.private")]
    assert private[0].out_shape == (8,) and private[0].copies == 2


def _offered(combo) -> list[str]:  # noqa: ANN001
    return [combo.itemText(i) for i in range(combo.count())]


def test_the_metric_picker_offers_what_the_engine_accepts_for_the_task(window) -> None:
    # IoU needs 4 values per row (a box); the engine refuses it elsewhere (tasks[i].metric), so
    # the picker offers it only to such a task
    assert window.new_from("mnist_localisation")
    tasks = window.tasks_panel
    names = [t["name"] for t in window.session.draft["tasks"]]
    tasks.list.setCurrentRow(names.index("box"))
    box = _offered(tasks.metric_combo)
    assert "iou" in box and "mse" in box and "accuracy" not in box
    assert window.new_from("solar_flare_counts")  # regression tasks with one value each
    for row in range(len(window.session.draft["tasks"])):
        tasks.list.setCurrentRow(row)
        offered = _offered(tasks.metric_combo)
        assert offered and "iou" not in offered, offered
