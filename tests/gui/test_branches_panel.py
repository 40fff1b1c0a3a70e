"""Model builder on a model over named inputs: one branch editor per input, the merge, the
diagram's columns; live shapes and counts, errors named `branches.<input>[i]`, undo, save/load,
dataset switches."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QLabel

from mtl_gui.widgets.layer_list import LayerListEditor, fmt_count

CTR = "presets/ctr_esmm_mmoe.yaml"  # inputs user ids, item ids, history (10 item ids)


class Panels:
    """The Data and Model panels on their own session, with its undo history: what these
    tests read, without the main window's plots (a window costs seconds to build)."""

    def __init__(self, qtbot, runs: Path) -> None:  # noqa: ANN001 - pytest-qt's fixture
        from PySide6.QtWidgets import QHBoxLayout, QWidget

        from mtl_gui.panels.dataset import DatasetPanel
        from mtl_gui.panels.model import ModelPanel
        from mtl_gui.session import Session
        from mtl_gui.undo import SetupUndo

        self.session = Session(runs)
        self.setup_undo = SetupUndo(self.session)
        self.messages: list[str] = []
        self.session.message.connect(lambda kind, text, details: self.messages.append(text))
        self.host = QWidget()
        self.dataset_panel = DatasetPanel(self.session)
        self.model_panel = ModelPanel(self.session)
        lay = QHBoxLayout(self.host)
        lay.addWidget(self.dataset_panel)
        lay.addWidget(self.model_panel)
        qtbot.addWidget(self.host)
        self.session.open(CTR)

    def open_preset(self, path: Path | str) -> None:
        self.session.open(path)


@pytest.fixture
def ctr(qtbot, tmp_path: Path) -> Panels:  # noqa: ANN001 - pytest-qt's fixture
    panels = Panels(qtbot, tmp_path / "runs")
    assert panels.session.problem is None
    return panels


def _vocab(window: Panels, name: str) -> int:
    """An input's vocabulary, as the dataset declares it (the preset sets the user count)."""
    return next(i.vocab for i in window.session.check.spec.inputs if i.name == name)


def _shown_editors(panels: Panels) -> list[LayerListEditor]:
    return [e for e in panels.model_panel.branches.findChildren(LayerListEditor)
            if not e.isHidden()]


def _rows(editor: LayerListEditor) -> list[tuple[str, str, str, str]]:
    t = editor.table
    return [(t.verticalHeaderItem(i).text(), t.item(i, 0).text(), t.item(i, 2).text(),
             t.item(i, 3).text()) for i in range(t.rowCount())]


def test_the_preset_shows_one_editor_per_input_with_its_layers(ctr) -> None:
    branches = ctr.model_panel.branches
    assert not branches.isHidden()
    assert list(branches.editors) == ["user", "item", "history"]
    user, item, history = branches.editors.values()
    # embedding tables: vocab x dim; the history's ids are items
    rows = {r.where: r.n_params for r in ctr.session.check.summary.layers}
    assert rows["branches.user[0]"] == _vocab(ctr, "user") * 16
    assert rows["branches.history[0]"] == _vocab(ctr, "item") * 16
    assert _rows(user) == [("user[0]", "embedding", "(16)", fmt_count(_vocab(ctr, "user") * 16))]
    assert _rows(item) == [("item[0]", "embedding", "(16)", fmt_count(_vocab(ctr, "item") * 16))]
    assert _rows(history) == [
        ("history[0]", "embedding", "(10, 16)", fmt_count(_vocab(ctr, "item") * 16)),
        ("history[1]", "token_pool", "(16)", "0")]
    titles = [label.text() for label in history.findChildren(QLabel)
              if label.text().startswith("<b>")]
    assert titles == [f"<b>history: tokens (10), vocab {_vocab(ctr, 'item'):,}</b>"]
    assert branches.merge_combo.currentText() == "concat"
    assert "(48)" in branches.merge_shapes.text()  # 16 + 16 + 16
    assert "merged branches, shape (48)" in ctr.model_panel.input_label.text()
    # the Data tab lists the inputs where a one-input dataset shows its shape
    table = ctr.dataset_panel.inputs
    assert not table.isHidden()
    rows = [tuple(table.item(r, c).text() for c in range(5)) for r in range(table.rowCount())]
    user, item = f"{_vocab(ctr, 'user'):,}", f"{_vocab(ctr, 'item'):,}"
    assert rows == [("user", "ids", "()", "int64", user), ("item", "ids", "()", "int64", item),
                    ("history", "tokens", "(10)", "int64", item)]
    assert "3 named inputs" in ctr.dataset_panel.info.text()


def test_editing_a_branch_layer_updates_the_config_and_the_counts(ctr) -> None:
    user = ctr.model_panel.branches.editors["user"]
    total = ctr.session.check.summary.total_params
    user.select(0)
    user.form.editors["dim"].spin.setValue(8)
    assert ctr.session.draft["branches"]["user"][0]["dim"] == 8
    rows = {r.where: r for r in ctr.session.check.summary.layers}
    vocab = _vocab(ctr, "user")
    assert rows["branches.user[0]"].n_params == vocab * 8
    assert _rows(user)[0][2:] == ("(8)", fmt_count(vocab * 8))
    assert rows["merge"].out_shape == (40,)  # 8 + 16 + 16
    # 8 x vocab fewer embedding weights; the trunk's first linear reads 8 fewer features: 8 x 32
    # fewer weights in each of the 4 experts, and each of the 3 gates (48 -> 4) 8 x 4 fewer
    assert ctr.session.check.summary.total_params == \
        total - vocab * 8 - 4 * 8 * 32 - 3 * 8 * 4
    assert "(40)" in ctr.model_panel.branches.merge_shapes.text()
    assert ctr.session.problem is None


def test_a_branch_layer_that_does_not_fit_is_named_by_its_branch(ctr) -> None:
    history = ctr.model_panel.branches.editors["history"]
    history.select(1)  # after the token_pool: an lstm needs a sequence, it gets (16)
    history._add(history.add_combo.findText("lstm"))
    assert ctr.session.draft["branches"]["history"][2]["type"] == "lstm"
    problem = ctr.session.problem
    assert problem is not None and problem.startswith("branches.history[2]")
    assert not history.error_label.isHidden()
    assert history.error_label.text().startswith("branches.history[2]: lstm")
    assert history.table.verticalHeaderItem(2).text() == "history[2]"
    boxes = ctr.model_panel.diagram.layout_boxes(400)[0]
    broken = [b for b in boxes if b.broken]
    assert [b.text for b in broken] == ["lstm does not fit"]
    assert "branches.history[2]" in broken[0].tip
    history._remove()
    assert ctr.session.problem is None


def test_a_one_input_preset_has_no_branch_editors_until_its_dataset_has_inputs(window) -> None:
    """In the main window, on the default preset (MultiMNIST, one image input)."""
    branches = window.model_panel.branches
    assert branches.isHidden() and branches.editors == {}
    assert not window.model_panel.diagram.columns
    assert "branches" not in window.session.draft
    assert window.dataset_panel.inputs.isHidden()
    # switched to named inputs: a branch each, and LeNet cannot read the merged row: an MLP
    window.dataset_panel._switch("ctr_synthetic", {"n_samples": 2000, "n_users": 50,
                                                   "n_items": 40, "history": 5})
    d = window.session.draft
    assert set(d["branches"]) == {"user", "item", "history"}
    assert [layer["type"] for layer in d["trunk"]] == ["linear", "relu"] * 2  # not LeNet
    assert window.session.problem is None
    assert "MLP" in window.message_bar.text
    assert list(window.model_panel.branches.editors) == ["user", "item", "history"]
    assert not window.model_panel.branches.isHidden()


def test_undo_and_redo_a_branch_edit(ctr) -> None:
    item = ctr.model_panel.branches.editors["item"]
    item.select(0)
    item.form.editors["dim"].spin.setValue(4)
    assert _rows(item)[0][3] == fmt_count(_vocab(ctr, "item") * 4)
    ctr.setup_undo.undo()
    assert ctr.session.draft["branches"]["item"][0]["dim"] == 16
    assert _rows(item)[0][2:] == ("(16)", fmt_count(_vocab(ctr, "item") * 16))
    assert item.form.editors["dim"].spin.value() == 16
    ctr.setup_undo.redo()
    assert ctr.session.draft["branches"]["item"][0]["dim"] == 4


def test_the_merge_picker_and_its_parameters(ctr) -> None:
    branches = ctr.model_panel.branches
    offered = [branches.merge_combo.itemText(i) for i in range(branches.merge_combo.count())]
    assert {"concat", "sum", "cross_attention", "concat_fusion"} <= set(offered)
    branches.merge_combo.activated.emit(offered.index("concat_fusion"))  # the user picks it
    assert ctr.session.draft["merge"] == {"type": "concat_fusion",
                                          "params": {"width": 64, "bias": True}}
    branches.merge_form.editors["width"].spin.setValue(24)
    assert ctr.session.draft["merge"]["params"]["width"] == 24
    merge = next(r for r in ctr.session.check.summary.layers if r.where == "merge")
    assert merge.out_shape == (24,) and merge.n_params == 48 * 24 + 24  # linear 48 -> 24
    assert "(24)" in branches.merge_shapes.text()
    assert "width" in branches.merge_form.editors and not branches.merge_form.isHidden()


def test_save_and_reload_keep_the_branches(ctr, tmp_path: Path) -> None:
    history = ctr.model_panel.branches.editors["history"]
    history.select(1)
    history.form.editors["mode"].combo.setCurrentText("max")
    path = ctr.session.save(tmp_path / "mine.yaml")
    assert "history:" in path.read_text(encoding="utf-8")
    ctr.open_preset(path)
    assert ctr.session.draft["branches"]["history"][1] == {"type": "token_pool", "mode": "max"}
    assert _rows(ctr.model_panel.branches.editors["history"])[1][1] == "token_pool"


def test_the_diagram_has_a_box_per_branch_layer_and_the_merge(ctr) -> None:
    diagram = ctr.model_panel.diagram
    boxes, _ = diagram.layout_boxes(380)  # the Model tab's width in a 1400-wide window
    by_kind = {k: [b.text for b in boxes if b.kind == k] for k in ("input", "layer", "merge")}
    assert by_kind["input"] == ["user ids", "item ids", "history tokens 10"]
    assert by_kind["layer"] == ["embedding \u2192 16", "embedding \u2192 16",
                                "embedding \u2192 10x16", "token_pool \u2192 16"]
    assert by_kind["merge"] == ["concat \u2192 48"]
    # readable with three branches: no two boxes overlap, all inside the widget
    for i, a in enumerate(boxes):
        assert a.rect.left() >= 0 and a.rect.right() <= 380
        for b in boxes[i + 1:]:
            assert not a.rect.intersects(b.rect), (a.text, b.text)
    assert diagram.height() >= max(b.rect.bottom() for b in boxes)


def test_switching_datasets_keeps_or_clears_the_branches(ctr) -> None:
    ctr.dataset_panel._switch("penguins", {})
    d = ctr.session.draft
    assert "branches" not in d and "merge" not in d  # one input: no branches
    assert ctr.model_panel.branches.isHidden()
    assert _shown_editors(ctr) == []  # the old ones are gone from view at once
    assert ctr.session.problem is None  # the trunk's linear reads the flat features
    params = {"n_samples": 2000, "n_users": 50, "n_items": 40, "history": 5}
    ctr.dataset_panel._switch("ctr_synthetic", params)
    d = ctr.session.draft
    # every input gets a default branch that ends in one row, merged by concat
    assert [[layer["type"] for layer in d["branches"][n]] for n in d["branches"]] == \
        [["embedding"], ["embedding"], ["embedding", "token_pool"]]
    assert d["merge"]["type"] == "concat"
    assert ctr.session.problem is None
    assert list(ctr.model_panel.branches.editors) == ["user", "item", "history"]
    assert len(_shown_editors(ctr)) == 3
    # new parameters of the same dataset keep the user's branch layers
    user = ctr.model_panel.branches.editors["user"]
    user.select(0)
    user.form.editors["dim"].spin.setValue(8)
    ctr.dataset_panel._switch("ctr_synthetic", {**params, "history": 7})
    assert ctr.session.draft["branches"]["user"][0]["dim"] == 8
    rows = {r.where: r for r in ctr.session.check.summary.layers}
    assert rows["branches.history[0]"].out_shape == (7, 32)  # the embedding's default dim
