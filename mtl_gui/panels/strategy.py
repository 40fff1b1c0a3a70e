"""Strategy panel: any registered weighting method, grouped by family, with a generated form."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import QComboBox, QFormLayout, QLabel, QVBoxLayout, QWidget

from mtl_engine import GRAD_MODES, STRATEGIES

from ..session import Session
from ..widgets.param_form import ParamForm
from .base import Panel, error_label, form_row, heading, hint

FAMILIES = {"loss": "Loss weighting", "gradient": "Gradient aggregation"}
GRAD_MODE_HELP = ("where per-task gradients are taken, for gradient methods and diagnostics: "
                  "'shared' = all shared parameters (exact), 'representation' = the shared "
                  "output the heads read (cheaper, as in MGDA-UB)")


def fill_grouped(combo: QComboBox) -> None:
    """Strategies under a disabled header per family, families in a fixed order."""
    groups: dict[str, list[Any]] = {}
    for e in STRATEGIES.entries():
        groups.setdefault(str(e.meta["family"]), []).append(e)
    order = [f for f in FAMILIES if f in groups] + sorted(f for f in groups if f not in FAMILIES)
    model = combo.model()
    for fam in order:
        combo.addItem(f"\u2014 {FAMILIES.get(fam, fam.title())} \u2014")
        if isinstance(model, QStandardItemModel):
            model.item(combo.count() - 1).setEnabled(False)
        for e in sorted(groups[fam], key=lambda e: e.name):
            combo.addItem(e.name, e.name)
            combo.setItemData(combo.count() - 1, e.summary, Qt.ItemDataRole.ToolTipRole)


class StrategyPanel(Panel):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(session, parent)
        self.combo = QComboBox(self)
        fill_grouped(self.combo)
        self.combo.setToolTip("how the task losses (or gradients) are combined into one "
                              "update; hover an entry for its summary")
        self.combo.activated.connect(self._picked)
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        self.paper = hint()
        self.form = ParamForm((), self)
        self.form.values_changed.connect(self._params)
        self.mode_combo = QComboBox(self)
        self.mode_combo.addItems(list(GRAD_MODES))
        self.mode_combo.setToolTip(GRAD_MODE_HELP)
        self.mode_combo.activated.connect(self._mode)
        self.error = error_label()
        mode = QFormLayout()
        form_row(mode, "gradients w.r.t.", self.mode_combo)
        lay = QVBoxLayout(self)
        lay.addWidget(heading("Task weighting strategy"))
        lay.addWidget(self.combo)
        lay.addWidget(self.summary)
        lay.addWidget(self.paper)
        lay.addWidget(heading("Parameters"))
        lay.addWidget(self.form)
        lay.addLayout(mode)
        lay.addWidget(self.error)
        lay.addStretch(1)

    def section(self, draft: dict[str, Any]) -> Any:
        return draft.get("strategy")

    def render(self, draft: dict[str, Any]) -> None:
        s = draft.get("strategy") or {}
        name = s.get("name", "")
        index = self.combo.findData(name)
        if index >= 0:
            self.combo.setCurrentIndex(index)
        if name in STRATEGIES:
            e = STRATEGIES.get(name)
            self.summary.setText(e.summary)
            self.paper.setText(e.paper)
            self.paper.setVisible(bool(e.paper))
            self.form.set_schema(e.params)
            self.form.set_values(s.get("params") or {})
        self.mode_combo.setCurrentText(s.get("grad_mode", "shared"))

    def on_checked(self) -> None:
        check = self.session.check
        mine = bool(check.problem) and (check.problem_path or "").startswith("strategy")
        self.error.setVisible(mine)
        self.error.setText(check.problem or "")

    def _picked(self, index: int) -> None:
        name = self.combo.itemData(index)
        if not name:
            return

        def mutate(d: dict[str, Any]) -> None:
            mode = (d.get("strategy") or {}).get("grad_mode", "shared")
            modes = STRATEGIES.get(name).meta["grad_modes"]  # () when any mode will do
            if modes and mode not in modes:  # GradDrop needs the representation, DB-MTL not
                mode = modes[0]
            d["strategy"] = {"name": name, "params": STRATEGIES.get(name).defaults(),
                             "grad_mode": mode}

        self.edit(mutate, rerender=True)

    def _params(self, values: dict[str, Any]) -> None:
        def mutate(d: dict[str, Any]) -> None:
            d.setdefault("strategy", {})["params"] = values

        self.edit(mutate)

    def _mode(self, _: int) -> None:
        mode = self.mode_combo.currentText()

        def mutate(d: dict[str, Any]) -> None:
            d.setdefault("strategy", {})["grad_mode"] = mode

        self.edit(mutate)
