"""Export (model bundle, TorchScript, PNG, SVG, CSV) and replay of run folders without training."""

from __future__ import annotations

import csv
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from conftest import fake_events, replay, tiny_run
from PySide6.QtGui import QImage

import mtl_engine.presets as presets
from mtl_engine.cli import main as mtl_run
from mtl_engine.config import from_dict
from mtl_engine.export import load_bundle


@pytest.fixture
def finished(qtbot, window):  # noqa: ANN001, ANN201
    window.session.edit(tiny_run)
    window.session.start()
    qtbot.waitUntil(lambda: window.session.state == "idle", timeout=60_000)
    assert window.session.runs[-1].status == "completed"
    return window


def _inputs(window) -> np.ndarray:  # noqa: ANN001
    spec = window.session.check.spec
    return np.random.default_rng(0).normal(size=(7, *spec.input_shape)).astype(np.float32)


def test_exported_bundle_reloads_and_predicts_like_the_trained_model(finished, tmp_path: Path
                                                                     ) -> None:
    entry = finished.session.runs[-1]
    dest = finished.export_model(entry, dest=tmp_path / "model.pt")
    assert dest is not None and dest.exists()
    x = _inputs(finished)
    original = load_bundle(entry.model_file).predict(x)
    exported = load_bundle(dest)
    again = exported.predict(x)
    assert set(again) == {"digit", "parity"}
    for task in again:
        assert np.array_equal(again[task], original[task])
    assert exported.config == from_dict(entry.config)


def test_torchscript_export_gives_the_same_outputs(finished, tmp_path: Path) -> None:
    import torch  # the test checks the file as a user outside the app would load it

    entry = finished.session.runs[-1]
    dest = finished.export_model(entry, torchscript=True, dest=tmp_path / "model.ts")
    assert dest is not None
    x = _inputs(finished)
    scripted = torch.jit.load(str(dest))
    digit, parity = (t.detach().numpy() for t in scripted(torch.from_numpy(x)))
    want = load_bundle(entry.model_file).predict(x)
    assert np.allclose(digit, want["digit"], atol=1e-6)
    assert np.allclose(parity, want["parity"], atol=1e-6)


def test_every_plot_exports_as_a_png_image_and_a_parsable_svg(finished, tmp_path: Path) -> None:
    files = finished.export_plots(tmp_path)
    names = {p.name for p in files}
    assert {"loss.png", "loss.svg", "loss_shares.png", "gradient_conflict.svg"} <= names
    for path in files:
        if path.suffix == ".png":
            image = QImage(str(path))
            assert not image.isNull() and image.width() > 100 and image.height() > 100
        else:
            root = ET.parse(path).getroot()
            assert root.tag == "{http://www.w3.org/2000/svg}svg"
            assert root.find(".//{http://www.w3.org/2000/svg}path") is not None
    svg = (tmp_path / "loss.svg").read_text()
    assert "Loss per task" in svg  # titles stay text, not pixels


def test_curves_export_as_csv_with_the_logged_values(finished, tmp_path: Path) -> None:
    files = finished.export_csv(tmp_path)
    h = finished.session.runs[-1].history
    with open(tmp_path / "run1_steps.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == h.n_steps
    assert [float(r["loss/digit"]) for r in rows] == h.loss["digit"].view.tolist()
    with open(tmp_path / "run1_epochs.csv", newline="") as f:
        epochs = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in epochs] == [1, 2]
    assert float(epochs[-1]["val/parity/accuracy"]) == h.val_metrics["parity"]["accuracy"].view[-1]
    assert len(files) == 2


def test_a_diverged_run_keeps_an_exportable_model(qtbot, window, tmp_path: Path) -> None:
    def explode(d: dict) -> None:
        tiny_run(d)
        d["optimizer"] = {"name": "sgd", "lr": 1e30}

    window.session.edit(explode)
    window.session.start()
    qtbot.waitUntil(lambda: window.session.state == "idle", timeout=60_000)
    entry = window.session.runs[-1]
    assert entry.status == "failed"
    assert "became nan" in window.message_bar.text
    dest = window.export_model(entry, dest=tmp_path / "last_good.pt")
    assert dest is not None
    exported = load_bundle(dest)
    assert exported.status == "failed"
    x = _inputs(window)
    out, kept = exported.predict(x), load_bundle(entry.model_file).predict(x)
    assert out["digit"].shape == (7, 10)
    for task in out:
        assert np.array_equal(out[task], kept[task], equal_nan=True)


def test_a_folder_written_by_mtl_run_opens_with_its_curves(window, tmp_path: Path) -> None:
    preset = tmp_path / "p.yaml"
    d = presets.load(presets.DEFAULT_PRESET).to_dict()
    tiny_run(d)
    presets.save(from_dict(d), preset)
    folder = tmp_path / "headless"
    assert mtl_run([str(preset), "--out", str(folder), "--quiet"]) == 0
    entry = window.open_run_folder(folder)
    assert entry is not None and entry.status == "completed"
    assert entry.history.n_steps == 12
    assert entry.visible and window.session.shown_runs() == [entry]
    window.plots.refresh(force=True)
    assert f"{entry.uid}/train/digit" in window.plots.loss_plot._items
    assert window.runs_panel.table.rowCount() == 1
    assert window.runs_panel.table.item(0, 6).text() == "completed"
    # and its setup can be put back into the panels
    assert window.load_run_setup(entry)
    assert window.session.draft["data"]["dataset"] == "digits"


def test_overlaying_two_runs_draws_both(qtbot, window) -> None:  # noqa: ANN001
    s = window.session
    s.source_factory = lambda config, out: replay(fake_events(epochs=1, steps_per_epoch=10))
    for _ in range(2):
        s.start()
        qtbot.waitUntil(lambda: s.state == "idle", timeout=10_000)
    assert [r.visible for r in s.runs] == [False, True]  # a new run is shown alone
    s.set_visible(s.runs[0], True)
    window.plots.refresh(force=True)
    names = sorted(c.name for c in window.plots.loss_plot._shown)
    # compared one task at a time (the bar's task picker): each run's train and validation
    assert names == ["run 1 · left train", "run 1 · left val", "run 2 · left train",
                     "run 2 · left val"]


def test_a_folder_that_is_not_a_run_is_reported(window, tmp_path: Path) -> None:
    assert window.open_run_folder(tmp_path) is None
    assert "not a run folder" in window.message_bar.text
    assert window.session.runs == []
