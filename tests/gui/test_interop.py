"""The window's interop (issue 16): File > Export > ONNX, the Run menu's "Write TensorBoard
logs" option, and a TensorBoard log folder of a run trained elsewhere in the runs table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import tiny_run

from mtl_engine.export import load_bundle

ort = pytest.importorskip("onnxruntime", reason="the onnx test extra is not installed")
pytest.importorskip("tensorboard", reason="the tensorboard extra is not installed")


def _action(window, menu_title: str, text: str):  # noqa: ANN001, ANN202
    for top in window.menuBar().actions():
        if top.text().replace("&", "") == menu_title:
            stack = list(top.menu().actions())
            while stack:
                a = stack.pop()
                if a.menu() is not None:
                    stack += a.menu().actions()
                elif a.text().replace("&", "") == text:
                    return a
    raise AssertionError(f"no {menu_title} > {text}")


def test_onnx_export_option_and_tensorboard_logs_of_a_window_run(qtbot, window,  # noqa: ANN001
                                                                 tmp_path: Path) -> None:
    option = _action(window, "Run", "Write TensorBoard logs")
    assert option.isCheckable() and not option.isChecked()
    option.setChecked(True)  # remembered in the settings
    assert window.settings.get_bool("write_tensorboard", False)
    window.session.edit(tiny_run)
    window.session.start()
    qtbot.waitUntil(lambda: window.session.state == "idle", timeout=60_000)
    entry = window.session.runs[-1]
    assert entry.status == "completed"
    logs = entry.folder / "tensorboard"
    assert len(list(logs.glob("events.out.tfevents.*"))) == 1

    # File > Export > ONNX of the latest run, through the save dialog's answer
    window.ask_save_path = lambda *a: tmp_path / "model.onnx"  # type: ignore[method-assign]
    _action(window, "File", "ONNX of the latest run\u2026").trigger()
    session = ort.InferenceSession(str(tmp_path / "model.onnx"),
                                   providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).normal(size=(5, 64)).astype(np.float32)
    got = dict(zip([o.name for o in session.get_outputs()], session.run(None, {"x": x})))
    want = load_bundle(entry.model_file).predict(x)
    assert set(got) == {"digit", "parity"}
    for task in got:
        np.testing.assert_allclose(got[task], want[task], rtol=1e-5, atol=1e-5)

    # the log folder opens back as a run next to the one that wrote it, with its curves
    before = len(window.session.runs)
    window.ask_open_path = lambda *a, **k: logs  # type: ignore[method-assign]
    _action(window, "File", "Open TensorBoard log folder\u2026").trigger()
    assert len(window.session.runs) == before + 1
    imported = window.session.runs[-1]
    assert imported.folder == logs and imported.visible and entry.visible
    assert imported.config == entry.config and imported.status == "completed"
    np.testing.assert_allclose(imported.history.loss["parity"].view,
                               entry.history.loss["parity"].view, rtol=1e-6)
    assert imported.final_metrics() == pytest.approx(entry.final_metrics(), rel=1e-6)
    row = window.runs_panel.row_of(imported)
    assert row >= 0 and window.runs_panel.table.item(row, 7).text()  # its metrics cell


def test_open_run_folder_takes_a_foreign_log_dir_and_refuses_other_folders(
        window, tmp_path: Path) -> None:  # noqa: ANN001
    from torch.utils.tensorboard import SummaryWriter

    w = SummaryWriter(str(tmp_path / "logs" / "exp1"))
    for s in range(4):
        w.add_scalar("a/loss", 1.0 - 0.1 * s, s)
        w.add_scalar("b/loss", 2.0 - 0.1 * s, s)
    w.add_scalar("val/a/accuracy", 0.8, 3)
    w.close()
    entry = window.open_run_folder(tmp_path / "logs")  # the usual "Open run folder..." button
    assert entry is not None and entry.name == "exp1"
    assert entry.history.tasks == ["a", "b"]
    assert list(entry.history.loss["b"].view) == pytest.approx([2.0, 1.9, 1.8, 1.7])
    assert entry.final_metrics() == pytest.approx({"a": 0.8})
    assert entry.model_file is None  # nothing to export from a foreign log
    (tmp_path / "empty").mkdir()
    n = len(window.session.runs)
    assert window.open_tensorboard(tmp_path / "empty") == []
    assert len(window.session.runs) == n
    assert "no events.out.tfevents" in window.message_bar.text
