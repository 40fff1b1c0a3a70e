"""Application set-up: the QApplication, the crash handler, and the first preset to show."""

from __future__ import annotations

import gc
import sys
import traceback
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QApplication, QMessageBox

from mtl_engine import DEFAULT_PRESET, resolve_preset
from mtl_engine.errors import MTLError

from . import qt_platform, qt_version
from .interrupts import Interrupts
from .settings import Settings, app_home
from .startup import StartupFrame, show_startup_frame

if TYPE_CHECKING:  # imported in create_window: the main window's modules load torch
    from .main_window import MainWindow


def install_excepthook() -> None:
    """The app's one broad handler besides the worker: log the error and show it, keep running."""

    def hook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        text = "".join(traceback.format_exception(kind, exc, tb))
        log = app_home() / "errors.log"
        try:
            log.parent.mkdir(parents=True, exist_ok=True)
            with open(log, "a", encoding="utf-8") as f:
                f.write(f"--- {datetime.now().isoformat(timespec='seconds')}\n{text}\n")
        except OSError:
            pass
        sys.__stderr__.write(text)
        if QApplication.instance() is not None:
            box = QMessageBox(QMessageBox.Icon.Critical, "Unexpected error",
                              f"{kind.__name__}: {exc}\n\nThe app keeps running; the details are "
                              f"also in {log}.")
            box.setDetailedText(text)
            box.exec()

    sys.excepthook = hook


def first_preset(argv_preset: str | None, settings: Settings) -> str:
    """The preset named on the command line, else the last one used, else the default."""
    if argv_preset:
        return argv_preset
    last = str(settings.get("last_preset", "") or "")
    try:
        if last:
            resolve_preset(last)
            return last
    except MTLError:  # a file that vanished since: fall back to the default
        pass
    return DEFAULT_PRESET


def create_window(preset: str | None = None, settings: Settings | None = None) -> MainWindow:
    from .main_window import MainWindow  # the engine (torch, the registries) loads here

    settings = settings or Settings()
    window = MainWindow(settings)
    name = first_preset(preset, settings)
    if not window._load(name, remember=preset is not None) and name != DEFAULT_PRESET:
        window._load(DEFAULT_PRESET, remember=False)  # message bar says what failed
        window.message_bar.show()
    return window


def freeze_long_lived() -> None:
    """Once, with the window built: everything alive now (Qt wrappers, torch, the registries,
    the first setup's check) lives as long as the app, so take it out of the cyclic collector's
    sight and full collections during runs stay short. Process-wide, hence here, not per run."""
    gc.collect()
    gc.freeze()


def show_windows(argument: str | None = None, settings: Settings | None = None,
                 frame: StartupFrame | None = None) -> MainWindow:
    """The main window on the preset named on the command line; for a study folder (one holding
    study.yaml, as `mtl-study` writes it) the main window on the last setup used and the Study
    window on that study's table, Pareto view and curves. The start-up `frame`, if any, gives
    its place to the main window."""
    from .study import is_study_folder

    study = argument if argument and is_study_folder(argument) else None
    window = create_window(None if study else argument, settings)
    window.show()
    if frame is not None:
        frame.close()
        frame.deleteLater()
    if study:
        window.open_study_folder(Path(study))
    return window


def run_app(preset: str | None = None) -> int:
    # A binding release known to abort the app, then what Qt would abort on with a misleading
    # line: say what is wrong, in one line, before the first window.
    problem = qt_version.installed_problem() or (
        None if QApplication.instance() else qt_platform.startup_problem())
    if problem:
        print(problem, file=sys.stderr)
        return 1
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("MTL Explorer")
    app.setOrganizationName("MTL Explorer")
    install_excepthook()
    settings = Settings()
    # on screen at once, without torch; the main window (which loads it) replaces it
    frame = show_startup_frame(app, settings)
    window = show_windows(preset, settings, frame)
    freeze_long_lived()
    interrupts = Interrupts(app, window)
    code = app.exec()
    interrupts.restore()
    return interrupts.exit_code if interrupts.exit_code is not None else code
