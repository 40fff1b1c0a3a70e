"""A user's own table from raw file to a bundle that predicts the file's raw rows: text
categories, gaps, a target in its own units, read back through the bundle exactly as the run
validated them (issue 12: "the exported bundle must predict raw rows as validated")."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import numpy as np
import pytest
import torch

from mtl_engine import load_bundle, read_split
from mtl_engine.config import from_dict
from mtl_engine.errors import BundleError, DataError
from mtl_engine.events import RunFinished
from mtl_engine.registry import METRICS
from mtl_engine.training import run

ISLANDS = ("Biscoe", "Dream", "Torgersen")


def write_table(path: Path, n: int = 360) -> None:
    rng = np.random.default_rng(4)
    with gzip.open(path, "wt", encoding="utf-8", newline="") as f:
        w = csv.writer(f, delimiter=";")
        w.writerow(["island", "flipper_mm", "bill_mm", "mass_g", "male"])
        for i in range(n):
            island = ISLANDS[i % 3]
            flipper = 200 + 15 * rng.standard_normal()
            bill = 44 + 5 * rng.standard_normal()
            mass = 3000 + 40 * (flipper - 200) + 500 * ISLANDS.index(island) \
                + 50 * rng.standard_normal()
            male = int(bill + 3 * rng.standard_normal() > 44)
            w.writerow([island, "" if i % 23 == 0 else f"{flipper:.1f}", f"{bill:.1f}",
                        f"{mass:.0f}", male])


@pytest.fixture(scope="module")
def table_run(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    tmp = tmp_path_factory.mktemp("table")
    path = tmp / "penguins_raw.csv.gz"
    write_table(path)
    config = from_dict({
        "data": {"dataset": "csv", "val_fraction": 0.25, "params": {
            "path": str(path), "tasks": ["mass_g:regression", "male:binary"]}},
        "trunk": [{"type": "linear", "out_features": 32}, {"type": "relu"}],
        "tasks": [{"name": "mass_g"}, {"name": "male"}],
        "optimizer": {"name": "adam", "lr": 0.01},
        "training": {"epochs": 30, "batch_size": 32, "device": "cpu", "seed": 0},
    })
    out = tmp / "run"
    events = list(run(config, out_dir=out))
    assert isinstance(events[-1], RunFinished), events[-1]
    with gzip.open(path, "rt", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter=";"))
    return events[-1].final_metrics, out, rows


def test_the_run_learns_a_target_in_grams_from_a_raw_gzipped_semicolon_file(table_run) -> None:
    metrics, _, _ = table_run
    assert metrics["mass_g"]["r2"] > 0.8  # the island (text) and flipper length explain it
    assert metrics["mass_g"]["mae"] > 1.0  # reported in grams, not in standardised units


def test_the_bundle_predicts_the_files_raw_rows_as_the_run_validated_them(table_run) -> None:
    metrics, out, rows = table_run
    val = read_split(out).val
    loaded = load_bundle(out / "model.pt")
    raw = [rows[i] for i in val]  # text islands, "" for a missing flipper length
    assert any(r["flipper_mm"] == "" for r in raw)
    pred = loaded.predict(raw)
    targets = {"mass_g": torch.tensor([float(r["mass_g"]) for r in raw]),
               "male": torch.tensor([int(r["male"]) for r in raw])}
    for task, values in metrics.items():
        for name, value in values.items():
            got = METRICS.get(name).obj(torch.from_numpy(pred[task]), targets[task])
            assert got == pytest.approx(value, rel=1e-5, abs=1e-6), (task, name)


def test_raw_rows_may_be_sequences_and_bad_cells_name_their_column(table_run) -> None:
    _, out, rows = table_run
    loaded = load_bundle(out / "model.pt")
    assert [c["name"] for c in loaded.spec.input_columns] == ["island", "flipper_mm", "bill_mm"]
    as_dicts = loaded.predict(rows[:4])
    as_lists = loaded.predict([[r["island"], r["flipper_mm"], r["bill_mm"]] for r in rows[:4]])
    assert np.array_equal(as_dicts["mass_g"], as_lists["mass_g"])
    encoded = loaded.encode(rows[:4])
    assert np.array_equal(loaded.predict(encoded)["mass_g"], as_dicts["mass_g"])
    with pytest.raises(DataError, match="flipper_mm"):
        loaded.predict([{"island": "Dream", "flipper_mm": "tall", "bill_mm": "40"}])


def test_a_model_on_arrays_refuses_table_rows(tmp_path: Path) -> None:
    config = from_dict({"data": {"dataset": "digits"}, "tasks": [{"name": "digit"}],
                        "training": {"epochs": 1, "max_steps_per_epoch": 2, "device": "cpu"}})
    list(run(config, out_dir=tmp_path / "r"))
    loaded = load_bundle(tmp_path / "r" / "model.pt")
    with pytest.raises(BundleError, match="inputs are arrays"):
        loaded.encode([{"a": 1}])
