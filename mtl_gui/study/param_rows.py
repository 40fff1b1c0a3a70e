"""Rows of "dotted config path = comma-separated values": any parameter the study varies."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGridLayout, QLineEdit, QPushButton, QVBoxLayout, QWidget

from .values import format_values, parse_values


class ParamRows(QWidget):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[tuple[QLineEdit, QLineEdit, QPushButton]] = []
        self.grid = QGridLayout()
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.add_btn = QPushButton("Add parameter", self)
        self.add_btn.setToolTip("vary another config field over a list of values")
        self.add_btn.clicked.connect(lambda: self.add_row())
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(self.grid)
        lay.addWidget(self.add_btn)

    def add_row(self, path: str = "", values: list[Any] | None = None) -> None:
        p, v = QLineEdit(path, self), QLineEdit(format_values(values or []), self)
        p.setPlaceholderText("training.lr")
        p.setToolTip("a dotted config path: training.lr, strategy.params.calpha, "
                     "tasks[left].weight, trunk[0].out_features")
        v.setPlaceholderText("0.01, 0.001")
        v.setToolTip("comma-separated values; each is one variant (combined with the rest)")
        remove = QPushButton("\u2212", self)
        remove.setToolTip("remove this parameter")
        remove.setFixedWidth(28)
        row = (p, v, remove)
        remove.clicked.connect(lambda: self.remove_row(row))
        for w in (p, v):
            w.textChanged.connect(lambda _: self.changed.emit())
        n = len(self.rows)
        self.grid.addWidget(p, n, 0)
        self.grid.addWidget(v, n, 1)
        self.grid.addWidget(remove, n, 2)
        self.rows.append(row)
        self.changed.emit()

    def remove_row(self, row: tuple[QLineEdit, QLineEdit, QPushButton]) -> None:
        if row in self.rows:
            self.rows.remove(row)
            for w in row:
                self.grid.removeWidget(w)
                w.deleteLater()
            self.changed.emit()

    def clear(self) -> None:
        for row in list(self.rows):
            self.remove_row(row)

    def grid_values(self) -> dict[str, list[Any]]:
        """Path -> values of every row with a path; a row with a path and no value gives an
        empty list, which the study's validation names."""
        out: dict[str, list[Any]] = {}
        for p, v, _ in self.rows:
            if p.text().strip():
                out[p.text().strip()] = parse_values(v.text())
        return out
