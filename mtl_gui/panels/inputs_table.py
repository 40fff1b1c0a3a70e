"""The Data panel's table of a dataset's named inputs: name, kind, shape, dtype, vocabulary.

Shown where a one-input dataset states its input shape; hidden for such a dataset.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QTableWidget, QTableWidgetItem, QWidget


class InputsTable(QTableWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, 5, parent)
        self.setHorizontalHeaderLabels(["input", "kind", "shape", "dtype", "vocab"])
        self.verticalHeader().setVisible(False)
        self.horizontalHeader().setStretchLastSection(True)
        self.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.setToolTip("the dataset's named inputs; each has its own branch of layers in the "
                        "Model tab (hover a row for what it holds)")
        self.hide()

    def set_spec(self, spec: Any) -> None:
        """One row per named input of `spec` (a DatasetSpec, or None: nothing to show)."""
        inputs = spec.inputs if spec is not None else ()
        self.setVisible(bool(inputs))
        self.setRowCount(len(inputs))
        for row, given in enumerate(inputs):
            shape = "(" + ", ".join(str(d) for d in given.shape) + ")"
            vocab = f"{given.vocab:,}" if given.vocab else "-"
            for col, text in enumerate((given.name, given.kind, shape, given.dtype, vocab)):
                item = QTableWidgetItem(text)
                item.setToolTip(given.description)
                self.setItem(row, col, item)
        self.resizeColumnsToContents()
        header = self.horizontalHeader().sizeHint().height()
        self.setFixedHeight(header + 2 * self.frameWidth() + 2
                            + sum(self.rowHeight(r) for r in range(len(inputs))))
