"""Regression tasks with k values per row (DataTask.outputs = k; targets (N, k)).

Every expected number here is computed by hand with numpy from the definitions: the loss is the
mean of the squared residuals over the present cells (a NaN cell skipped on its own), mse / mae
the means over the present cells, R^2 the mean over the columns of each column's
1 - SS_res / SS_tot, the target standardisation per column on the training rows.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from mtl_engine import build
from mtl_engine.config import PreprocessConfig, from_dict
from mtl_engine.data._common import make_task
from mtl_engine.data.base import Dataset, DataTask
from mtl_engine.data.gradnorm_toy import load_gradnorm_toy
from mtl_engine.errors import BundleError
from mtl_engine.export import export_program, export_torchscript, load_bundle
from mtl_engine.losses import task_loss
from mtl_engine.metrics import mae, mse, r2
from mtl_engine.preprocess import Preprocessing, fit_preprocessing
from mtl_engine.splits import read_split
from mtl_engine.training import run

K = 3


def _cells() -> tuple[np.ndarray, np.ndarray]:
    pred = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 2.0], [3.0, 1.0, 1.0], [2.0, 0.0, -2.0]])
    target = np.array([[1.5, np.nan, 0.0], [1.0, -2.0, 2.5], [2.0, 1.0, np.nan],
                       [2.0, 3.0, -1.0]])
    return pred, target


# ---------------------------------------------------------------------- losses and metrics


@pytest.mark.parametrize("name, per_cell", [("mse", np.square), ("l1", np.abs)])
def test_the_loss_is_the_mean_over_the_present_cells(name: str, per_cell) -> None:
    pred, target = _cells()
    present = ~np.isnan(target)
    want = per_cell(pred - target)[present].sum() / present.sum()  # 10 cells of 12
    p = torch.tensor(pred, requires_grad=True)
    got = task_loss(name)(p, torch.tensor(target))
    assert float(got.detach()) == pytest.approx(want, rel=1e-12)
    got.backward()
    assert p.grad is not None and bool(torch.isfinite(p.grad).all())
    assert p.grad[0, 1] == 0 and p.grad[2, 2] == 0  # the missing cells pull on nothing
    # with no cell missing, the fused form is the mean over all N k cells, as the masked one
    full = np.where(present, target, 0.25)
    fused = task_loss(name, fused=True)(torch.tensor(pred), torch.tensor(full))
    assert float(fused) == pytest.approx(per_cell(pred - full).mean(), rel=1e-12)


def test_metrics_over_cells_and_r2_per_column() -> None:
    pred, target = _cells()
    present = ~np.isnan(target)
    res = (pred - target)[present]
    assert mse(pred, target) == pytest.approx(np.mean(res ** 2), rel=1e-12)
    assert mae(pred, target) == pytest.approx(np.mean(np.abs(res)), rel=1e-12)
    per_column = []
    for j in range(K):
        keep = present[:, j]
        y, p = target[keep, j], pred[keep, j]
        per_column.append(1 - np.sum((y - p) ** 2) / np.sum((y - y.mean()) ** 2))
    assert r2(pred, target) == pytest.approx(np.mean(per_column), rel=1e-12)
    # pooled against the grand mean it would be another number: the choice is visible
    pooled = 1 - np.sum(res ** 2) / np.sum((target[present] - target[present].mean()) ** 2)
    assert abs(pooled - np.mean(per_column)) > 0.1
    # a column with no present cell is left out of the mean; none at all: NaN
    empty = target.copy()
    empty[:, 1] = np.nan
    assert r2(pred, empty) == pytest.approx(np.mean([per_column[0], per_column[2]]), rel=1e-12)
    assert np.isnan(r2(pred, np.full_like(target, np.nan)))


def test_one_value_targets_score_as_before() -> None:
    rng = np.random.default_rng(0)
    y, p = rng.normal(size=50), rng.normal(size=50)
    y[3] = np.nan
    keep = ~np.isnan(y)
    want = 1 - np.sum((y[keep] - p[keep]) ** 2) / np.sum((y[keep] - y[keep].mean()) ** 2)
    for pred in (p, p[:, None]):  # a (N, 1) head output against (N,) targets, as ever
        assert r2(pred, y) == pytest.approx(want, rel=1e-12)
    assert r2(p[:, None], y[:, None]) == pytest.approx(want, rel=1e-12)


# ---------------------------------------------------------------------- data declaration


def test_only_a_regression_task_takes_several_outputs() -> None:
    assert make_task("v", "regression", outputs=4).n_outputs == 4
    assert make_task("c", "classification", 5).n_outputs == 5
    assert make_task("s", "regression").n_outputs == 1
    with pytest.raises(ValueError, match="outputs must be 1, or more for a regression task"):
        DataTask("b", "binary", 2, "bce", "accuracy", outputs=3)
    with pytest.raises(ValueError, match="outputs must be 1"):
        DataTask("r", "regression", 1, "mse", "mse", outputs=0)


# ---------------------------------------------------------------------- preprocessing


def _vector_dataset(seed: int = 0) -> Dataset:
    """The GradNorm toy with 3 values per task, its targets left raw (so the run standardises
    them per column), shifted per column, with holes; plus a one-value task t3."""
    ds = load_gradnorm_toy({"n_samples": 300, "outputs": K, "input_dim": 12}, seed)
    shift = np.array([5.0, -3.0, 40.0], dtype=np.float32)
    t1 = ds.targets["t1"] + shift
    t2 = ds.targets["t2"].copy()
    t1[[0, 7, 8], [1, 0, 2]] = np.nan
    t2[5, 2] = np.nan
    t3 = (2.0 * ds.targets["t1"][:, 0] + 1.0).astype(np.float32)
    t3[11] = np.nan
    tasks = ds.spec.tasks + (make_task("t3", "regression", description="one value"),)
    spec = dataclasses.replace(ds.spec, tasks=tasks)
    return Dataset(spec, ds.x, {"t1": t1, "t2": t2, "t3": t3}, prepared=frozenset({"inputs"}))


def test_targets_are_standardised_per_column_and_stored_as_plain_numbers() -> None:
    ds = _vector_dataset()
    config = _config()
    tasks = build.resolve_tasks(config, ds.spec)
    train = np.arange(0, 300, 2)
    prep = fit_preprocessing(PreprocessConfig(), ds, tasks, train)
    m1, s1 = prep.targets["t1"]
    y = ds.targets["t1"][train].astype(np.float64)
    assert np.allclose(m1, np.nanmean(y, axis=0), rtol=1e-12)
    assert np.allclose(s1, np.nanstd(y, axis=0), rtol=1e-12)
    assert isinstance(prep.targets["t3"][0], float)  # a one-value task: two floats, as before
    scaled = prep.scale_target("t1", torch.tensor(ds.targets["t1"]))
    want = (ds.targets["t1"] - np.array(m1, dtype=np.float32)) / np.array(s1, dtype=np.float32)
    assert np.allclose(scaled.numpy(), want, equal_nan=True, atol=1e-6)
    back = prep.to_raw("t1", scaled)
    assert np.allclose(back.numpy(), ds.targets["t1"], equal_nan=True, atol=1e-4)
    again = Preprocessing.from_dict(prep.to_dict(), "bundle", ds.spec.input_shape)
    assert again == prep
    bad = prep.to_dict()
    bad["targets"]["t1"] = [list(m1), list(s1)[:2]]
    with pytest.raises(BundleError, match=r"preprocessing.targets\['t1'\] must be \[mean, std\]"):
        Preprocessing.from_dict(bad, "bundle", ds.spec.input_shape)


# ---------------------------------------------------------------------- a run end to end


def _config(**training):
    return from_dict({
        "name": "vector regression",
        "data": {"dataset": "gradnorm_toy", "val_fraction": 0.3},
        "trunk": [{"type": "linear", "out_features": 16}, {"type": "relu"}],
        "tasks": [{"name": "t1"}, {"name": "t2"}, {"name": "t3"}],
        "strategy": {"name": "equal"},
        "optimizer": {"name": "adam", "lr": 0.01},
        "training": {"epochs": 3, "batch_size": 32, "seed": 1, "device": "cpu",
                     "log_every": 5, **training},
    })


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory):
    ds = _vector_dataset()
    mp = pytest.MonkeyPatch()
    mp.setattr(build, "load_dataset", lambda *a, **k: ds)
    out = tmp_path_factory.mktemp("vector")
    try:
        events = list(run(_config(), out_dir=out))
    finally:
        mp.undo()
    return ds, out, events


def test_a_k_value_task_trains_and_its_bundle_predicts_n_by_k(trained) -> None:
    ds, out, events = trained
    failed = [e for e in events if type(e).__name__ == "RunFailed"]
    assert not failed, failed
    epochs = [e for e in events if type(e).__name__ == "EpochEnded"]
    assert len(epochs) == 3
    assert epochs[-1].val_loss["t1"] < epochs[0].val_loss["t1"]
    loaded = load_bundle(out / "model.pt")
    assert [t.n_outputs for t in loaded.tasks] == [K, K, 1]
    val = read_split(out).val
    pred = loaded.predict(ds.x[val])
    assert pred["t1"].shape == (len(val), K) and pred["t3"].shape == (len(val),)
    last = epochs[-1]
    prep = loaded.preprocessing
    assert prep is not None
    for name in ("t1", "t2", "t3"):
        y = ds.targets[name][val].astype(np.float64)
        p = pred[name].astype(np.float64)
        present = ~np.isnan(y)
        # metrics in the target's units, over the present cells
        assert last.val_metrics[name]["mse"] == pytest.approx(
            np.mean((p - y)[present] ** 2), rel=1e-4)
        # the loss in the standardised units it trained in: the mean over present cells
        m, s = (np.asarray(v, dtype=np.float64) for v in prep.targets[name])
        z = ((p - m) / s - (y - m) / s)[present]
        assert last.val_loss[name] == pytest.approx(np.mean(z ** 2), rel=1e-4)
    # the masked cells of the validation rows really were there to skip
    assert np.isnan(ds.targets["t1"][val]).any() or np.isnan(ds.targets["t2"][val]).any()


def test_the_bundle_reloads_to_the_predictions_of_the_run(trained, tmp_path: Path) -> None:
    ds, out, _ = trained
    loaded = load_bundle(out / "model.pt")
    x = ds.x[:17]
    first = loaded.predict(x)
    # the network itself, preprocessing by hand: what the run's model gave before saving
    prep = loaded.preprocessing
    assert prep is not None
    with torch.no_grad():
        raw = loaded.model(torch.from_numpy(x))
    for name in ("t1", "t2", "t3"):
        want = prep.to_raw(name, raw[name]).numpy()
        assert first[name].shape == want.shape
        assert np.allclose(first[name], want, atol=1e-5)
    again = load_bundle(out / "model.pt").predict(x)
    for name in first:
        assert np.array_equal(first[name], again[name])
    # the exported programs give the same (n, k) outputs
    program = torch.export.load(export_program(out / "model.pt", tmp_path / "m.pt2")).module()
    script = torch.jit.load(str(export_torchscript(out / "model.pt", tmp_path / "m.ts")))
    for module in (program, script):
        outs = module(torch.from_numpy(x))
        for name, value in zip(("t1", "t2", "t3"), outs):
            assert tuple(value.shape) == first[name].shape
            assert np.allclose(value.detach().numpy(), first[name], atol=1e-5)


def test_onnx_export_gives_n_by_k_outputs(trained, tmp_path: Path) -> None:
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from mtl_engine.onnx_export import export_onnx

    ds, out, _ = trained
    path = export_onnx(out / "model.pt", tmp_path / "m.onnx")
    x = ds.x[:9]
    outs = ort.InferenceSession(str(path)).run(None, {"x": x})
    want = load_bundle(out / "model.pt").predict(x)
    for name, value in zip(("t1", "t2", "t3"), outs):
        assert value.shape == want[name].shape
        assert np.allclose(value, want[name], atol=1e-5)
