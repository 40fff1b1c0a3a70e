"""Start-up: the first paint needs no torch, and the main window then takes the frame's place;
the main window is built and checked without torch, which loads on a background thread, after
which the check is whole; `mtl-run --help` loads no torch either; the Training panel offers
training.threads."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from PySide6.QtWidgets import QApplication

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


def test_the_main_window_is_built_without_torch_and_checked_whole_once_it_loads(tmp_path
                                                                                 ) -> None:
    # a fresh process, as `mtl-explorer` starts: who imports torch first, and what the window
    # says before and after
    printed = _python("""
        import builtins, sys, threading, time
        first = []
        real_import = builtins.__import__
        def watch(name, *args, **kwargs):
            if name.split(".")[0] == "torch" and not first:
                first.append(threading.current_thread().name)
            return real_import(name, *args, **kwargs)
        builtins.__import__ = watch
        from PySide6.QtWidgets import QApplication
        app = QApplication(sys.argv[:1])
        import mtl_gui.document as document
        checks = []  # each check the window makes: (whole?, pending?)
        real_check = document.check_config
        def logged(draft, model=True):
            result = real_check(draft, model)
            checks.append(f"{model}/{result.pending}")
            return result
        document.check_config = logged
        from mtl_gui.app import create_window
        window = create_window()
        window.show()
        def devices():
            combo = window.training_panel.train_form.editors["device"].combo
            return ",".join(combo.itemText(i) for i in range(combo.count()))
        deadline = time.monotonic() + 90
        while window.session.check.pending and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.01)
        check = window.session.check
        print(first[0] if first else "none", check.pending, check.problem,
              check.summary is not None and check.summary.ok,
              window.controls.start_btn.isEnabled(), window.controls.reason.text() or "-",
              devices().startswith("auto,cpu"))
        print(checks[0], checks[-1])
        window.session.shutdown(10)
    """, tmp_path)
    # the first check leaves the model out (pending); the last, after the warm-up, is whole
    assert printed == ["mtl-warm-up", "False", "None", "True", "True", "-", "True",
                       "False/True", "True/False"], printed


def test_a_pending_check_disables_start_and_a_failed_torch_load_is_said(window, monkeypatch
                                                                        ) -> None:  # noqa: ANN001
    import mtl_gui.document as document

    document_ = window.session.document
    calls = []

    def failing_warm_up() -> None:
        calls.append(1)
        raise ImportError("libtorch_cpu.so: cannot open shared object file")

    monkeypatch.setattr(document, "is_warm", lambda: False)
    monkeypatch.setattr(document, "warm_up", failing_warm_up)
    document_._warming = None  # as on a fresh launch: nothing warmed yet
    window.session.rename("pending check")
    assert window.session.check.pending and window.session.check.config is None
    assert window.session.check.problem == "checking the model's shapes (loading PyTorch)"
    assert not window.controls.start_btn.isEnabled()
    assert "Start is disabled: checking the model's shapes" in window.controls.reason.text()
    assert window.controls.reason.property("tone") == "hint"  # not the user's mistake
    deadline = time.monotonic() + 10  # the thread starts, fails, and queues a new check
    while window.session.check.pending and time.monotonic() < deadline:
        QApplication.processEvents()
        time.sleep(0.005)
    assert calls == [1]
    check = window.session.check
    assert not check.pending and check.problem == (
        "PyTorch could not be loaded: ImportError: libtorch_cpu.so: cannot open shared object "
        "file")
    assert not window.controls.start_btn.isEnabled()
    assert window.controls.reason.property("tone") == "error"
    monkeypatch.undo()  # torch is in after all: the next edit is checked whole
    window.session.rename("whole check")
    assert window.session.problem is None and window.controls.start_btn.isEnabled()
