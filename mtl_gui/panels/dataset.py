"""Dataset panel: the preset's name and description; pick a built-in dataset or import a file;
see what it holds and its tasks."""

from __future__ import annotations

import copy
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mtl_engine import DATASETS
from mtl_engine.errors import MTLError

from ..checks import check_config
from ..session import Session
from ..widgets.param_form import ParamForm
from .base import Panel, error_label, form_row, heading, hint
from .branches import fit_branches, reads_flat
from .inputs_table import InputsTable

NO_STRATIFY = "(none: a plain seeded shuffle)"
MLP_TRUNK = ({"type": "linear", "out_features": 64}, {"type": "relu"},
             {"type": "linear", "out_features": 64}, {"type": "relu"})


class DatasetPanel(Panel):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(session, parent)
        self.name_edit = QLineEdit(self)
        self.name_edit.setPlaceholderText("named after the setup")
        self.name_edit.setToolTip("the preset's name; runs are filed under it while it "
                                  "describes the setup (see below)")
        self.name_edit.textEdited.connect(self._name_edited)
        self.description_edit = QPlainTextEdit(self)
        self.description_edit.setPlaceholderText("what this setup is for (saved in the preset)")
        self.description_edit.setToolTip("the preset's description, saved with it")
        self.description_edit.setFixedHeight(64)
        self.description_edit.textChanged.connect(self._description_edited)
        self.run_name = hint()
        self.combo = QComboBox(self)
        for entry in DATASETS.entries():
            self.combo.addItem(entry.name)
            self.combo.setItemData(self.combo.count() - 1, entry.summary,
                                   Qt.ItemDataRole.ToolTipRole)
        self.combo.setToolTip("the dataset to train on; it brings its tasks (hover an entry "
                              "for what it holds)")
        self.combo.activated.connect(self._picked)
        self.import_btn = QPushButton("Import CSV / NPZ\u2026", self)
        self.import_btn.setToolTip("use your own data: map file columns to inputs and tasks")
        self.import_btn.clicked.connect(self.open_import)
        self.summary = hint()
        self.form = ParamForm((), self)
        self.form.values_changed.connect(self._params_edited)
        self.val_spin = self._fraction_spin("fraction of samples held out for validation "
                                            "(ignored when the dataset has its own test split)")
        self.val_spin.valueChanged.connect(self._val_edited)
        self.test_spin = self._fraction_spin("fraction of samples held out as a test part, "
                                             "measured once at the end with the kept weights "
                                             "(0: none)")
        self.test_spin.valueChanged.connect(
            lambda v: self._split_edited("test_fraction", round(float(v), 4), 0.0))
        self.stratify_combo = QComboBox(self)
        self.stratify_combo.setToolTip("draw the split within each class of this task, so every "
                                       "part keeps its class proportions")
        self.stratify_combo.activated.connect(self._stratify_picked)
        self.error = error_label()
        self.info = QLabel(self)
        self.info.setWordWrap(True)
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.inputs = InputsTable(self)  # a dataset with named inputs: one row each
        self.tasks = QTableWidget(0, 3, self)
        self.tasks.setHorizontalHeaderLabels(["task", "type", "classes / values"])
        self.tasks.verticalHeader().setVisible(False)
        self.tasks.horizontalHeader().setStretchLastSection(True)
        self.tasks.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.tasks.setMaximumHeight(180)

        top = QHBoxLayout()
        top.addWidget(self.combo, 1)
        top.addWidget(self.import_btn)
        split = QFormLayout()
        form_row(split, "validation fraction", self.val_spin)
        form_row(split, "test fraction", self.test_spin)
        form_row(split, "stratify by", self.stratify_combo)
        about = QFormLayout()
        form_row(about, "name", self.name_edit)
        form_row(about, "description", self.description_edit)
        lay = QVBoxLayout(self)
        lay.addWidget(heading("Setup"))
        lay.addLayout(about)
        lay.addWidget(self.run_name)
        lay.addWidget(heading("Dataset"))
        lay.addLayout(top)
        lay.addWidget(self.summary)
        lay.addWidget(self.form)
        lay.addLayout(split)
        lay.addWidget(self.error)
        lay.addWidget(heading("What it holds"))
        lay.addWidget(self.info)
        lay.addWidget(self.inputs)
        lay.addWidget(self.tasks)
        lay.addStretch(1)

    def section(self, draft: dict[str, Any]) -> Any:
        return (draft.get("name"), draft.get("description"), draft.get("data"))

    def render(self, draft: dict[str, Any]) -> None:
        name, description = str(draft.get("name") or ""), str(draft.get("description") or "")
        if self.name_edit.text() != name:
            self.name_edit.setText(name)
        if self.description_edit.toPlainText() != description:
            self.description_edit.blockSignals(True)
            self.description_edit.setPlainText(description)
            self.description_edit.blockSignals(False)
        data = draft.get("data") or {}
        name = data.get("dataset", "")
        self.combo.setCurrentText(name)
        if name in DATASETS:
            entry = DATASETS.get(name)
            paper = f" ({entry.paper})" if entry.paper else ""
            self.summary.setText(entry.summary + paper)
            self.form.set_schema(entry.params)
            self.form.set_values(data.get("params") or {})
        for spin, key, default in ((self.val_spin, "val_fraction", 0.2),
                                   (self.test_spin, "test_fraction", 0.0)):
            spin.blockSignals(True)
            spin.setValue(float(data.get(key, default)))
            spin.blockSignals(False)
        self._fill_stratify(draft, data.get("stratify"))

    def on_checked(self) -> None:
        check = self.session.check
        draft = self.session.draft  # tasks renamed or added since: the stratify choices follow
        self._fill_stratify(draft, (draft.get("data") or {}).get("stratify"))
        run_name = self.session.run_name()
        own = run_name == str(self.session.draft.get("name") or "").strip()
        self.run_name.setText(f"runs are filed as \u201c{run_name}\u201d"
                              + ("" if own else ": the name above describes the preset's "
                                 "setup, not this one (type a name to use your own)"))
        path = check.problem_path or ""
        self.error.setVisible(bool(check.problem) and path.startswith("data"))
        self.error.setText(check.problem or "")
        spec = check.spec
        if spec is None:
            self.info.setText("(the dataset could not be loaded)")
            self.tasks.setRowCount(0)
            self.inputs.set_spec(None)
            return
        shape = " x ".join(str(s) for s in spec.input_shape)
        reads = (f"{len(spec.inputs)} named inputs (below)" if spec.multi_input
                 else f"input shape <b>({shape})</b>")
        self.info.setText(f"{spec.description}<br><b>{spec.n_samples:,}</b> samples, "
                          f"{reads}, {len(spec.tasks)} tasks"
                          + (f"<br><i>source: {spec.source}</i>"
                             if spec.source else ""))
        self.inputs.set_spec(spec)
        self.tasks.setRowCount(len(spec.tasks))
        for row, task in enumerate(spec.tasks):
            for col, text in enumerate((task.name, task.type, _size(task))):
                item = QTableWidgetItem(text)
                item.setToolTip(task.description)
                self.tasks.setItem(row, col, item)
        self.tasks.resizeColumnsToContents()

    # ------------------------------------------------------------------ edits
    # Both fields edit the draft on every keystroke, so Save never misses what is typed; render
    # leaves a field alone when it already shows the draft, so the cursor stays where it is.
    def _name_edited(self, text: str) -> None:
        self.session.rename(text)

    def _description_edited(self) -> None:
        text = self.description_edit.toPlainText()
        if text != str(self.session.draft.get("description") or ""):
            self.session.describe(text)

    def _picked(self, index: int) -> None:
        name = self.combo.itemText(index)
        if name == (self.session.draft.get("data") or {}).get("dataset"):
            return
        if DATASETS.get(name).meta["suffixes"]:  # an importer: its params come from a file
            self.render(self.session.draft)  # put the combo back; the dialog decides
            self.open_import(name)
            return
        self._switch(name, DATASETS.get(name).defaults())

    def _switch(self, name: str, params: dict[str, Any]) -> None:
        try:
            self.session.set_dataset(name, params)
        except MTLError as exc:
            self.session.message.emit("error", f"Cannot use dataset {name!r}: {exc}", "")
            self._shown = object()
            self._maybe_render()
            return
        self._fit_model()

    def _fit_model(self) -> None:
        """Branches for the new dataset's named inputs (kept where an input of that name stays,
        none for one input); and a trunk built for images cannot read flat features (one
        input's, or the merged branches'): start such data from an MLP. One edit for both."""
        spec = self.session.check.spec
        if spec is None:
            return
        d = copy.deepcopy(self.session.draft)
        refit = fit_branches(d, spec)
        check = check_config(d) if refit else self.session.check
        swap = reads_flat(spec, check.summary) and (check.problem_path or "").startswith("trunk[")
        if swap:
            d["trunk"] = [dict(layer) for layer in MLP_TRUNK]
        if not (refit or swap):
            return
        self.session.set_draft(d)
        if refit and spec.multi_input:
            self.session.message.emit(
                "info", f"{spec.name!r} has the named inputs "
                f"{', '.join(i.name for i in spec.inputs)}: each reads its own branch of "
                "layers, merged into the trunk. Change them in the Model tab.", "")
        if swap:
            self.session.message.emit(
                "info", f"The trunk did not fit {spec.name!r}'s flat inputs ({check.problem}); "
                "it is now a two-layer MLP. Change it in the Model tab.", "")

    def _params_edited(self, values: dict[str, Any]) -> None:
        name = (self.session.draft.get("data") or {}).get("dataset", "")
        self._switch(name, values)

    def _fraction_spin(self, tooltip: str) -> QDoubleSpinBox:
        spin = QDoubleSpinBox(self)
        spin.setRange(0.0, 0.9)
        spin.setSingleStep(0.05)
        spin.setDecimals(2)
        spin.setKeyboardTracking(False)
        spin.setToolTip(tooltip)
        return spin

    def _fill_stratify(self, draft: dict[str, Any], chosen: Any) -> None:
        """No stratification, or any task whose dataset target is a classification or binary
        one (the ones a split can be drawn within)."""
        spec = self.session.check.spec
        kinds = {t.name: t.type for t in spec.tasks} if spec is not None else {}
        names = [str(t.get("name")) for t in draft.get("tasks") or []
                 if kinds.get(t.get("target") or t.get("name")) in ("classification", "binary")]
        self.stratify_combo.blockSignals(True)
        self.stratify_combo.clear()
        self.stratify_combo.addItem(NO_STRATIFY, None)
        for name in names:
            self.stratify_combo.addItem(name, name)
        index = self.stratify_combo.findData(chosen) if chosen else 0
        self.stratify_combo.setCurrentIndex(max(0, index))
        self.stratify_combo.blockSignals(False)

    def _stratify_picked(self, index: int) -> None:
        self._split_edited("stratify", self.stratify_combo.itemData(index), None)

    def _split_edited(self, key: str, value: Any, default: Any) -> None:
        def mutate(d: dict[str, Any]) -> None:
            data = d.setdefault("data", {})
            if value == default:  # the preset keeps a field at its default unwritten
                data.pop(key, None)
            else:
                data[key] = value

        self.edit(mutate)

    def _val_edited(self, value: float) -> None:
        def mutate(d: dict[str, Any]) -> None:
            d.setdefault("data", {})["val_fraction"] = round(float(value), 4)

        self.edit(mutate)

    def open_import(self, kind: str = "") -> None:
        from .import_dialog import ImportDialog

        dialog = ImportDialog(self)
        if kind:
            dialog.choose_file(kind)
        if dialog.exec() and dialog.result_params is not None:
            self.import_file(dialog.result_kind, dialog.result_params)

    def import_file(self, kind: str, params: dict[str, Any]) -> None:
        """An imported file starts a fresh setup (document.import_dataset), not the old one's."""
        try:
            self.session.document.import_dataset(kind, params)
        except MTLError as exc:
            self.session.message.emit("error", f"Cannot import {params.get('path')!r}: {exc}", "")


def _size(task: Any) -> str:
    """The tasks table's third column: the classes of a label, the values per row of a
    regression target with several (the GradNorm toy's 100), "-" for a single number."""
    if task.type != "regression":
        return str(task.n_classes)
    return f"{task.outputs} values" if task.outputs > 1 else "-"

