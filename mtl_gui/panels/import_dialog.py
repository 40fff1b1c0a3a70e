"""Import a CSV or NPZ: preview the file, map each column (array) to an input or a typed task.

The importer is the dataset entry whose declared suffixes match the file's; its preview says what
to show, which names to map, which roles are fixed, and what it read off the file (a delimiter).
Nothing changes in the app until the engine has loaded the file with the chosen mapping; a bad
file (missing cells in a target, text in an input column, one class only...) is reported here,
with the engine's message naming the file, the column and the row.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mtl_engine import DATASETS, FilePreview, importer_for, load_dataset
from mtl_engine.errors import MTLError

from .base import error_label, hint

INPUT, IGNORE = "input", "ignore"
TASK_ROLES = ("classification task", "binary task", "regression task")
PREVIEW_ROWS = 20


def guess_role(values: list[str]) -> str:
    """A first guess for the last column: text or few distinct integers is a class label."""
    cells = [v for v in values if v.strip()]
    try:
        numbers = [float(v) for v in cells]
    except ValueError:
        return "classification task"
    distinct = set(numbers)
    if len(distinct) == 2:
        return "binary task"
    if all(n.is_integer() for n in numbers) and len(distinct) <= 20:
        return "classification task"
    return "regression task"


def file_filter(kind: str = "") -> str:
    """The file dialog's filter: the suffixes the importers declare (only `kind`'s if given)."""
    patterns = [f"*{suffix}" for entry in DATASETS.entries() if not kind or entry.name == kind
                for suffix in entry.meta["suffixes"] if suffix.startswith(".")]
    return f"Data files ({' '.join(patterns)});;All files (*)"


class ImportDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import a CSV or NPZ file")
        self.result_kind = ""
        self.result_params: dict[str, Any] | None = None
        self.kind = ""  # the importer (a dataset name) of the file shown
        self.shown: FilePreview | None = None
        self.options: set[str] = set()  # the importer's parameter names
        self.path_edit = QLineEdit(self)
        self.path_edit.setPlaceholderText("path to a .csv or .npz file")
        self.path_edit.editingFinished.connect(lambda: self.set_path(self.path_edit.text()))
        browse = QPushButton("Browse\u2026", self)
        browse.clicked.connect(self.choose_file)
        self.preview = QTableWidget(0, 0, self)
        self.preview.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.roles = QTableWidget(0, 2, self)
        self.roles.setHorizontalHeaderLabels(["column", "use as"])
        self.roles.verticalHeader().setVisible(False)
        self.roles.horizontalHeader().setStretchLastSection(True)
        self.standardize = QCheckBox("standardise inputs (zero mean, unit variance)", self)
        self.standardize.setChecked(True)
        self.error = error_label()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel, self)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Import")
        self.buttons.accepted.connect(self.try_accept)
        self.buttons.rejected.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(self.path_edit, 1)
        row.addWidget(browse)
        lay = QVBoxLayout(self)
        lay.addLayout(row)
        lay.addWidget(QLabel("<b>Preview</b> (first rows)", self))
        lay.addWidget(self.preview, 2)
        lay.addWidget(QLabel("<b>Columns</b>: inputs, tasks and what to leave out", self))
        lay.addWidget(hint("Inputs must be numeric. Class labels may be text; missing input "
                           "cells are filled with the column mean."))
        lay.addWidget(self.roles, 2)
        lay.addWidget(self.standardize)
        lay.addWidget(self.error)
        lay.addWidget(self.buttons)
        self.resize(720, 620)

    def choose_file(self, kind: str = "") -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import data", "", file_filter(kind))
        if path:
            self.set_path(path)

    def set_path(self, path: str) -> bool:
        """Read the file's preview; False (with the message shown) if it cannot be read."""
        self.path_edit.setText(path)
        try:
            entry = importer_for(path)
            shown = entry.meta["preview"](path, PREVIEW_ROWS)
        except MTLError as exc:
            self._fail(str(exc))
            self.preview.setRowCount(0)
            self.roles.setRowCount(0)
            return False
        self.kind, self.shown = entry.name, shown
        self.options = {p.name for p in entry.params}
        self.error.hide()
        self._fill_preview(shown.header, shown.rows)
        last = shown.columns[-1] if shown.columns else ""
        guess = {last: guess_role(shown.values[last])} if last in shown.values else {}
        self._fill_roles(shown.columns, guess, shown.fixed)
        self.standardize.setVisible("standardize" in self.options)
        if "standardize" in self.options:
            self.standardize.setChecked(bool(entry.defaults()["standardize"]))
        return True

    def _fill_preview(self, header: list[str], rows: list[list[str]]) -> None:
        self.preview.setColumnCount(len(header))
        self.preview.setHorizontalHeaderLabels(header)
        self.preview.setRowCount(len(rows))
        for i, r in enumerate(rows):
            for j, cell in enumerate(r):
                self.preview.setItem(i, j, QTableWidgetItem(cell))
        self.preview.resizeColumnsToContents()

    def _fill_roles(self, names: list[str], guess: dict[str, str],
                    fixed: dict[str, str] | None = None) -> None:
        fixed = fixed or {}
        self.roles.setRowCount(len(names))
        for i, name in enumerate(names):
            self.roles.setItem(i, 0, QTableWidgetItem(name))
            combo = QComboBox(self.roles)
            if name in fixed:
                combo.addItem(fixed[name])
                combo.setEnabled(False)
            else:
                # an importer with an `inputs` parameter lets any column be an input
                choices = ([INPUT] if "inputs" in self.options else []) + [IGNORE, *TASK_ROLES]
                combo.addItems(choices)
                combo.setCurrentText(guess.get(name, choices[0]))
            self.roles.setCellWidget(i, 1, combo)

    def set_role(self, name: str, role: str) -> None:
        for i in range(self.roles.rowCount()):
            if self.roles.item(i, 0).text() == name:
                self.roles.cellWidget(i, 1).setCurrentText(role)
                return
        raise KeyError(name)

    def mapping(self) -> dict[str, str]:
        return {self.roles.item(i, 0).text(): self.roles.cellWidget(i, 1).currentText()
                for i in range(self.roles.rowCount())}

    def params(self) -> dict[str, Any]:
        roles = self.mapping()
        tasks = [f"{name}:{role.split()[0]}" for name, role in roles.items()
                 if role in TASK_ROLES]
        params: dict[str, Any] = {"path": self.path_edit.text(), "tasks": tasks}
        if "standardize" in self.options:
            params["standardize"] = self.standardize.isChecked()
        if "inputs" in self.options:
            params["inputs"] = [name for name, role in roles.items() if role == INPUT]
        if self.shown is not None:
            params.update(self.shown.params)  # what the preview read off the file
        return params

    def try_accept(self) -> bool:
        """Load the file with this mapping through the engine; accept only if that works."""
        params = self.params()
        try:
            load_dataset(self.kind, params)
        except MTLError as exc:
            self._fail(str(exc))
            return False
        self.result_kind, self.result_params = self.kind, params
        self.accept()
        return True

    def _fail(self, message: str) -> None:
        self.error.setText(message)
        self.error.show()
