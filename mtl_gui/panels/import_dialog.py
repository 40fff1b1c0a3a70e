"""Import a CSV or NPZ: preview the file, map each column (array) to an input or a typed task.

Nothing changes in the app until the engine has loaded the file with the chosen mapping; a bad
file (missing cells in a target, text in an input column, one class only...) is reported here,
with the engine's message naming the file, the column and the row.
"""

from __future__ import annotations

from pathlib import Path
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

from mtl_engine import load_dataset, preview_table, sniff_delimiter
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


class ImportDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import a CSV or NPZ file")
        self.result_kind = ""
        self.result_params: dict[str, Any] | None = None
        self.kind = ""
        self.delimiter = ","
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

    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import data", "",
                                              "Data files (*.csv *.tsv *.txt *.npz)")
        if path:
            self.set_path(path)

    def set_path(self, path: str) -> bool:
        """Read the file's preview; False (with the message shown) if it cannot be read."""
        self.path_edit.setText(path)
        self.kind = "npz" if Path(path).suffix.lower() == ".npz" else "csv"
        try:
            if self.kind == "csv":
                self.delimiter = sniff_delimiter(Path(path).expanduser())
            header, rows = preview_table(path, PREVIEW_ROWS,
                                         self.delimiter if self.kind == "csv" else None)
        except MTLError as exc:
            self._fail(str(exc))
            self.preview.setRowCount(0)
            self.roles.setRowCount(0)
            return False
        self.error.hide()
        self._fill_preview(header, rows)
        if self.kind == "csv":
            last = [r[-1] for r in rows] if rows and header else []
            self._fill_roles(header, {header[-1]: guess_role(last)} if header else {})
        else:
            names = [r[0] for r in rows]
            self._fill_roles(names, {}, fixed={"x": INPUT})
            self.standardize.setChecked(False)
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
                choices = ([INPUT] if self.kind == "csv" else []) + [IGNORE, *TASK_ROLES]
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
        params: dict[str, Any] = {"path": self.path_edit.text(), "tasks": tasks,
                                  "standardize": self.standardize.isChecked()}
        if self.kind == "csv":
            params["inputs"] = [n for n, r in roles.items() if r == INPUT]
            params["delimiter"] = self.delimiter
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
