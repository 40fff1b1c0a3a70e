"""The input stage of a model over named inputs: one layer list per input, and the merge.

A dataset with named inputs (DatasetSpec.inputs) gives each input its own branch (config
`branches:`, the same layer specs as `trunk:`); the merge (registry MERGES) joins the branches'
outputs into the one row the trunk reads. Each branch is edited with the trunk's own
LayerListEditor; shapes, counts and errors come from the engine's summary rows
`branches.<input>[i]` and `merge`, as the trunk's come from `trunk[i]`. A one-input dataset shows
none of this.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from mtl_engine import LAYERS, MERGES
from mtl_engine.errors import fmt_shape

from ..widgets.layer_list import LayerListEditor, fmt_count
from ..widgets.param_form import ParamForm
from .base import error_label, heading, hint

DEFAULT_MERGE = "concat"
MAX_TABLE_ROWS = 6  # a longer branch scrolls inside its table


def input_title(spec: Any) -> str:
    """An input as its branch editor's title: "history: tokens (10), vocab 1,001"."""
    shape = fmt_shape(spec.shape) if spec.shape else "(one per sample)"
    vocab = f", vocab {spec.vocab:,}" if spec.vocab else ""
    return f"{spec.name}: {spec.kind} {shape}{vocab}"


def _layer(name: str) -> dict[str, Any]:
    return {"type": name, **LAYERS.get(name).defaults()}


def default_branch(spec: Any) -> list[dict[str, Any]]:
    """A branch that starts an input off with registry defaults and ends in one flat row, so
    the default merge (concat) takes it: ids / tokens are embedded (vocab and padding taken
    from the input), a sequence pooled or flattened, an image flattened, features passed on."""
    layers: list[dict[str, Any]] = []
    if spec.kind in ("ids", "tokens"):
        layers.append(_layer("embedding"))
        if spec.shape:
            layers.append(_layer("token_pool" if spec.kind == "tokens" else "flatten"))
    elif len(spec.shape) > 1:
        layers.append(_layer("flatten"))
    return layers


def fit_branches(d: dict[str, Any], spec: Any) -> bool:
    """Make the draft's branches those of `spec`'s inputs: a branch of an input the dataset
    still has is kept, a new input gets `default_branch`, the rest go; a one-input dataset has
    no `branches:` nor `merge:`. True when the draft changed."""
    before = (d.get("branches"), d.get("merge"))
    if not spec.multi_input:
        d.pop("branches", None)
        d.pop("merge", None)
    else:
        old = d.get("branches") if isinstance(d.get("branches"), dict) else {}
        d["branches"] = {i.name: old[i.name] if i.name in old else default_branch(i)
                         for i in spec.inputs}
        merge = d.get("merge") if isinstance(d.get("merge"), dict) else {}
        if merge.get("type") not in MERGES:
            d["merge"] = {"type": DEFAULT_MERGE, "params": MERGES.get(DEFAULT_MERGE).defaults()}
    return (d.get("branches"), d.get("merge")) != before


def reads_flat(spec: Any, summary: Any) -> bool:
    """Whether the trunk reads one flat row: a one-input dataset's (F,) features, or the
    merged branches of a model over named inputs (the merge row of the engine's summary)."""
    if not spec.multi_input:
        return len(spec.input_shape) == 1
    merge = next((r for r in summary.layers if r.where == "merge"), None) \
        if summary is not None else None
    return merge is not None and merge.out_shape is not None and len(merge.out_shape) == 1


def branch_inputs(draft: dict[str, Any], spec: Any) -> list[tuple[str, str]]:
    """(input name, title) per branch editor: the dataset's named inputs, then any branch the
    draft names that the dataset lacks (so its error has a place); none for one input."""
    shown: list[tuple[str, str]] = []
    if spec is not None and spec.multi_input:
        shown = [(i.name, input_title(i)) for i in spec.inputs]
    branches = draft.get("branches")
    if isinstance(branches, dict):
        known = {name for name, _ in shown}
        why = "not an input of this dataset" if spec is not None else "the dataset did not load"
        shown += [(str(name), f"{name}: {why}") for name in branches if name not in known]
    return shown


class BranchesEditor(QWidget):
    """One LayerListEditor per input plus the merge picker; edits go out as signals."""

    branch_edited = Signal(str, list)  # input name, its new layer list
    merge_picked = Signal(str)
    merge_params_edited = Signal(dict)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.editors: dict[str, LayerListEditor] = {}
        self._inputs: list[tuple[str, str]] | None = None  # None: not shown yet
        self.intro = hint("each input goes through its own layers; the merge joins them into "
                          "the one row the shared trunk reads")
        self.error = error_label()
        self.lists = QVBoxLayout()
        self.lists.setContentsMargins(0, 0, 0, 0)
        self.merge_combo = QComboBox(self)
        for entry in MERGES.entries():
            self.merge_combo.addItem(entry.name)
            self.merge_combo.setItemData(self.merge_combo.count() - 1, entry.summary,
                                         Qt.ItemDataRole.ToolTipRole)
        self.merge_combo.setToolTip("how the branches' outputs are joined (hover an entry for "
                                    "what it does)")
        self.merge_combo.activated.connect(
            lambda i: self.merge_picked.emit(self.merge_combo.itemText(i)))
        self.merge_help = hint()
        self.merge_form = ParamForm((), self)
        self.merge_form.values_changed.connect(self.merge_params_edited.emit)
        self.merge_shapes = hint()
        self.merge_error = error_label()

        row = QHBoxLayout()
        row.addWidget(QLabel("merge", self))
        row.addWidget(self.merge_combo, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(heading("Inputs and branches"))
        lay.addWidget(self.intro)
        lay.addWidget(self.error)
        lay.addLayout(self.lists)
        lay.addWidget(heading("Merge"))
        lay.addLayout(row)
        lay.addWidget(self.merge_help)
        lay.addWidget(self.merge_form)
        lay.addWidget(self.merge_shapes)
        lay.addWidget(self.merge_error)

    # ------------------------------------------------------------------ showing
    def set_inputs(self, inputs: list[tuple[str, str]]) -> None:
        """One editor per (name, title); rebuilt only when the inputs change."""
        if inputs == self._inputs:
            return
        self._inputs = list(inputs)
        for editor in self.editors.values():
            self.lists.removeWidget(editor)
            editor.hide()  # deleted later: until then it would still be drawn where it was
            editor.deleteLater()
        self.editors = {}
        for name, title in inputs:
            editor = LayerListEditor(title, self)
            editor.setObjectName(f"branch_{name}")
            editor.layers_changed.connect(
                lambda layers, name=name: self._edited(name, layers))
            self.lists.addWidget(editor)
            self.editors[name] = editor
        self.setVisible(bool(inputs))

    def set_model(self, draft: dict[str, Any]) -> None:
        branches = draft.get("branches") if isinstance(draft.get("branches"), dict) else {}
        for name, editor in self.editors.items():
            layers = branches.get(name)
            editor.set_layers(list(layers) if isinstance(layers, list) else [])
            _fit_table(editor)
        merge = draft.get("merge") if isinstance(draft.get("merge"), dict) else {}
        name = str(merge.get("type") or DEFAULT_MERGE)
        self.merge_combo.setCurrentText(name)
        if name in MERGES:
            entry = MERGES.get(name)
            paper = f" ({entry.paper})" if entry.paper and entry.paper not in entry.summary \
                else ""
            self.merge_help.setText(entry.summary + paper)
            self.merge_form.set_schema(entry.params)
            self.merge_form.set_values(merge.get("params") or {})
            self.merge_form.setVisible(bool(entry.params))

    def set_check(self, check: Any, rows: Any) -> None:
        """Shapes and errors from the session's check; `rows(prefix, n)` gives RowInfos."""
        for name, editor in self.editors.items():
            editor.set_info(rows(f"branches.{name}", len(editor.layers())))
        path = check.problem_path or ""
        shown_by_row = any(not e.error_label.isHidden() for e in self.editors.values())
        mine = path == "branches" or path.startswith("branches.")
        self.error.setVisible(bool(check.problem) and mine and not shown_by_row)
        self.error.setText(check.problem or "")
        self.merge_error.setVisible(bool(check.problem) and path.startswith("merge"))
        self.merge_error.setText(check.problem or "")
        summary = check.summary
        merge = next((r for r in summary.layers if r.where == "merge"), None) \
            if summary is not None else None
        if merge is None or merge.out_shape is None:
            self.merge_shapes.setText("")
            return
        joined = " + ".join(f"{n} {fmt_shape(s)}" for n, s in merge.in_shapes)
        self.merge_shapes.setText(f"{joined} \u2192 <b>{fmt_shape(merge.out_shape)}</b>, "
                                  f"{fmt_count(merge.n_params)} parameters")

    # ------------------------------------------------------------------ edits
    def _edited(self, name: str, layers: list[dict[str, Any]]) -> None:
        _fit_table(self.editors[name])
        self.branch_edited.emit(name, layers)


def _fit_table(editor: LayerListEditor) -> None:
    """A branch's table as tall as its layers (1 to MAX_TABLE_ROWS rows), so three branches
    and the trunk fit one scrolling panel."""
    table = editor.table
    rows = min(max(table.rowCount(), 1), MAX_TABLE_ROWS)
    height = (table.horizontalHeader().sizeHint().height()
              + rows * table.verticalHeader().defaultSectionSize() + 2 * table.frameWidth() + 2)
    table.setFixedHeight(height)
