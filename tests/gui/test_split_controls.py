"""The window's controls for the split (test fraction, stratification) and class weights: each
writes its preset field only when it leaves the default, and the run takes it."""

from __future__ import annotations

from mtl_engine import config_from_dict


def test_test_fraction_and_stratify_reach_the_preset_and_return_to_unwritten(window) -> None:
    panel, s = window.dataset_panel, window.session
    assert "test_fraction" not in s.draft["data"] and "stratify" not in s.draft["data"]
    panel.test_spin.setValue(0.25)
    assert s.draft["data"]["test_fraction"] == 0.25
    assert window.undo_action.text().replace("&", "") == "Undo change test fraction"
    names = [panel.stratify_combo.itemData(i) for i in range(panel.stratify_combo.count())]
    tasks = [t["name"] for t in s.draft["tasks"]]
    assert names == [None, *tasks]  # MultiMNIST's two digit tasks are classification tasks
    panel.stratify_combo.setCurrentIndex(1)
    panel.stratify_combo.activated.emit(1)
    assert s.draft["data"]["stratify"] == tasks[0]
    config = config_from_dict(s.draft)
    assert (config.data.test_fraction, config.data.stratify) == (0.25, tasks[0])
    panel.stratify_combo.setCurrentIndex(0)
    panel.stratify_combo.activated.emit(0)
    panel.test_spin.setValue(0.0)
    assert "test_fraction" not in s.draft["data"] and "stratify" not in s.draft["data"]


def test_class_weights_are_set_per_task_and_only_for_labels(window) -> None:
    panel, s = window.tasks_panel, window.session
    panel.list.setCurrentRow(0)
    assert panel.class_weight_combo.isEnabled()
    panel.class_weight_combo.setCurrentIndex(1)
    panel.class_weight_combo.activated.emit(1)
    assert s.draft["tasks"][0]["class_weight"] == "balanced"
    assert config_from_dict(s.draft).tasks[0].class_weight == "balanced"
    assert window.undo_action.text().replace("&", "").startswith("Undo change class weights of")
    panel.class_weight_combo.setCurrentIndex(0)
    panel.class_weight_combo.activated.emit(0)
    assert "class_weight" not in s.draft["tasks"][0]
