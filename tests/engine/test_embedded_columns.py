"""A text input with many levels is embedded (issue 12, point 2): one feature holding the level's
index, looked up in a learnt table before the trunk; the summary, the bundle's raw-row predict
and both exports see it."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch

from mtl_engine import export_program, export_torchscript, load_bundle, read_split, summarize
from mtl_engine.bundle_checks import _input_columns
from mtl_engine.config import from_dict
from mtl_engine.data.tabular import embedding_dim, encode_rows
from mtl_engine.data.user_csv import load_csv
from mtl_engine.errors import BundleError, ConfigError
from mtl_engine.events import RunFinished
from mtl_engine.model import build_model
from mtl_engine.registry import METRICS
from mtl_engine.training import run

N_CITIES = 60


def load(path: Path, tasks: list[str], **params: object):  # noqa: ANN201
    return load_csv({"path": str(path), "tasks": tasks, **params}, seed=0)


def write_cities(path: Path, n: int = 1200) -> None:
    """y depends mostly on the city (60 levels, about 20 rows each), a little on x."""
    rng = np.random.default_rng(7)
    effect = 2.0 * rng.standard_normal(N_CITIES)
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["city", "x", "y", "big"])
        for _ in range(n):
            c = int(rng.integers(N_CITIES))
            x = rng.standard_normal()
            y = effect[c] + 0.5 * x + 0.3 * rng.standard_normal()
            w.writerow([f"city{c:02d}", f"{x:.4f}", f"{y:.4f}", int(effect[c] > 0)])


# ----------------------------------------------------------------------------- encoding


def test_a_many_level_column_is_one_index_feature(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    cells = ["red", "blue", "", "green", "pink", "red"]
    path.write_text("colour,n,y\n" + "".join(f"{c},{i},{i % 2}\n" for i, c in enumerate(cells)))
    ds = load(path, ["y:binary"], embed_levels=3)  # 4 levels > 3: embedded
    col = ds.spec.input_columns[0]
    # every level, sorted; index k + 1, 0 for missing; round(1.6 * 5 ** 0.56) = round(3.94) = 4
    assert col == {"name": "colour", "kind": "embedded",
                   "levels": ["blue", "green", "pink", "red"], "dim": 4}
    assert ds.feature_names == ("colour", "n")
    assert ds.spec.input_shape == (2,)
    assert ds.x[:, 0].tolist() == [4, 1, 0, 2, 3, 4]
    assert ds.raw_features == ("colour",)  # never standardised
    assert "1 embedded: colour" in ds.spec.description
    # raw rows encode alike; an unseen level and a missing one are 0
    got = encode_rows([{"colour": "violet", "n": 1}, {"colour": None, "n": 2},
                       ("pink", 3)], ds.spec.input_columns)
    assert got[:, 0].tolist() == [0, 0, 3]
    assert np.array_equal(encode_rows([{"colour": c, "n": i} for i, c in enumerate(cells)],
                                      ds.spec.input_columns), ds.x)


def test_sixty_levels_embed_by_default_and_five_stay_one_hot(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    write_cities(path)
    ds = load(path, ["y:regression"])
    col = ds.spec.input_columns[0]
    assert col["kind"] == "embedded" and len(col["levels"]) == N_CITIES
    assert col["levels"][:2] == ["city00", "city01"]
    assert col["dim"] == 16 == embedding_dim(60)  # round(1.6 * 61 ** 0.56) = round(15.98)
    assert ds.spec.input_shape == (3,)  # city index, x, big
    rows = list(csv.DictReader(path.open()))
    assert ds.x[:5, 0].tolist() == [int(r["city"][4:]) + 1 for r in rows[:5]]
    five = tmp_path / "five.csv"
    five.write_text("k,y\n" + "".join(f"{'abcde'[i % 5]},{i % 2}\n" for i in range(20)))
    assert load(five, ["y:binary"]).spec.input_columns[0] == {
        "name": "k", "kind": "categorical", "levels": list("abcde"), "other": False}


def test_embed_names_columns_and_sets_the_width(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("code,y\n10,0\n9,1\n10,0\n7,1\n")
    ds = load(path, ["y:binary"], embed=["code"], embed_dim=3)
    assert ds.spec.input_columns[0] == {"name": "code", "kind": "embedded",
                                        "levels": ["7", "9", "10"], "dim": 3}  # by value
    assert ds.x[:, 0].tolist() == [3, 2, 3, 1]
    with pytest.raises(ConfigError, match=r"data\.params\.embed\[0\].*not an input"):
        load(path, ["y:binary"], embed=["y"])
    assert load(path, ["y:binary"], embed_levels=0).spec.input_columns[0]["kind"] == "numeric"


# ----------------------------------------------------------------------------- the model


def _config(path: Path, **params: object):  # noqa: ANN202
    return from_dict({
        "data": {"dataset": "csv", "val_fraction": 0.25,
                 "params": {"path": str(path), "tasks": ["y:regression", "big:binary"],
                            **params}},
        "trunk": [{"type": "linear", "out_features": 32}, {"type": "relu"}],
        "tasks": [{"name": "y"}, {"name": "big"}],
        "optimizer": {"name": "adam", "lr": 0.01},
        "training": {"epochs": 25, "batch_size": 64, "device": "cpu", "seed": 0},
    })


def test_the_trunk_reads_the_embeddings_and_the_summary_counts_them(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    write_cities(path)
    config = _config(path, inputs=["city", "x"])
    spec = load(path, ["y:regression", "big:binary"], inputs=["city", "x"]).spec
    summary = summarize(config, spec)
    assert summary.ok, summary.error
    first, trunk = summary.layers[0], summary.layers[1]
    assert (first.where, first.in_shape, first.out_shape) == ("inputs.embedding", (2,), (17,))
    assert first.n_params == 61 * 16  # levels + the missing row, 16 wide
    assert trunk.in_shape == (17,) and trunk.n_params == 17 * 32 + 32
    assert summary.input_shape == (2,)
    assert summary.shared_params == 61 * 16 + 17 * 32 + 32
    model = build_model(config, spec)
    assert tuple(model.inputs.tables[0].weight.shape) == (61, 16)
    assert sum(p.numel() for p in model.shared_parameters()) == summary.shared_params
    assert sum(p.numel() for p in model.parameters()) == summary.total_params
    out = model(torch.tensor([[5.0, 0.1], [0.0, -1.0], [999.0, 2.0]]))  # 999: clamped
    assert out["y"].shape == (3,) and torch.isfinite(out["y"]).all()
    # the other features pass through; the embedding of index 5 follows them
    wide = model.inputs(torch.tensor([[5.0, 0.25]]))
    assert wide[0, 0] == 0.25
    assert torch.equal(wide[0, 1:], model.inputs.tables[0].weight[5])


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    tmp = tmp_path_factory.mktemp("cities")
    path = tmp / "cities.csv"
    write_cities(path)
    out = {}
    for name, inputs in (("with", ["city", "x"]), ("without", ["x"])):
        events = list(run(_config(path, inputs=inputs), out_dir=tmp / name))
        assert isinstance(events[-1], RunFinished), events[-1]
        out[name] = (events[-1].final_metrics, tmp / name)
    return out, path


def test_the_embedding_learns_the_city(runs) -> None:
    out, _ = runs
    with_city, without = out["with"][0]["y"]["r2"], out["without"][0]["y"]["r2"]
    assert without < 0.3  # x alone explains little
    assert with_city > 0.85 and with_city > without + 0.5, (with_city, without)


def test_the_bundle_predicts_raw_rows_as_the_run_validated_them(runs) -> None:
    out, path = runs
    metrics, folder = out["with"]
    rows = list(csv.DictReader(path.open()))
    raw = [{"city": rows[i]["city"], "x": rows[i]["x"]} for i in read_split(folder).val]
    loaded = load_bundle(folder / "model.pt")
    names = [c["name"] for c in loaded.spec.input_columns]
    assert names == ["city", "x"] and loaded.spec.input_columns[0]["kind"] == "embedded"
    prep = loaded.preprocessing
    assert prep.mean[0] == 0.0 and prep.std[0] == 1.0  # the index is never scaled
    assert prep.fill is None or prep.fill[0] == 0.0
    pred = loaded.predict(raw)
    targets = {"y": torch.tensor([float(r["y"]) for r in (rows[i] for i in
                                                           read_split(folder).val)]),
               "big": torch.tensor([int(rows[i]["big"]) for i in read_split(folder).val])}
    for task, values in metrics.items():
        for name, value in values.items():
            got = METRICS.get(name).obj(torch.from_numpy(pred[task]), targets[task])
            assert got == pytest.approx(value, rel=1e-5, abs=1e-6), (task, name)
    unseen = loaded.predict([{"city": "Atlantis", "x": "0"}, {"city": "", "x": "0"}])
    assert unseen["y"][0] == pytest.approx(unseen["y"][1], rel=1e-6)  # both read row 0


def test_torchscript_and_torch_export_trace_the_embedding(runs, tmp_path: Path) -> None:
    out, path = runs
    bundle = out["with"][1] / "model.pt"
    loaded = load_bundle(bundle)
    rows = list(csv.DictReader(path.open()))[:50]
    x = loaded.encode(rows + [{"city": "Atlantis", "x": "1.5"}]).astype(np.float32)
    want = loaded.predict(x)
    scripted = torch.jit.load(str(export_torchscript(bundle, tmp_path / "m.ts")))
    program = torch.export.load(str(export_program(bundle, tmp_path / "m.pt2"))).module()
    for module in (scripted, program):
        with torch.no_grad():
            got = module(torch.from_numpy(x))
        for name, value in zip(("y", "big"), got, strict=True):
            np.testing.assert_allclose(value.numpy(), want[name], rtol=1e-5, atol=1e-6)
    # a batch size other than the traced one
    with torch.no_grad():
        got = program(torch.from_numpy(x[:7]))
    np.testing.assert_allclose(got[0].numpy(), want["y"][:7], rtol=1e-5, atol=1e-6)


def test_a_bundle_column_without_a_width_is_refused(tmp_path: Path) -> None:
    good = {"name": "city", "kind": "embedded", "levels": ["a", "b"], "dim": 4}
    assert _input_columns(tmp_path, [good]) == (good,)
    with pytest.raises(BundleError, match=r"input_columns\[0\]\.dim must be a positive integer"):
        _input_columns(tmp_path, [{**good, "dim": 0}])
    with pytest.raises(BundleError, match=r"input_columns\[0\]\.levels must be a list of text"):
        _input_columns(tmp_path, [{**good, "levels": [1, 2]}])



def test_a_level_only_in_validation_rows_keeps_its_near_zero_start(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    rng = np.random.default_rng(0)
    lines = ["city,part,y"]
    for i in range(200):
        city = "zeta" if i % 10 == 0 else f"c{i % 7}"  # zeta: only in validation rows
        lines.append(f"{city},{'val' if city == 'zeta' or i % 4 == 1 else 'train'},"
                     f"{(i % 7) + rng.standard_normal():.3f}")
    path.write_text("\n".join(lines) + "\n")
    config = from_dict({
        "data": {"dataset": "csv", "params": {"path": str(path), "tasks": ["y:regression"],
                                              "embed": ["city"], "split_column": "part"}},
        "trunk": [{"type": "linear", "out_features": 8}, {"type": "relu"}],
        "tasks": [{"name": "y"}],
        "optimizer": {"name": "adam", "lr": 0.05},
        "training": {"epochs": 10, "batch_size": 32, "device": "cpu", "seed": 0},
    })
    events = list(run(config, out_dir=tmp_path / "r"))
    assert isinstance(events[-1], RunFinished), events[-1]
    loaded = load_bundle(tmp_path / "r" / "model.pt")
    levels = loaded.spec.input_columns[0]["levels"]
    weight = loaded.model.inputs.tables[0].weight.detach()
    zeta = levels.index("zeta") + 1
    trained = [levels.index(f"c{k}") + 1 for k in range(7)]
    assert float(weight[zeta].abs().max()) <= 0.02  # never trained: its init, within 2 std
    assert float(weight[trained].abs().max(dim=1).values.min()) > 0.05  # the others learnt
