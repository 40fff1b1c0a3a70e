"""ONNX export (issue 16): every sharing scheme and a raw table's preprocessing, run by
onnxruntime and compared with the bundle's own predictions; a missing extra is one line."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import numpy as np
import pytest

from mtl_engine import export_onnx, load_bundle
from mtl_engine.build import dataset_for
from mtl_engine.config import from_dict
from mtl_engine.errors import BundleError
from mtl_engine.events import RunFinished
from mtl_engine.export_cli import main as export_main
from mtl_engine.extras import EXTRAS, MissingExtraError
from mtl_engine.registry import SHARING
from mtl_engine.training import run

from .conftest import tiny
from .test_raw_table_bundle import write_table

ort = pytest.importorskip("onnxruntime", reason="the onnx test extra is not installed "
                          "(pip install -e '.[test]')")
pytest.importorskip("onnxscript", reason="the onnx extra is not installed")

SCHEME_PARAMS = {"mmoe": {"experts": 3}, "cascade": {"order": ["digit", "parity", "ge5"]}}


def _session(path: Path):  # noqa: ANN202
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _short(**changes):  # noqa: ANN003, ANN202
    return tiny(training={"epochs": 1, "max_steps_per_epoch": 2, "log_every": 1}, **changes)


@pytest.mark.parametrize("scheme", SHARING.names())
def test_every_scheme_runs_in_onnxruntime_like_the_bundle(scheme: str, tmp_path: Path) -> None:
    config = _short(sharing={"scheme": scheme, "params": SCHEME_PARAMS.get(scheme, {})})
    events = list(run(config, out_dir=tmp_path / "run"))
    assert isinstance(events[-1], RunFinished), events[-1]
    dest = export_onnx(tmp_path / "run" / "model.pt", tmp_path / "model.onnx")
    session = _session(dest)
    (inp,) = session.get_inputs()
    assert inp.name == "x" and isinstance(inp.shape[0], str)  # a named, dynamic batch
    assert list(inp.shape[1:]) == [64] and inp.type == "tensor(float)"
    assert [o.name for o in session.get_outputs()] == ["digit", "parity", "ge5"]
    x = dataset_for(config).x[:9].astype(np.float32)  # 9 rows: not the export's batch of 2
    got = session.run(None, {"x": x})
    want = load_bundle(tmp_path / "run" / "model.pt").predict(x)
    for out, value in zip(session.get_outputs(), got):
        assert value.shape == want[out.name].shape
        np.testing.assert_allclose(value, want[out.name], rtol=1e-5, atol=1e-5)
    one = session.run(None, {"x": x[:1]})  # and a single row
    np.testing.assert_allclose(one[0], want["digit"][:1], rtol=1e-5, atol=1e-5)


def test_a_raw_table_is_imputed_and_unscaled_inside_the_onnx_file(tmp_path: Path) -> None:
    path = tmp_path / "penguins_raw.csv.gz"
    write_table(path, n=240)
    config = from_dict({
        "data": {"dataset": "csv", "val_fraction": 0.25, "params": {
            "path": str(path), "tasks": ["mass_g:regression", "male:binary"]}},
        "trunk": [{"type": "linear", "out_features": 16}, {"type": "relu"}],
        "tasks": [{"name": "mass_g"}, {"name": "male"}],
        "training": {"epochs": 2, "batch_size": 32, "device": "cpu", "seed": 0},
    })
    events = list(run(config, out_dir=tmp_path / "run"))
    assert isinstance(events[-1], RunFinished), events[-1]
    loaded = load_bundle(tmp_path / "run" / "model.pt")
    assert loaded.preprocessing is not None and loaded.preprocessing.fill is not None
    assert "mass_g" in loaded.preprocessing.targets  # the target is standardised in training
    with gzip.open(path, "rt", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter=";"))[:30]
    assert any(r["flipper_mm"] == "" for r in rows)  # raw gaps among them
    x = loaded.encode(rows).astype(np.float32)  # the file takes float32, as predict does
    assert np.isnan(x).any()
    session = _session(export_onnx(tmp_path / "run" / "model.pt", tmp_path / "m.onnx"))
    got = dict(zip([o.name for o in session.get_outputs()], session.run(None, {"x": x})))
    want = loaded.predict(x)
    for task in ("mass_g", "male"):
        assert np.isfinite(got[task]).all()
        np.testing.assert_allclose(got[task], want[task], rtol=1e-5, atol=1e-5 * 5000)
    mean, std = loaded.preprocessing.targets["mass_g"]
    # in grams, not standard units: the file turns the output back into the target's units
    assert mean > 2000 and abs(float(np.mean(got["mass_g"])) - mean) < 3 * std


def test_the_cli_takes_a_run_folder_and_a_missing_extra_is_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
        ) -> None:
    list(run(_short(), out_dir=tmp_path / "run"))
    assert export_main(["onnx", str(tmp_path / "run"), str(tmp_path / "a.onnx")]) == 0
    assert (tmp_path / "a.onnx").stat().st_size > 1000
    assert _session(tmp_path / "a.onnx").get_outputs()[0].name == "digit"
    # as on a machine without onnxscript: the extra's modules are looked up by name
    monkeypatch.setitem(EXTRAS, "onnx", ("ONNX export", ("onnx", "onnxscript_not_here")))
    with pytest.raises(MissingExtraError) as info:
        export_onnx(tmp_path / "run" / "model.pt", tmp_path / "b.onnx")
    message = str(info.value)
    assert "\n" not in message and "onnxscript_not_here" in message
    assert "pip install \"mtl-explorer[onnx]\"" in message
    assert not (tmp_path / "b.onnx").exists()
    assert export_main(["onnx", str(tmp_path / "run"), str(tmp_path / "b.onnx")]) == 2
    assert "mtl-export: ONNX export needs" in capsys.readouterr().err


def test_a_file_that_is_not_a_bundle_is_refused(tmp_path: Path) -> None:
    (tmp_path / "junk.pt").write_bytes(b"not a zip")
    with pytest.raises(BundleError, match="junk.pt"):
        export_onnx(tmp_path / "junk.pt", tmp_path / "x.onnx")
    assert not (tmp_path / "x.onnx").exists()
