"""The results table with its exports: CSV (table.csv's columns), Markdown and LaTeX (the
engine's paper tables), each in the order the table is sorted."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from mtl_engine import atomic_write_text, study_table_latex, study_table_markdown

from .results import StudyResults, csv_cell
from .table_model import SORT_ROLE, ResultsModel

Index = QModelIndex | QPersistentModelIndex
FORMATS = {"csv": "CSV (*.csv)", "md": "Markdown (*.md)", "tex": "LaTeX (*.tex)"}


class NumericSort(QSortFilterProxyModel):
    """Numbers by value, text alphabetically, empty cells last whichever way it sorts."""

    def lessThan(self, left: Index, right: Index) -> bool:  # noqa: N802 - Qt API
        a, b = left.data(SORT_ROLE), right.data(SORT_ROLE)
        descending = self.sortOrder() == Qt.SortOrder.DescendingOrder
        if a is None or b is None:  # empty cells sink to the bottom in both orders
            return (a is not None) != descending if (a is None) != (b is None) else False
        if isinstance(a, float) and isinstance(b, float):
            return a < b
        return str(a) < str(b)


class ResultsTable(QWidget):
    exported = Signal(object)  # Path

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = ResultsModel()
        self.proxy = NumericSort(self)
        self.proxy.setSourceModel(self.model)
        self.view = QTableView(self)
        self.view.setModel(self.proxy)
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # table.csv's order at first
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setAlternatingRowColors(True)
        self.view.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.view.verticalHeader().setVisible(False)
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.note = QLabel("Mean \u00b1 std over completed seeds. Bold: the best value in its "
                           "column among the multi-task variants. * marks a task's headline "
                           "metric. Click a header to sort.", self)
        self.note.setWordWrap(True)
        self.note.setProperty("tone", "hint")
        buttons = QHBoxLayout()
        self.export_buttons: dict[str, QPushButton] = {}
        for fmt, text in (("csv", "Export CSV\u2026"), ("md", "Export Markdown\u2026"),
                          ("tex", "Export LaTeX\u2026")):
            b = QPushButton(text, self)
            b.setToolTip({"csv": "table.csv's columns at full precision, in the shown order",
                          "md": "each task's headline metric as mean \u00b1 std, \u0394m%, rank"
                                " (bold: best), as in table.md",
                          "tex": "the same table as a booktabs tabular for a paper"}[fmt])
            b.clicked.connect(lambda _=False, f=fmt: self.export(f))
            b.setEnabled(False)
            buttons.addWidget(b)
            self.export_buttons[fmt] = b
        buttons.addStretch(1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.view, 1)
        lay.addWidget(self.note)
        lay.addLayout(buttons)

    def set_results(self, res: StudyResults | None) -> None:
        self.model.set_results(res)
        for b in self.export_buttons.values():
            b.setEnabled(res is not None)

    def shown_rows(self) -> list[Any]:
        """The variant rows in the order the table shows them."""
        res = self.model.res
        if res is None:
            return []
        return [res.rows[self.proxy.mapToSource(self.proxy.index(i, 0)).row()]
                for i in range(self.proxy.rowCount())]

    def text(self, fmt: str) -> str:
        res = self.model.res
        if res is None:
            return ""
        rows = self.shown_rows()
        if fmt == "md":
            return study_table_markdown(rows, res.tasks)
        if fmt == "tex":
            return study_table_latex(rows, res.tasks)
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        header = res.table_header()
        w.writerow(header)
        for r in rows:
            w.writerow([csv_cell(res.table_value(r, c)) for c in header])
        return buf.getvalue()

    def ask_export_path(self, fmt: str) -> Path | None:
        path, _ = QFileDialog.getSaveFileName(self, "Export the results table",
                                              f"table.{fmt}", FORMATS[fmt])
        return Path(path) if path else None

    def export(self, fmt: str, path: Path | None = None) -> Path | None:
        path = path or self.ask_export_path(fmt)
        if path is None:
            return None
        atomic_write_text(path, self.text(fmt))  # FileWriteError names the path
        self.exported.emit(path)
        return path
