"""Regenerate the screenshots in docs/screenshots: ``python -m mtl_gui.screenshots [FOLDER]``.

Opens the real window on the default preset (12 epochs instead of 10, with gradient diagnostics
every 10 steps; about ten seconds on a laptop CPU) and saves it before, during and after a run,
plus the model builder and the gradient-conflict tab. Runs offscreen, so it works on a machine
without a display.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def _wait(app: Any, until: Any, limit_s: float) -> None:
    deadline = time.monotonic() + limit_s
    while not until() and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.02)


def main(folder: str = "docs/screenshots") -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("MTL_EXPLORER_HOME", tempfile.mkdtemp(prefix="mtl-shots-"))
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    from .app import create_window

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    w = create_window()
    w.resize(1400, 900)
    w.show()

    def shorter(d: dict[str, Any]) -> None:
        d["training"].update(epochs=12, diagnostics_every=10)

    w.session.edit(shorter)
    app.processEvents()
    w.grab().save(str(out / "main_before.png"))
    w.config_tabs.setCurrentIndex(1)
    app.processEvents()
    w.grab().save(str(out / "model_builder.png"))
    w.config_tabs.setCurrentIndex(3)
    w.controls.start_btn.click()
    entry = w.session.current
    _wait(app, lambda: entry.history.epoch >= 5, 600)
    _wait(app, lambda: False, 1.5)  # let every plot take its turn
    w.grab().save(str(out / "main_during_run.png"))
    _wait(app, lambda: w.session.state == "idle", 900)
    _wait(app, lambda: False, 0.5)
    w.grab().save(str(out / "main_after.png"))
    w.plots.tabs.setCurrentIndex(1)
    _wait(app, lambda: False, 0.5)
    w.grab().save(str(out / "gradient_conflict.png"))
    w.set_theme("dark")
    w.plots.tabs.setCurrentIndex(0)
    _wait(app, lambda: False, 0.5)
    w.grab().save(str(out / "main_after_dark.png"))
    w.set_theme("light")
    w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:2]))
