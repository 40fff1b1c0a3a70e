"""Model builder: the shared trunk as an editable layer list, the sharing scheme, and a diagram;
for a dataset with named inputs, one layer list per input and their merge above the trunk
(branches.py).

Shapes and parameter counts come from the engine's model summary (shape inference only, no
weights), recomputed by the session on every edit; the layer that breaks is shown in red with the
engine's message, and the same message is why Start is disabled.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from mtl_engine import MERGES, SHARING
from mtl_engine.errors import fmt_shape

from ..session import Session
from ..widgets.layer_list import LayerListEditor, RowInfo, fmt_count
from ..widgets.param_form import ParamForm
from .base import Panel, error_label, heading, hint
from .branches import BranchesEditor, branch_inputs
from .diagram import ModelDiagram


def row_infos(summary: Any, prefix: str, n: int) -> list[RowInfo]:
    """RowInfo for layers ``prefix[0..n)`` from a ModelSummary (blank where it has none)."""
    by_where = {r.where: r for r in summary.layers} if summary is not None else {}
    out = []
    for i in range(n):
        r = by_where.get(f"{prefix}[{i}]")
        if r is None:
            out.append(RowInfo())
            continue
        known = r.out_shape is not None
        shape = fmt_shape(r.out_shape) if known else "?"
        copies = f" x{r.copies}" if r.copies > 1 else ""
        # A layer after the one that does not fit has no known input, so no known count.
        out.append(RowInfo(shape + copies, r.n_params if known or r.n_params else None,
                           r.error or "", r.where))
    return out


def counts_text(summary: Any) -> str:
    """The parameter line under the diagram; a model that does not fit has no total yet."""
    if summary is None:
        return ""
    if not summary.ok:
        where = summary.error_path or "a layer"
        return (f"parameters: <b>not known</b>: the model does not fit at {where} "
                f"(the layers before it hold {fmt_count(summary.total_params)})")
    per_task = ", ".join(f"{t} {fmt_count(n)}" for t, n in summary.task_params.items())
    return (f"parameters: <b>{fmt_count(summary.total_params)}</b> in all; "
            f"shared {fmt_count(summary.shared_params)}; per task: {per_task}")


class ModelPanel(Panel):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(session, parent)
        self.diagram = ModelDiagram(self)
        self.scheme_combo = QComboBox(self)
        for entry in SHARING.entries():
            self.scheme_combo.addItem(entry.name)
            self.scheme_combo.setItemData(self.scheme_combo.count() - 1, entry.summary,
                                          Qt.ItemDataRole.ToolTipRole)
        self.scheme_combo.setToolTip("how the tasks share the trunk's parameters (hover an "
                                     "entry for the scheme's summary)")
        self.scheme_combo.activated.connect(self._scheme_picked)
        self.scheme_help = hint()
        self.scheme_form = ParamForm((), self)
        self.scheme_form.values_changed.connect(self._scheme_params)
        self.scheme_error = error_label()
        self.trunk = LayerListEditor("", self)
        self.trunk.layers_changed.connect(self._trunk_edited)
        self.counts = QLabel(self)
        self.counts.setWordWrap(True)
        self.input_label = hint()
        self.branches = BranchesEditor(self)
        self.branches.branch_edited.connect(self._branch_edited)
        self.branches.merge_picked.connect(self._merge_picked)
        self.branches.merge_params_edited.connect(self._merge_params)

        row = QHBoxLayout()
        row.addWidget(QLabel("scheme", self))
        row.addWidget(self.scheme_combo, 1)
        lay = QVBoxLayout(self)
        lay.addWidget(self.diagram)
        lay.addWidget(self.counts)
        lay.addWidget(self.branches)  # in the diagram's order: branches, merge, shared part
        lay.addWidget(heading("Sharing"))
        lay.addLayout(row)
        lay.addWidget(self.scheme_help)
        lay.addWidget(self.scheme_form)
        lay.addWidget(self.scheme_error)
        lay.addWidget(heading("Shared trunk"))
        lay.addWidget(self.input_label)
        lay.addWidget(self.trunk, 1)

    def section(self, draft: dict[str, Any]) -> Any:
        # the dataset's inputs too: a new dataset brings other branch editors
        return (draft.get("trunk"), draft.get("sharing"), draft.get("branches"),
                draft.get("merge"), branch_inputs(draft, self.session.check.spec))

    def render(self, draft: dict[str, Any]) -> None:
        sharing = draft.get("sharing") or {}
        name = sharing.get("scheme", "hard")
        self.scheme_combo.setCurrentText(name)
        if name in SHARING:
            entry = SHARING.get(name)
            self.scheme_help.setText(entry.summary)
            self.scheme_form.set_schema(entry.params)
            self.scheme_form.set_values(sharing.get("params") or {})
            self.scheme_form.setVisible(bool(entry.params))
        self.branches.set_inputs(branch_inputs(draft, self.session.check.spec))
        self.branches.set_model(draft)
        self.trunk.set_layers(list(draft.get("trunk") or []))

    def on_checked(self) -> None:
        check = self.session.check
        summary = check.summary
        self.trunk.set_info(row_infos(summary, "trunk", len(self.trunk.layers())))
        self.branches.set_check(check, lambda prefix, n: row_infos(summary, prefix, n))
        path = check.problem_path or ""
        self.scheme_error.setVisible(bool(check.problem) and path.startswith("sharing"))
        self.scheme_error.setText(check.problem or "")
        spec = check.spec
        self.input_label.setText(_trunk_input(spec, summary))
        self.diagram.set_model(self.session.draft, summary, spec)
        self.counts.setText(counts_text(summary))

    # ------------------------------------------------------------------ edits
    def _scheme_picked(self, index: int) -> None:
        name = self.scheme_combo.itemText(index)

        def mutate(d: dict[str, Any]) -> None:
            d["sharing"] = {"scheme": name, "params": SHARING.get(name).defaults()}

        self.edit(mutate, rerender=True)

    def _scheme_params(self, values: dict[str, Any]) -> None:
        def mutate(d: dict[str, Any]) -> None:
            d.setdefault("sharing", {})["params"] = values

        self.edit(mutate)

    def _branch_edited(self, name: str, layers: list[dict[str, Any]]) -> None:
        def mutate(d: dict[str, Any]) -> None:
            branches = d.get("branches")
            d["branches"] = {**(branches if isinstance(branches, dict) else {}), name: layers}

        self.edit(mutate)

    def _merge_picked(self, name: str) -> None:
        def mutate(d: dict[str, Any]) -> None:
            d["merge"] = {"type": name, "params": MERGES.get(name).defaults()}

        self.edit(mutate, rerender=True)

    def _merge_params(self, values: dict[str, Any]) -> None:
        def mutate(d: dict[str, Any]) -> None:
            merge = d.get("merge") if isinstance(d.get("merge"), dict) else {"type": "concat"}
            d["merge"] = {**merge, "params": values}

        self.edit(mutate)

    def _trunk_edited(self, layers: list[dict[str, Any]]) -> None:
        def mutate(d: dict[str, Any]) -> None:
            d["trunk"] = layers

        self.edit(mutate)


def _trunk_input(spec: Any, summary: Any) -> str:
    """What the trunk reads: the dataset's one input, or the merged branches."""
    if spec is None:
        return ""
    if not spec.multi_input:
        return f"input shape {fmt_shape(spec.input_shape)}"
    merge = next((r for r in summary.layers if r.where == "merge"), None) \
        if summary is not None else None
    shape = fmt_shape(merge.out_shape) if merge is not None and merge.out_shape else "?"
    return f"reads the merged branches, shape {shape}"
