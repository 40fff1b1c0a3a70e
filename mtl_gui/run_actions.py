"""Run > Start / Pause / Stop with keyboard shortcuts, shown in the menu and in the buttons'
tooltips. The actions press the run controls' own buttons, so a shortcut does what a click does."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QAbstractButton

from .run_book import BookState

# Run menu shortcuts; the first of each is the one the menu shows. Ctrl+Enter is the keypad's.
START_KEYS = ("Ctrl+Return", "Ctrl+Enter", "F5")
PAUSE_KEYS = ("Ctrl+P", "F6")
STOP_KEYS = ("Ctrl+.", "Shift+F5")
RUN_TIPS = {"start": "train the current setup (the run is saved as a folder)",
            "pause": "pause the run after the current step; Resume goes on from there",
            "resume": "go on with the paused run",
            "stop": "stop the run after the current step; what it learnt so far is kept"}


def keys_text(keys: tuple[str, ...]) -> str:
    """"Ctrl+Return, F5" in the platform's own spelling (the keypad variant left out)."""
    shown = [QKeySequence(k).toString(QKeySequence.SequenceFormat.NativeText) for k in keys
             if "Enter" not in k]
    return ", ".join(shown)


class RunActions(QObject):
    """Run > Start / Pause / Stop, acting through the run controls' own buttons, so a shortcut
    does exactly what a click does and is enabled exactly when the button is. Each button's
    tooltip ends with its shortcuts, whatever the controls set it to."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        c = window.controls
        self.session = window.session
        self.buttons: dict[str, tuple[QAbstractButton, tuple[str, ...]]] = {
            "start": (c.start_btn, START_KEYS), "pause": (c.pause_btn, PAUSE_KEYS),
            "stop": (c.stop_btn, STOP_KEYS)}
        self.actions: dict[str, QAction] = {}
        self._own_tips: dict[str, str] = {}
        for name, text in (("start", "&Start"), ("pause", "&Pause"), ("stop", "S&top")):
            button, keys = self.buttons[name]
            action = QAction(text, window)
            action.setShortcuts([QKeySequence(k) for k in keys])
            action.triggered.connect(button.click)
            self.actions[name] = action
            button.installEventFilter(self)
        self.session.state_changed.connect(lambda _: self.sync())
        self.sync()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() in (QEvent.Type.EnabledChange, QEvent.Type.ToolTipChange):
            self.sync()
        return False

    def sync(self) -> None:
        paused = self.session.state == BookState.PAUSED
        self.actions["pause"].setText("&Resume" if paused else "&Pause")
        for name, (button, keys) in self.buttons.items():
            self.actions[name].setEnabled(button.isEnabled())
            hint = f"({keys_text(keys)})"
            tip = button.toolTip()
            own = not tip or tip == self._own_tips.get(name)  # not one the controls set
            if own:
                tip = RUN_TIPS["resume" if name == "pause" and paused else name]
            if not tip.endswith(hint):
                tip = f"{tip} {hint}"
            if own:
                self._own_tips[name] = tip
            if button.toolTip() != tip:
                button.setToolTip(tip)
