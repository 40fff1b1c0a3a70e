"""What every config panel shares: render from the session's draft, edit through the session."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QFormLayout, QFrame, QLabel, QScrollArea, QVBoxLayout, QWidget

from ..session import Session
from ..widgets.param_form import LABEL_WIDTH


class Panel(QWidget):
    """Subclasses implement `section` (the part of the draft they show) and `render`.

    `render` runs only when that part changed, so a panel is never rebuilt under the user's
    cursor by its own edit coming back through the session.
    """

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self._shown: Any = object()
        session.config_changed.connect(self._maybe_render)
        session.checked.connect(self.on_checked)

    def section(self, draft: dict[str, Any]) -> Any:
        return draft

    def render(self, draft: dict[str, Any]) -> None:
        raise NotImplementedError

    def on_checked(self) -> None:
        """The session re-validated: refresh shapes, counts, inline errors."""

    def _maybe_render(self) -> None:
        part = copy.deepcopy(self.section(self.session.draft))
        if part == self._shown:
            return
        self._shown = part
        self.render(self.session.draft)

    def edit(self, mutate: Callable[[dict[str, Any]], None], rerender: bool = False) -> None:
        """Change the draft. The widgets already show the edit, so this panel is not re-rendered
        unless `rerender` (e.g. a new strategy brings a different form)."""
        d = copy.deepcopy(self.session.draft)
        mutate(d)
        if not rerender:
            self._shown = copy.deepcopy(self.section(d))
        self.session.set_draft(d)


def scrolling(inner: QWidget) -> QScrollArea:
    """Wrap a panel so a short window scrolls instead of squeezing the fields."""
    area = QScrollArea()
    area.setWidget(inner)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    return area


def heading(text: str) -> QLabel:
    label = QLabel(f"<b>{text}</b>")
    label.setContentsMargins(0, 6, 0, 2)
    return label


def hint(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setProperty("tone", "hint")  # coloured by the theme's app style sheet
    return label


def error_label() -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setProperty("tone", "error")  # coloured by the theme's app style sheet
    label.hide()
    return label


def column(*widgets: QWidget) -> QVBoxLayout:
    lay = QVBoxLayout()
    for w in widgets:
        lay.addWidget(w)
    return lay


def form_row(form: QFormLayout, text: str, widget: QWidget) -> None:
    """A row whose label is as wide as a ParamForm's, so hand-made and generated forms align."""
    label = QLabel(text)
    label.setMinimumWidth(LABEL_WIDTH)
    form.addRow(label, widget)
