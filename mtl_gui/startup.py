"""The first thing on screen: the app's window frame, drawn before the engine has loaded.

Loading the engine (torch and the registries every panel's pickers list) takes most of the
app's start-up: about 1.6 s of 2.7 s on an idle 2-core machine. So `run_app` shows this frame
first, at the main window's saved place and size, and the main window takes its place once it is
built. Nothing imported here may import torch (tests/gui/test_startup.py checks it), which is
also why `app.py` imports the main window only inside `create_window`.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel, QVBoxLayout, QWidget

from .settings import Settings

LOADING = "Loading the engine\u2026"


class StartupFrame(QWidget):
    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.setWindowTitle("MTL Explorer")
        geometry = settings.get_bytes("geometry")  # where the main window will open
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1400, 900)
        self.label = QLabel(LOADING, self)
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        lay = QVBoxLayout(self)
        lay.addWidget(self.label)


def show_startup_frame(app: QApplication, settings: Settings) -> StartupFrame:
    """The frame, shown and painted now (the main window is built right after, without the
    event loop running in between)."""
    frame = StartupFrame(settings)
    frame.show()
    frame.repaint()
    app.processEvents()
    return frame
