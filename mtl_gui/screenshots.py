"""Regenerate the screenshots in docs/screenshots: ``python -m mtl_gui.screenshots [FOLDER]``.

Taken under a real X server on Qt's xcb plugin, as users see the app (offscreen rendering hides
what only a display shows). The script starts its own Xvfb screen (1920 x 1200, 24 bit; needs the
``xvfb`` package) so the pictures do not depend on the desktop it runs on; without Xvfb it uses
``$DISPLAY`` (e.g. under ``xvfb-run -a -s "-screen 0 1920x1200x24"``). Each picture is what the X
server shows in the window's area.

Two setups, each shot in the light and the dark theme, before, during and after a run, plus its
gradient-conflict tab:

- ``main_*``: the default preset (two MultiMNIST tasks), 12 epochs, gradient diagnostics every 10
  steps, plus the model builder;
- ``many_tasks_*``: the ``gradnorm_toy_14_tasks`` preset (14 regression tasks whose losses span
  four decades), 30 epochs, log y ticked.

``--only two`` or ``--only many`` takes one setup. Both take about 1.5 minutes on two busy CPU
cores (the runs themselves 20 to 30 s each).

``--only branches`` shoots the model builder on a model over named inputs (``ctr_esmm_mmoe``:
user, item and history branches merged into an MMoE), ``model_branches[_dark]``, without a run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCREEN = "1920x1200x24"
WINDOW_SIZE = (1400, 900)


@dataclass(frozen=True)
class Setup:
    prefix: str  # file names start with it
    preset: str
    epochs: int
    during_epoch: int  # the "during" shots wait for this epoch
    setup_tab: int  # the config tab shown before the run: what this setup is about
    conflict: str  # the gradient-conflict shot's name (docs/gui.md links the first one)
    extra_shots: tuple[tuple[str, int], ...] = ()  # (name, config tab) shot before the run
    log_y: bool = False  # ticked as a user would when the tasks' scales differ by 10^4


SETUPS = {
    "two": Setup("main", "multimnist_uncertainty", 12, 6, 0, "gradient_conflict",
                 (("model_builder", 1),)),
    "many": Setup("many_tasks", "gradnorm_toy_14_tasks", 30, 10, 2,
                  "many_tasks_gradient_conflict", log_y=True),
}
TAB_STRATEGY = 3  # shown while a run goes
TAB_MODEL = 1
BRANCHES_PRESET = "ctr_esmm_mmoe"
BRANCHES_SIZE = (1400, 1150)  # taller: the three branch editors under the diagram


def start_xvfb() -> subprocess.Popen[bytes] | None:
    """Our own X server; None when Xvfb is not installed (then $DISPLAY is used)."""
    exe = shutil.which("Xvfb")
    if exe is None:
        return None
    read_end, write_end = os.pipe()
    proc = subprocess.Popen([exe, "-displayfd", str(write_end), "-screen", "0", SCREEN,
                             "-nolisten", "tcp"], pass_fds=(write_end,),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_end)
    with os.fdopen(read_end) as f:  # Xvfb writes its display number once it accepts clients
        number = f.readline().strip()
    if not number:
        proc.kill()
        raise SystemExit("screenshots: Xvfb exited before opening a display")
    os.environ["DISPLAY"] = f":{number}"
    return proc


def wait(app: Any, until: Callable[[], bool], limit_s: float) -> None:
    deadline = time.monotonic() + limit_s
    while not until() and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.02)


class Shooter:
    def __init__(self, app: Any, folder: Path) -> None:
        self.app = app
        self.folder = folder
        self.saved: list[Path] = []

    def shot(self, window: Any, name: str) -> None:
        """What the X server shows in the window's area; the widget's own rendering if the
        screen gives nothing back."""
        wait(self.app, lambda: False, 0.6)  # a few plot-timer ticks: every visible plot redrawn
        screen = window.screen()
        image = screen.grabWindow(window.winId()) if screen is not None else None
        if image is None or image.isNull():
            image = window.grab()
        path = self.folder / f"{name}.png"
        if not image.save(str(path)):
            raise SystemExit(f"screenshots: {path}: could not write the image")
        self.saved.append(path)
        print(f"  {path} ({image.width()} x {image.height()})")

    def both_themes(self, window: Any, name: str) -> None:
        self.shot(window, name)
        window.set_theme("dark")
        self.shot(window, f"{name}_dark")
        window.set_theme("light")


def shoot_setup(shooter: Shooter, setup: Setup, limit_s: float) -> None:
    """One fresh window (its own settings and run folders) through a whole run."""
    os.environ["MTL_EXPLORER_HOME"] = tempfile.mkdtemp(prefix=f"mtl-shots-{setup.prefix}-")
    from mtl_engine.events import RunStatus

    from .app import create_window
    from .run_book import BookState

    app = shooter.app
    window = create_window(setup.preset)
    window.ask_unsaved = lambda: "discard"  # type: ignore[method-assign]
    window.move(0, 0)
    window.resize(*WINDOW_SIZE)
    window.show()
    window.raise_()
    wait(app, window.isVisible, 10)

    def shorter(d: dict[str, Any]) -> None:
        d["training"].update(epochs=setup.epochs, diagnostics_every=10)

    window.session.edit(shorter)
    window.plots.log_box.setChecked(setup.log_y)
    for name, tab in setup.extra_shots:
        window.config_tabs.setCurrentIndex(tab)
        shooter.shot(window, name)
    window.config_tabs.setCurrentIndex(setup.setup_tab)
    shooter.both_themes(window, f"{setup.prefix}_before")

    window.config_tabs.setCurrentIndex(TAB_STRATEGY)
    window.controls.start_btn.click()
    entry = window.session.current
    if entry is None:
        raise SystemExit(f"screenshots: {setup.preset}: the run did not start: "
                         f"{window.message_bar.text}")
    wait(app, lambda: (entry.history.epoch >= setup.during_epoch
                       or window.session.state == BookState.IDLE), limit_s)
    shooter.both_themes(window, f"{setup.prefix}_during_run")
    wait(app, lambda: window.session.state == BookState.IDLE, limit_s)
    status = getattr(entry.history, "status", "")
    if status != RunStatus.COMPLETED:
        print(f"  warning: {setup.preset}: the run ended {status or 'unfinished'}")
    shooter.both_themes(window, f"{setup.prefix}_after")
    window.plots.tabs.setCurrentIndex(1)
    shooter.both_themes(window, setup.conflict)
    window.plots.tabs.setCurrentIndex(0)
    window.session.shutdown(10)
    window.close()


def shoot_branches(shooter: Shooter) -> None:
    """The Model tab of a three-input model: its branches, the merge and the diagram."""
    os.environ["MTL_EXPLORER_HOME"] = tempfile.mkdtemp(prefix="mtl-shots-branches-")
    from .app import create_window

    window = create_window(BRANCHES_PRESET)
    window.ask_unsaved = lambda: "discard"  # type: ignore[method-assign]
    window.move(0, 0)
    window.resize(*BRANCHES_SIZE)
    window.show()
    window.raise_()
    wait(shooter.app, window.isVisible, 10)
    window.config_tabs.setCurrentIndex(TAB_MODEL)
    shooter.both_themes(window, "model_branches")
    window.session.shutdown(10)
    window.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mtl_gui.screenshots",
                                     description="take the docs' screenshots under Xvfb")
    parser.add_argument("folder", nargs="?", default="docs/screenshots")
    parser.add_argument("--only", choices=sorted([*SETUPS, "study", "toy", "import",
                                                  "branches"]),
                        help="one setup instead of all (study: the Study window's shots; toy: "
                             "the toy playground's; import: the import dialog's; branches: "
                             "the model builder on a three-input model)")
    parser.add_argument("--limit", type=float, default=900.0,
                        help="seconds a run may take before the shots go on without it")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)

    xvfb = start_xvfb()
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    from . import qt_platform

    problem = qt_platform.startup_problem()
    if problem:
        print(problem if xvfb or os.environ.get("DISPLAY") else
              "screenshots: install xvfb (sudo apt-get install xvfb) or set DISPLAY",
              file=sys.stderr)
        return 1
    try:
        from PySide6.QtWidgets import QApplication

        from mtl_engine import warm_up

        warm_up()  # each shot shows a whole check, not the first second's pending one
        app = QApplication.instance() or QApplication(sys.argv[:1])
        folder = Path(args.folder)
        folder.mkdir(parents=True, exist_ok=True)
        shooter = Shooter(app, folder)
        print(f"screenshots on DISPLAY={os.environ['DISPLAY']} ({app.platformName()}) "
              f"into {folder}")
        for key in [args.only] if args.only else [*SETUPS, "study", "toy", "import",
                                                  "branches"]:
            if key == "study":
                from .study.shots import shoot_studies

                shoot_studies(shooter)
            elif key == "toy":
                from .toy.shots import shoot_toy

                shoot_toy(shooter)
            elif key == "import":
                from .panels.import_shots import shoot_import

                shoot_import(shooter)
            elif key == "branches":
                shoot_branches(shooter)
            else:
                shoot_setup(shooter, SETUPS[key], args.limit)
    finally:
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
