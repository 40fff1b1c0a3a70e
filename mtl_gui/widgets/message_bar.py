"""An inline, dismissible message strip: errors and warnings without modal dialogs."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMessageBox, QPushButton, QWidget

COLORS = {"error": ("#fdecea", "#b52b27"), "warning": ("#fff4e0", "#8a5a00"),
          "info": ("#e8f1fb", "#1d4f85")}
LABEL_NAME = "message_bar_text"


class MessageBar(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.level = ""
        self.text = ""
        self.details = ""
        self.label = QLabel(self)
        self.label.setObjectName(LABEL_NAME)
        self.label.setWordWrap(True)
        self.details_btn = QPushButton("Details\u2026", self)
        self.details_btn.setToolTip("show the full message (for a failed run, its traceback)")
        self.details_btn.clicked.connect(self.show_details)
        self.close_btn = QPushButton("\u2715", self)
        self.close_btn.setFixedWidth(28)
        self.close_btn.setToolTip("dismiss")
        self.close_btn.clicked.connect(self.hide)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(8, 4, 4, 4)
        lay.addWidget(self.label, 1)
        lay.addWidget(self.details_btn)
        lay.addWidget(self.close_btn)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.hide()

    def show_message(self, level: str, text: str, details: str = "") -> None:
        self.level, self.text, self.details = level, text, details
        bg, fg = COLORS.get(level, COLORS["info"])
        # Both rules name this bar's own widgets: a bare `QLabel` rule would cascade into every
        # descendant, the Details\u2026 box included (its text turned the error red).
        self.setStyleSheet(f"MessageBar {{ background: {bg}; }} "
                           f"MessageBar > QLabel#{LABEL_NAME} {{ color: {fg}; }}")
        self.label.setText(text)
        self.details_btn.setVisible(bool(details))
        self.show()

    def show_details(self) -> QMessageBox:
        box = QMessageBox(self)
        box.setWindowTitle("Details")
        box.setText(self.text)
        box.setDetailedText(self.details)
        box.setIcon(QMessageBox.Icon.Critical if self.level == "error"
                    else QMessageBox.Icon.Information)
        box.open()  # not exec(): the window stays live, and tests read the box
        return box
