"""The real tables shipped small (yeast, UCI Adult, solar flare): the files as the sources give
them, the targets and inputs the loaders derive from them (checked against rows read by hand),
nothing read from anywhere but mtl_engine/data/files, and the conversion script reproducing the
shipped bytes."""

from __future__ import annotations

import builtins
import csv
import gzip
import importlib.util
import io
import socket
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mtl_engine.data._common import FILES
from mtl_engine.data.base import Dataset
from mtl_engine.registry import DATASETS

ROOT = Path(__file__).resolve().parents[2]


def load(name: str, **params: Any) -> Dataset:
    return DATASETS.get(name).obj(params, 0)


def read(name: str) -> tuple[list[str], list[list[str]]]:
    with gzip.open(FILES / name, "rt", encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


@pytest.mark.parametrize(("name", "n_rows", "n_columns"), [
    ("yeast.csv.gz", 2417, 103 + 14), ("adult.csv.gz", 48842, 15),
    ("solar_flare.csv.gz", 1066, 13)])
def test_shipped_file_rows_columns_and_size(name: str, n_rows: int, n_columns: int) -> None:
    header, rows = read(name)
    assert len(rows) == n_rows and len(header) == n_columns
    assert {len(r) for r in rows} == {n_columns}
    assert (FILES / name).stat().st_size < 900_000  # each shipped small


def test_every_shipped_file_has_its_licence_row() -> None:
    licences = (ROOT / "DATA_LICENSES.md").read_text(encoding="utf-8")
    for path in FILES.iterdir():
        assert f"| `{path.name}` |" in licences, path.name


# ----------------------------------------------------------------------------- yeast

# Positives of Class1 ... Class14, counted in river 0.26.1's yeast.csv.gz (2,417 genes).
YEAST_POSITIVES = [762, 1038, 983, 862, 722, 597, 428, 480, 178, 253, 289, 1816, 1799, 34]


def test_yeast_labels_match_the_source_prevalence() -> None:
    ds = load("yeast")
    assert ds.x.shape == (2417, 103) and len(ds.spec.tasks) == 14
    assert [int(ds.targets[f"class{k}"].sum()) for k in range(1, 15)] == YEAST_POSITIVES
    labels = np.stack([ds.targets[f"class{k}"] for k in range(1, 15)], axis=1)
    assert labels.sum(axis=1).min() == 1  # every gene has a function
    assert labels.sum(axis=1).mean() == pytest.approx(4.237, abs=1e-3)  # the known cardinality
    # Rare labels (under 10 %: class9 7.4 %, class14 1.4 %) are headlined by AUROC.
    rare = [t.name for t in ds.spec.tasks if t.metric == "auroc"]
    assert rare == ["class9", "class14"]
    assert {t.metric for t in ds.spec.tasks if t.name not in rare} == {"accuracy"}


def test_yeast_inputs_are_the_file_features_raw() -> None:
    # the run standardises them from its training rows (preprocess.py), not the loader
    header, rows = read("yeast.csv.gz")
    raw = np.array([[float(c) for c in r[:103]] for r in rows])
    ds = load("yeast")
    assert ds.x == pytest.approx(raw.astype(np.float32), abs=1e-6)
    assert ds.feature_names[0] == header[0] == "Att1"
    assert ds.prepared == frozenset() and ds.raw_features == ()


# ----------------------------------------------------------------------------- Adult

# The first five rows of the file (read by hand):
#   25 Private ... Never-married      Machine-op-inspct Own-child ... Male   <=50K
#   38 Private ... Married-civ-spouse Farming-fishing   Husband   ... Male   <=50K
#   28 Local-gov . Married-civ-spouse Protective-serv   Husband   ... Male   >50K
#   44 Private ... Married-civ-spouse Machine-op-inspct Husband   ... Male   >50K
#   18 ?  ........ Never-married      ?                 Own-child ... Female <=50K
def test_adult_targets_from_hand_checked_rows() -> None:
    ds = load("adult")
    assert ds.targets["income"][:5].tolist() == [0, 0, 1, 1, 0]
    assert ds.targets["never_married"][:5].tolist() == [1, 0, 0, 0, 1]
    # The whole file: 11,687 above 50K and 16,117 never married (UCI's 23.93 % and 33.0 %).
    assert int(ds.targets["income"].sum()) == 11687
    assert int(ds.targets["never_married"].sum()) == 16117
    assert [t.metric for t in ds.spec.tasks] == ["auroc", "auroc"]


def test_adult_inputs_leave_the_targets_out_and_one_hot_the_rest() -> None:
    ds = load("adult")
    names = list(ds.feature_names)
    assert ds.x.shape == (48842, 6 + 95) and len(names) == 101
    assert not [n for n in names if n.startswith(("marital", "income"))]
    col = {n: ds.x[:, j] for j, n in enumerate(names)}
    # Row 0: Own-child, Male, Black; row 4: workclass and occupation unknown ("?").
    assert col["relationship=Own-child"][0] == 1 and col["relationship=Husband"][0] == 0
    assert col["gender=Male"][0] == 1 and col["race=Black"][0] == 1
    assert col["workclass=?"][4] == 1 and col["occupation=?"][4] == 1
    assert col["workclass=?"].sum() == 2799  # unknown is a level of its own
    for group in ("workclass", "education", "occupation", "relationship", "race", "gender",
                  "native-country"):
        block = ds.x[:, [j for j, n in enumerate(names) if n.startswith(group + "=")]]
        assert np.array_equal(block.sum(axis=1), np.ones(48842)), group
    # Numeric inputs raw (the run standardises them from its training rows); one-hots stay 0/1.
    assert (col["age"][0], col["age"][1]) == (25.0, 38.0)
    assert set(ds.raw_features) == {n for n in names if "=" in n}


def test_adult_sample_is_fixed_and_taken_from_the_file() -> None:
    full = load("adult")
    a = DATASETS.get("adult").obj({"n_samples": 1000}, 1)
    b = DATASETS.get("adult").obj({"n_samples": 1000}, 9)
    assert a.spec.n_samples == 1000 and np.array_equal(a.x, b.x)  # the same for every seed
    keep = np.sort(np.random.default_rng(0).permutation(48842)[:1000])
    for task in ("income", "never_married"):
        assert np.array_equal(a.targets[task], full.targets[task][keep])


# ----------------------------------------------------------------------------- solar flare


def test_solar_flare_counts_are_non_negative_integers() -> None:
    ds = load("solar_flare")
    assert [t.name for t in ds.spec.tasks] == ["common", "moderate", "severe"]
    assert {(t.type, t.loss, t.metric) for t in ds.spec.tasks} == {("regression", "mse", "mse")}
    header, rows = read("solar_flare.csv.gz")
    for name, column in (("common", 10), ("moderate", 11), ("severe", 12)):
        y = ds.targets[name]
        assert y.dtype == np.float32 and (y >= 0).all() and np.array_equal(y, np.round(y))
        assert y.tolist() == [float(r[column]) for r in rows]
    # Regions with any flare: 182 common, 36 moderate, 5 severe; the largest counts 8, 5, 2.
    assert [int((ds.targets[n] > 0).sum()) for n in ("common", "moderate", "severe")] == \
        [182, 36, 5]
    assert [float(ds.targets[n].max()) for n in ("common", "moderate", "severe")] == [8, 5, 2]


def test_solar_flare_inputs_one_hot_every_attribute() -> None:
    ds = load("solar_flare")
    assert ds.x.shape == (1066, 30)
    # 9 attributes with 2+ values, one 1 each; largest-spot-area has one value and gives none.
    assert np.array_equal(ds.x.sum(axis=1), np.full(1066, 9.0))
    assert ds.raw_features == ds.feature_names  # indicators: never standardised
    assert not [n for n in ds.feature_names if n.startswith("largest-spot-area")]
    # Row 0 of the file: H,A,X,1,3,1,1,1,1,1
    first = {n for n, v in zip(ds.feature_names, ds.x[0]) if v == 1}
    assert first == {"zurich-class=H", "largest-spot-size=A", "spot-distribution=X",
                     "activity=1", "evolution=3", "previous-24h-flare-activity=1",
                     "hist-complex=1", "hist-complex-this-pass=1", "area=1"}


# ----------------------------------------------------------------------------- offline


@pytest.mark.parametrize("name", ["yeast", "adult", "solar_flare"])
def test_loaders_read_only_the_shipped_files(name: str, monkeypatch) -> None:
    load(name)  # first load: whatever torch or the registries import on the way
    opened: list[str] = []
    real_open = builtins.open

    def recording_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        opened.append(str(file))
        return real_open(file, *args, **kwargs)

    def no_network(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a dataset loader tried to reach the network")

    monkeypatch.setattr(builtins, "open", recording_open)
    monkeypatch.setattr(io, "open", recording_open)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    load(name)
    assert opened, "the loader read no file"
    assert all(Path(p).resolve().parent == FILES for p in opened), opened


# ----------------------------------------------------------------------------- the script


def _script() -> Any:
    spec = importlib.util.spec_from_file_location("make_real_tables",
                                                  ROOT / "scripts" / "make_real_tables.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_script_reproduces_the_river_files(tmp_path: Path) -> None:
    # A stand-in river wheel holding the sources as river ships them: yeast.csv.gz as is, and
    # the solar-flare CSV inside a zip whose one member is itself named solar-flare.csv.zip.
    script = _script()
    solar_csv = gzip.decompress((FILES / "solar_flare.csv.gz").read_bytes())
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as z:
        z.writestr("solar-flare.csv.zip", solar_csv)
    wheel = tmp_path / "river.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr(script.YEAST, (FILES / "yeast.csv.gz").read_bytes())
        z.writestr(script.SOLAR, inner.getvalue())
    river = zipfile.ZipFile(wheel)
    assert script.yeast(river) == (FILES / "yeast.csv.gz").read_bytes()
    assert script.solar_flare(river) == (FILES / "solar_flare.csv.gz").read_bytes()
    # A table of another shape (another version of the source) is refused.
    with pytest.raises(SystemExit, match="solar_flare.csv.gz: the source table is"):
        script.check_shape("solar_flare.csv.gz", solar_csv.rsplit(b"\n", 2)[0] + b"\n")
