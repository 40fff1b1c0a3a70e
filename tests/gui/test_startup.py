"""Start-up: the first paint needs no torch, and the main window then takes the frame's place;
`mtl-run --help` loads no torch either; the Training panel offers training.threads."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _python(code: str, tmp_path: Path) -> list[str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "MTL_EXPLORER_HOME": str(tmp_path),
           "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout.split()


def test_the_first_paint_imports_no_torch(tmp_path) -> None:
    # what `mtl-explorer` runs up to the start-up frame's first paint, in a fresh process
    printed = _python("""
        import sys
        from PySide6.QtWidgets import QApplication
        import mtl_gui.__main__, mtl_gui.app
        from mtl_gui.settings import Settings
        from mtl_gui.startup import StartupFrame, show_startup_frame
        app = QApplication(sys.argv[:1])
        frame = show_startup_frame(app, Settings())
        print(frame.isVisible(), frame.windowTitle() == "MTL Explorer")
        print(sorted(m for m in sys.modules if m == "torch" or m.startswith("torch.")) or "none")
    """, tmp_path)
    assert printed == ["True", "True", "none"]


def test_mtl_run_help_imports_no_torch(tmp_path) -> None:
    printed = _python("""
        import contextlib, io, sys
        from mtl_engine.cli import main
        with contextlib.redirect_stdout(io.StringIO()) as text:
            try:
                main(["--help"])
            except SystemExit:
                pass
        print("usage: mtl-run" in text.getvalue(), "torch" in sys.modules,
              "torch.optim" in sys.modules)
    """, tmp_path)
    assert printed == ["True", "False", "False"]


def test_the_main_window_takes_the_start_up_frames_place(qtbot, qapp) -> None:  # noqa: ANN001
    from mtl_gui.app import show_windows
    from mtl_gui.settings import Settings
    from mtl_gui.startup import show_startup_frame

    settings = Settings()
    frame = show_startup_frame(qapp, settings)
    assert frame.isVisible()
    window = show_windows(None, settings, frame)
    qtbot.addWidget(window)
    try:
        assert window.isVisible() and not frame.isVisible()
        assert window.session.draft  # the default preset, loaded and checked
    finally:
        window.session.shutdown(10)
        window.close()


def test_the_training_panel_sets_threads(window) -> None:  # noqa: ANN001
    editor = window.training_panel.train_form.editors["threads"]
    assert not editor.switch.isChecked()  # auto: the preset does not set it
    editor.switch.setChecked(True)
    assert window.session.draft["training"]["threads"] == 1  # the least, shown when switched on
    editor.inner.spin.setValue(2)
    assert window.session.draft["training"]["threads"] == 2
    assert not window.session.problem
    assert window.session.check.config.training.threads == 2
    editor.switch.setChecked(False)  # back to auto
    assert window.session.draft["training"]["threads"] is None
    assert window.session.check.config.training.threads is None
