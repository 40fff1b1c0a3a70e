"""Import a CSV or NPZ: preview the file, map each column (array) to an input or a typed task.

The importer is the dataset entry whose declared suffixes match the file's; its preview says what
to show, which names to map, which roles are fixed, what it read off the file (a delimiter) and a
role guess for every column from all its rows (the engine's data/guess.py rules). The guesses are
the defaults, so a likely label (two values, a label-like name) starts as a task, never an input.
Rows of the roles table can be selected together and set at once. The preview runs on the GUI
thread: it reads at most the engine's preview bound (a CSV's first 32 MiB), a fraction of a second
for 10^5 rows.

Nothing changes in the app until the engine has loaded the file with the chosen mapping; a bad
file (missing cells in a target, text in a numeric column, one class only...) is reported here,
with the engine's message naming the file, the column and the row.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QAbstractItemView,
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
# The engine's guessed role -> the dialog's role ("input" only where the importer has inputs).
ROLE_OF_GUESS = {"input": INPUT, "ignore": IGNORE, "classification": "classification task",
                 "binary": "binary task", "regression": "regression task"}
DELIMITERS = (("auto", "sniffed"), ("comma", ","), ("semicolon", ";"), ("tab", "tab"),
              ("whitespace", "spaces or tabs"), ("pipe", "|"))
ENCODINGS = ("utf-8", "latin-1", "cp1252", "utf-16")


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
        self.path_edit.setPlaceholderText("path to a .csv, .csv.gz, .zip or .npz file")
        self.path_edit.editingFinished.connect(lambda: self.set_path(self.path_edit.text()))
        browse = QPushButton("Browse\u2026", self)
        browse.clicked.connect(self.choose_file)
        self.delimiter = QComboBox(self)
        for name, shown in DELIMITERS:
            self.delimiter.addItem(f"{name} ({shown})" if name != shown else name, name)
        self.delimiter.setToolTip("how fields are separated; auto tries comma, tab, semicolon, "
                                  "pipe, then runs of spaces")
        self.encoding = QComboBox(self)
        self.encoding.addItems(ENCODINGS)
        self.encoding.setEditable(True)  # any codec Python knows
        self.encoding.setToolTip("the file's text encoding; try latin-1 or cp1252 when UTF-8 "
                                 "fails")
        self.delimiter.activated.connect(self._reread)
        self.encoding.activated.connect(self._reread)
        self.text_options = QWidget(self)
        opts = QHBoxLayout(self.text_options)
        opts.setContentsMargins(0, 0, 0, 0)
        opts.addWidget(QLabel("delimiter", self))
        opts.addWidget(self.delimiter)
        opts.addWidget(QLabel("encoding", self))
        opts.addWidget(self.encoding)
        opts.addStretch(1)
        self.preview = QTableWidget(0, 0, self)
        self.preview.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.preview.verticalHeader().setDefaultSectionSize(22)
        self.note = hint()
        self.roles = QTableWidget(0, 3, self)
        self.roles.setHorizontalHeaderLabels(["column", "use as", "why"])
        self.roles.verticalHeader().setVisible(False)
        self.roles.horizontalHeader().setStretchLastSection(True)
        self.roles.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.roles.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.roles.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.roles.setToolTip("shift- or ctrl-click rows to select several, then set them "
                              "below")
        self.bulk_role = QComboBox(self)
        self.bulk_apply = QPushButton("Set selected", self)
        self.bulk_apply.setToolTip("give every selected column (shift/ctrl-click rows) this role")
        self.bulk_apply.clicked.connect(lambda: self.set_selected(self.bulk_role.currentText()))
        self.counts = QLabel(self)
        bulk = QHBoxLayout()
        bulk.addWidget(QLabel("selected columns:", self))
        bulk.addWidget(self.bulk_role)
        bulk.addWidget(self.bulk_apply)
        bulk.addStretch(1)
        bulk.addWidget(self.counts)
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
        lay.addWidget(self.text_options)
        lay.addWidget(QLabel("<b>Preview</b> (first rows)", self))
        lay.addWidget(self.preview, 2)
        lay.addWidget(self.note)
        lay.addWidget(QLabel("<b>Columns</b>: inputs, tasks and what to leave out (guessed "
                             "from every row)", self))
        lay.addWidget(hint("Text inputs are one-hot encoded (embedded past 20 levels); missing "
                           "input cells are filled "
                           "from the training rows. Columns with two values or a name like "
                           "label / target / class start as tasks."))
        lay.addWidget(self.roles, 3)
        lay.addLayout(bulk)
        lay.addWidget(self.standardize)
        lay.addWidget(self.error)
        lay.addWidget(self.buttons)
        self.resize(760, 680)

    def choose_file(self, kind: str = "") -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import data", "", file_filter(kind))
        if path:
            self.set_path(path)

    def set_path(self, path: str, delimiter: str = "auto", encoding: str = "utf-8") -> bool:
        """Read the file's preview; False (with the message shown) if it cannot be read."""
        self.path_edit.setText(path)
        self._show_options(delimiter, encoding)
        try:
            entry = importer_for(path)
            options = {"delimiter": delimiter, "encoding": encoding}
            shown = entry.meta["preview"](path, PREVIEW_ROWS, options)
        except MTLError as exc:
            self._fail(str(exc))
            self.preview.setRowCount(0)
            self.roles.setRowCount(0)
            self.shown = None
            return False
        self.kind, self.shown = entry.name, shown
        self.options = {p.name for p in entry.params}
        self.text_options.setVisible(bool({"delimiter", "encoding"} & self.options))
        self.error.hide()
        self._fill_preview(shown.header, shown.rows)
        self.note.setText(shown.note)
        self.note.setVisible(bool(shown.note))
        self._fill_roles(shown)
        self.standardize.setVisible("standardize" in self.options)
        if "standardize" in self.options:
            self.standardize.setChecked(bool(entry.defaults()["standardize"]))
        return True

    def _show_options(self, delimiter: str, encoding: str) -> None:
        index = self.delimiter.findData(delimiter)
        self.delimiter.setCurrentIndex(max(0, index))
        self.encoding.setCurrentText(encoding)

    def _reread(self) -> None:
        """The delimiter or encoding changed: read the file again with them (fresh guesses)."""
        if self.path_edit.text():
            self.set_path(self.path_edit.text(), str(self.delimiter.currentData()),
                          self.encoding.currentText().strip() or "utf-8")

    def _fill_preview(self, header: list[str], rows: list[list[str]]) -> None:
        self.preview.setColumnCount(len(header))
        self.preview.setHorizontalHeaderLabels(header)
        self.preview.setRowCount(len(rows))
        for i, r in enumerate(rows):
            for j, cell in enumerate(r):
                self.preview.setItem(i, j, QTableWidgetItem(cell))
        self.preview.resizeColumnsToContents()

    def columns_are_inputs(self) -> bool:
        """Whether any column may be an input: the importer has an `inputs` parameter and the
        file format fixes none (an NPZ's `x` is its input; its named-inputs form, several
        arrays as typed inputs, is written in the preset: docs/inputs.md)."""
        fixed = self.shown is not None and any(r == INPUT for r in self.shown.fixed.values())
        return "inputs" in self.options and not fixed

    def choices(self) -> list[str]:
        """The roles a column may take (an input only where `columns_are_inputs`)."""
        return ([INPUT] if self.columns_are_inputs() else []) + [IGNORE, *TASK_ROLES]

    def _fill_roles(self, shown: FilePreview) -> None:
        choices = self.choices()
        self.bulk_role.clear()
        self.bulk_role.addItems(choices)
        self.roles.setRowCount(len(shown.columns))
        for i, name in enumerate(shown.columns):
            self.roles.setItem(i, 0, QTableWidgetItem(name))
            combo = QComboBox(self.roles)
            guess = shown.guesses.get(name)
            if name in shown.fixed:
                combo.addItem(shown.fixed[name])
                combo.setEnabled(False)
                why = "fixed by the file format"
            else:
                combo.addItems(choices)
                role = ROLE_OF_GUESS.get(guess.role, "") if guess is not None else ""
                combo.setCurrentText(role if role in choices else choices[0])
                why = guess.reason if guess is not None else ""
            combo.currentTextChanged.connect(self._count)
            self.roles.setCellWidget(i, 1, combo)
            self.roles.setItem(i, 2, QTableWidgetItem(why))
        self.roles.resizeColumnToContents(0)
        self._count()

    def _count(self) -> None:
        roles = list(self.mapping().values())
        tasks = sum(role in TASK_ROLES for role in roles)
        inputs = len(roles) - tasks - roles.count(IGNORE)
        self.counts.setText(f"{inputs} inputs, {tasks} tasks, {roles.count(IGNORE)} left out")

    def set_role(self, name: str, role: str) -> None:
        for i in range(self.roles.rowCount()):
            if self.roles.item(i, 0).text() == name:
                self.roles.cellWidget(i, 1).setCurrentText(role)
                return
        raise KeyError(name)

    def select_columns(self, names: list[str]) -> None:
        """Select the rows of `names` in the roles table (what shift/ctrl-clicks do)."""
        self.roles.clearSelection()
        mode = self.roles.selectionMode()
        self.roles.setSelectionMode(QAbstractItemView.SelectionMode.MultiSelection)
        for i in range(self.roles.rowCount()):
            if self.roles.item(i, 0).text() in names:
                self.roles.selectRow(i)
        self.roles.setSelectionMode(mode)

    def selected_columns(self) -> list[str]:
        rows = sorted({index.row() for index in self.roles.selectionModel().selectedRows()})
        return [self.roles.item(i, 0).text() for i in rows]

    def set_selected(self, role: str) -> int:
        """Give every selected column `role` (fixed ones keep theirs); the count changed."""
        changed = 0
        for name in self.selected_columns():
            i = next(r for r in range(self.roles.rowCount())
                     if self.roles.item(r, 0).text() == name)
            combo = self.roles.cellWidget(i, 1)
            if combo.isEnabled() and combo.findText(role) >= 0:
                combo.setCurrentText(role)
                changed += 1
        return changed

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
        if self.columns_are_inputs():
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
