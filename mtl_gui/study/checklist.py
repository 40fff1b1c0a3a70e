"""A list of checkable registry entries, optionally under a disabled header per group."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QWidget

NAME_ROLE = Qt.ItemDataRole.UserRole


class CheckList(QListWidget):
    changed = Signal()

    def __init__(self, groups: dict[str, list[tuple[str, str]]], parent: QWidget | None = None
                 ) -> None:
        """`groups`: header -> (name, tooltip) entries; a header "" shows no header row."""
        super().__init__(parent)
        bold = QFont()
        bold.setBold(True)
        for header, entries in groups.items():
            if header:
                h = QListWidgetItem(header)
                h.setFlags(Qt.ItemFlag.NoItemFlags)
                h.setFont(bold)
                self.addItem(h)
            for name, tip in entries:
                item = QListWidgetItem(name)
                item.setData(NAME_ROLE, name)
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(Qt.CheckState.Unchecked)
                item.setToolTip(tip)
                self.addItem(item)
        self.itemChanged.connect(lambda _: self.changed.emit())

    def _items(self) -> list[QListWidgetItem]:
        return [self.item(i) for i in range(self.count()) if self.item(i).data(NAME_ROLE)]

    def checked(self) -> list[str]:
        return [i.data(NAME_ROLE) for i in self._items()
                if i.checkState() == Qt.CheckState.Checked]

    def set_checked(self, names: list[str]) -> None:
        self.blockSignals(True)
        for i in self._items():
            i.setCheckState(Qt.CheckState.Checked if i.data(NAME_ROLE) in names
                            else Qt.CheckState.Unchecked)
        self.blockSignals(False)
        self.changed.emit()
