"""The model's own preprocessing: fitted on the training rows, applied in training, saved in the
bundle and inside both exported files, so every path predicts raw rows as the run validated."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from mtl_engine.build import load_dataset, resolve_tasks
from mtl_engine.config import from_dict
from mtl_engine.errors import BundleError, ConfigError
from mtl_engine.events import RunFinished
from mtl_engine.export import export_program, export_torchscript, load_bundle
from mtl_engine.preprocess import fit_preprocessing
from mtl_engine.registry import METRICS
from mtl_engine.session_setup import prepare
from mtl_engine.training import run

TINY = """\
a,b,y,c
1,10,1,0
2,,2,1
3,30,3,0
100,40,1000,1
"""


def csv_config(path: Path | str, tasks: list[str], **data: Any) -> Any:
    names = [t.split(":")[0] for t in tasks]
    training = data.pop("training", {})
    return from_dict({
        "data": {"dataset": "csv", "params": {"path": str(path), "tasks": tasks}, **data},
        "trunk": [{"type": "linear", "out_features": 32}, {"type": "relu"}],
        "tasks": [{"name": n} for n in names],
        "optimizer": {"name": "adam", "lr": 0.01},
        "training": {"epochs": 1, "batch_size": 64, "device": "cpu", "seed": 0, **training},
    })


def fitted(tmp_path: Path, **data: Any) -> Any:
    path = tmp_path / "tiny.csv"
    path.write_text(TINY, encoding="utf-8")
    config = csv_config(path, ["y:regression", "c:binary"], **data)
    ds = load_dataset("csv", dict(config.data.params))
    tasks = resolve_tasks(config, ds.spec)
    return fit_preprocessing(config.data.preprocess, ds, tasks, np.array([0, 1, 2])), ds


def test_statistics_come_from_the_training_rows_only(tmp_path: Path) -> None:
    prep, _ = fitted(tmp_path)
    # rows 0-2 train; row 3 (a = 100, y = 1000) is never seen. a: 1, 2, 3 -> mean 2, population
    # sd sqrt(2/3). b: the present training cells 10, 30 -> mean 20, sd 10. y: like a.
    assert prep.mean == pytest.approx((2.0, 20.0))
    assert prep.std == pytest.approx((np.sqrt(2 / 3), 10.0))
    assert prep.targets == {"y": pytest.approx((2.0, np.sqrt(2 / 3)))}
    assert "c" not in prep.targets  # a binary target is never scaled


def test_missing_inputs_take_the_training_mean(tmp_path: Path) -> None:
    prep, ds = fitted(tmp_path)
    assert prep.fill == pytest.approx((2.0, 20.0))
    out = prep.apply_inputs(torch.from_numpy(ds.x)).numpy()
    s = np.sqrt(2 / 3)
    expected = [[-1 / s, -1.0], [0.0, 0.0], [1 / s, 1.0], [98 / s, 2.0]]
    assert out == pytest.approx(np.array(expected, dtype=np.float32), rel=1e-6, abs=1e-6)
    y = prep.scale_target("y", torch.tensor([2.0, 1000.0]))
    assert prep.to_raw("y", y).tolist() == pytest.approx([2.0, 1000.0], rel=1e-6)


def test_each_step_turns_off_per_column_and_per_task(tmp_path: Path) -> None:
    prep, _ = fitted(tmp_path, preprocess={"raw_columns": ["b", "y"]})
    assert prep.mean == pytest.approx((2.0, 0.0)) and prep.std == pytest.approx((np.sqrt(2 / 3),
                                                                                 1.0))
    assert prep.fill == pytest.approx((2.0, 20.0))  # b is left unscaled but still imputed
    assert prep.targets == {}
    off, _ = fitted(tmp_path, preprocess={"inputs": False, "targets": False})
    assert off.mean == (0.0, 0.0) and off.std == (1.0, 1.0) and off.targets == {}
    assert off.fill == pytest.approx((2.0, 20.0))
    with pytest.raises(ConfigError, match=r"^data\.preprocess\.impute: is off but input 'b' "):
        fitted(tmp_path, preprocess={"impute": False})
    with pytest.raises(ConfigError, match=r"^data\.preprocess\.raw_columns\[1\]: unknown column "
                                          r"'x' \(inputs and regression targets: 'a', 'b', 'y'"):
        fitted(tmp_path, preprocess={"raw_columns": ["a", "x"]})
    with pytest.raises(ConfigError, match=r"raw_columns\[0\]: 'c' is a binary task"):
        fitted(tmp_path, preprocess={"raw_columns": ["c"]})


def test_the_setting_is_saved_only_when_it_differs_from_the_default(tmp_path: Path) -> None:
    plain = csv_config(tmp_path / "t.csv", ["y:regression"])
    assert "preprocess" not in plain.to_dict()["data"]
    off = csv_config(tmp_path / "t.csv", ["y:regression"],
                     preprocess={"targets": False, "raw_columns": ["a"]})
    assert off.to_dict()["data"]["preprocess"] == {"inputs": True, "impute": True,
                                                   "targets": False, "raw_columns": ["a"]}
    assert from_dict(off.to_dict()) == off
    with pytest.raises(ConfigError, match=r"^data\.preprocess\.inputs: "):
        csv_config(tmp_path / "t.csv", ["y:regression"], preprocess={"inputs": "no"})


def test_builtin_loaders_that_prepare_their_own_data_are_not_scaled_twice() -> None:
    for name, params in (("digits", {}), ("gradnorm_toy", {"n_samples": 200}),
                         ("mmoe_synthetic", {"n_samples": 300})):
        ds = load_dataset(name, params)
        config = from_dict({"data": {"dataset": name, "params": params},
                            "tasks": [{"name": t.name} for t in ds.spec.tasks]})
        setup = prepare(config)
        prep = setup.preprocessing
        assert not prep.scales_inputs and prep.targets == {} and prep.fill is None, name
    # penguins: the measurements scaled from the training rows, the island one-hot left 0/1
    ds = load_dataset("penguins", {})
    setup = prepare(from_dict({"data": {"dataset": "penguins", "val_fraction": 0.25},
                               "tasks": [{"name": "species"}, {"name": "body_mass"}]}))
    prep = setup.preprocessing
    assert prep.mean[3:] == (0.0, 0.0, 0.0) and prep.std[3:] == (1.0, 1.0, 1.0)
    assert setup.train.x[:, :3].mean(dim=0).abs().max() < 1e-5
    assert set(np.unique(setup.train.x[:, 3:].numpy())) == {0.0, 1.0}
    whole = np.nanmean(ds.x[:, 0])  # the whole file's mean differs from the training rows'
    assert prep.mean[0] != pytest.approx(whole, abs=1e-6)
    raw_train = setup.train.x[:, 0].double() * prep.std[0] + prep.mean[0]
    assert prep.mean[0] == pytest.approx(float(raw_train.mean()), abs=1e-4)
    assert 3000 < prep.targets["body_mass"][0] < 5500  # grams


# --------------------------------------------------------------------- a raw-scale target


def regression_table(tmp_path: Path, scaled: bool, name: str) -> Path:
    """600 rows: inputs on raw scales (one around 1e3, one with gaps), a target around 1e5 and a
    binary label; `scaled` z-scores the target by hand (the whole file's statistics)."""
    rng = np.random.default_rng(7)
    n = 600
    z = rng.normal(size=(n, 3))
    y = 1e5 + 2e4 * (z[:, 0] - 0.5 * z[:, 1] + 0.3 * z[:, 2]) + 1e3 * rng.normal(size=n)
    if scaled:
        y = (y - y.mean()) / y.std()
    label = (z[:, 1] + z[:, 2] > 0).astype(int)
    lines = ["size,depth,age,y,b"]
    for i in range(n):
        depth = "" if i % 17 == 0 else f"{1000 + 50 * z[i, 1]:.4f}"
        lines.append(f"{z[i, 0]:.6f},{depth},{40 + 10 * z[i, 2]:.4f},{y[i]:.6f},{label[i]}")
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def train(tmp_path: Path, path: Path, folder: str, **data: Any) -> tuple[dict[str, Any], Path]:
    config = csv_config(path, ["y:regression", "b:binary"], val_fraction=0.25,
                        training={"epochs": 25}, **data)
    out = tmp_path / folder
    events = list(run(config, out_dir=out))
    assert isinstance(events[-1], RunFinished), events[-1]
    return events[-1].final_metrics, out


@pytest.fixture(scope="module")
def raw_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path, Path]:
    tmp = tmp_path_factory.mktemp("raw")
    path = regression_table(tmp, scaled=False, name="raw.csv")
    metrics, out = train(tmp, path, "run")
    return metrics, out, path


def test_a_raw_scale_target_trains_as_well_as_a_hand_scaled_one(raw_run, tmp_path: Path) -> None:
    raw, _, _ = raw_run
    scaled, _ = train(tmp_path, regression_table(tmp_path, True, "scaled.csv"), "scaled")
    unscaled, _ = train(tmp_path, regression_table(tmp_path, False, "raw.csv"), "off",
                        preprocess={"targets": False})
    assert scaled["y"]["r2"] > 0.9
    assert raw["y"]["r2"] == pytest.approx(scaled["y"]["r2"], abs=0.03)
    assert raw["b"]["accuracy"] == pytest.approx(scaled["b"]["accuracy"], abs=0.05)
    assert unscaled["y"]["r2"] < 0.0  # what it did before: a target around 1e5 never fits
    # mse is in the target's own units: about (1 - R^2) times the variance of y (~ 4.9e8)
    assert raw["y"]["mse"] == pytest.approx((1 - raw["y"]["r2"]) * 4.9e8, rel=0.3)


def validation_rows(path: Path) -> tuple[Any, np.ndarray]:
    """The raw dataset and the rows the run validated on, found by what prepare made of them."""
    config = csv_config(path, ["y:regression", "b:binary"], val_fraction=0.25,
                        training={"epochs": 25})
    setup = prepare(config)
    ds = setup.dataset
    every = setup.preprocessing.apply_inputs(torch.from_numpy(ds.x)).numpy()
    val_x = setup.val.x.numpy()
    index = [int(np.flatnonzero((every == row).all(axis=1))[0]) for row in val_x]
    assert len(set(index)) == len(index) == len(val_x)
    return ds, np.array(index)


def test_a_bundle_predicts_raw_rows_as_the_run_validated_them(raw_run) -> None:
    metrics, out, path = raw_run
    ds, val = validation_rows(path)
    assert np.isnan(ds.x[val]).any()  # some validation rows have a gap the bundle must fill
    loaded = load_bundle(out / "model.pt")
    pred = loaded.predict(ds.x[val])
    for task in ("y", "b"):
        target = torch.from_numpy(ds.targets[task][val])
        for name, value in metrics[task].items():
            got = METRICS.get(name).obj(torch.from_numpy(pred[task]), target)
            assert got == pytest.approx(value, rel=1e-5, abs=1e-6), (task, name)
    assert 5e4 < float(np.median(pred["y"])) < 1.5e5  # in the target's units


def test_the_bundle_holds_its_preprocessing_as_plain_data(raw_run, tmp_path: Path) -> None:
    _, out, _ = raw_run
    payload = torch.load(out / "model.pt", weights_only=True)
    prep = payload["preprocessing"]
    assert set(prep) == {"input_shape", "mean", "std", "fill", "targets"}
    assert prep["input_shape"] == [3] and len(prep["mean"]) == 3 and "y" in prep["targets"]
    assert 900 < prep["mean"][1] < 1100  # "depth": its training mean, in its own units
    payload["preprocessing"]["std"] = [1.0, -2.0, 1.0]
    torch.save(payload, tmp_path / "bad.pt")
    with pytest.raises(BundleError, match="preprocessing.std must be positive"):
        load_bundle(tmp_path / "bad.pt")
    payload["preprocessing"]["std"] = [1.0, 2.0, 1.0]
    payload["preprocessing"]["input_shape"] = [4]
    torch.save(payload, tmp_path / "bad.pt")
    with pytest.raises(BundleError, match=r"input_shape \[4\] does not match .* \[3\]"):
        load_bundle(tmp_path / "bad.pt")
    del payload["preprocessing"]  # a bundle saved before preprocessing existed: taken as is
    torch.save(payload, tmp_path / "old.pt")
    old = load_bundle(tmp_path / "old.pt")
    x = np.zeros((2, 3), dtype=np.float32)
    expect = old.model(torch.from_numpy(x))["y"].detach().numpy()
    assert old.predict(x)["y"] == pytest.approx(expect, abs=1e-6)


def test_torchscript_and_exported_program_predict_raw_rows_like_the_bundle(
        raw_run, tmp_path: Path) -> None:
    _, out, path = raw_run
    ds, val = validation_rows(path)
    rows = ds.x[val]
    loaded = load_bundle(out / "model.pt")
    want = loaded.predict(rows)
    names = [t.name for t in loaded.tasks]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        scripted = torch.jit.load(str(export_torchscript(out / "model.pt", tmp_path / "m.ts")))
        got_ts = scripted(torch.from_numpy(rows))
    program = torch.export.load(str(export_program(out / "model.pt", tmp_path / "m.pt2")))
    got_pt2 = program.module()(torch.from_numpy(rows))
    for got in (got_ts, got_pt2):
        assert len(got) == len(names)
        for name, value in zip(names, got):
            assert value.detach().numpy() == pytest.approx(want[name], rel=1e-5, abs=1e-5)


def test_a_count_task_stays_unscaled_and_a_raw_column_reaches_the_network_raw(
        tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    n = 200
    z = rng.normal(size=n)
    counts = rng.poisson(np.exp(0.5 + 0.8 * z))
    lines = ["z,w,k,y"] + [f"{z[i]:.5f},{1000 + 100 * z[i]:.3f},{counts[i]},{5e4 * z[i]:.3f}"
                           for i in range(n)]
    path = tmp_path / "counts.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = from_dict({
        "data": {"dataset": "csv", "params": {"path": str(path), "tasks": ["k:regression",
                                                                         "y:regression"]},
                 "preprocess": {"raw_columns": ["w"]}},
        "trunk": [{"type": "linear", "out_features": 16}, {"type": "relu"}],
        "tasks": [{"name": "k", "loss": "poisson"}, {"name": "y"}],
        "training": {"epochs": 3, "device": "cpu"}})
    setup = prepare(config)
    prep = setup.preprocessing
    assert set(prep.targets) == {"y"}  # poisson needs the counts themselves
    assert prep.mean[1] == 0.0 and prep.std[1] == 1.0
    assert float(setup.train.x[:, 1].min()) > 500  # "w" as in the file
    assert set(setup.train.y["k"].tolist()) <= set(counts.astype(float).tolist())  # as counted
    assert float(setup.train.y["y"].abs().max()) < 10  # y standardised
    out = tmp_path / "run"
    events = list(run(config, out_dir=out))
    assert isinstance(events[-1], RunFinished), events[-1]
    loaded = load_bundle(out / "model.pt")
    ds = setup.dataset
    pred = loaded.predict(ds.x)
    net = loaded.model(setup.preprocessing.apply_inputs(torch.from_numpy(ds.x)))
    assert pred["k"] == pytest.approx(np.exp(net["k"].detach().numpy()), rel=1e-5)
    assert (pred["k"] > 0).all()  # a mean count, not a log-rate
