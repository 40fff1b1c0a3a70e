"""One row per run of the study: its variant, seed, baseline, key and status cell."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from ..plots.style import tone
from .runner import RunState

HEADERS = ("variant", "seed", "baseline", "run key", "status")
STATUS_COL = 4


class StatusTable(QTableWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(HEADERS), parent)
        self.setHorizontalHeaderLabels(HEADERS)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.verticalHeader().setVisible(False)
        self.setAlternatingRowColors(True)
        head = self.horizontalHeader()
        head.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        head.setStretchLastSection(True)
        self.row_of: dict[str, int] = {}

    def set_runs(self, runs: list[RunState]) -> None:
        self.setRowCount(len(runs))
        self.row_of = {}
        for i, r in enumerate(runs):
            self.row_of[r.key] = i
            for j, text in enumerate((r.variant, str(r.seed), r.baseline, r.key, r.text())):
                self.setItem(i, j, QTableWidgetItem(text))
            self._status_item(r)

    def update_run(self, r: RunState) -> None:
        if r.key in self.row_of:
            self._status_item(r)

    def _status_item(self, r: RunState) -> None:
        item = QTableWidgetItem(r.text())
        item.setToolTip(r.message or r.text())
        if r.status == "failed":
            item.setForeground(tone("error"))
        self.setItem(self.row_of[r.key], STATUS_COL, item)

    def status_text(self, key: str) -> str:
        item = self.item(self.row_of[key], STATUS_COL)
        return item.text() if item is not None else ""
