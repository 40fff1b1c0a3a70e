"""Real tables as they come (issue 12, point 2): compressed files, sniffed delimiters, encodings,
text inputs one-hot encoded, classification columns that are really measurements, declared
columns no task reads, relative paths, and a role guess for every column of a 14-label table."""

from __future__ import annotations

import gzip
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from mtl_engine.build import load_dataset, resolve_tasks
from mtl_engine.config import from_dict
from mtl_engine.data.base import Dataset
from mtl_engine.data.guess import guess_columns
from mtl_engine.data.tabular import encode_rows, read_csv
from mtl_engine.errors import ConfigError, DataError
from mtl_engine.presets import load as load_preset
from mtl_engine.registry import DATASETS

TEXT = "size,colour,kind\n1.5,red,a\n2.5,blue,b\n3.5,red,a\n4.5,green,b\n"


def load(path: Path | str, tasks: list[str], **params: Any) -> Dataset:
    return DATASETS.get("csv").obj({"path": str(path), "tasks": tasks, **params}, 0)


def preview(path: Path | str, **options: Any) -> Any:
    return DATASETS.get("csv").meta["preview"](str(path), 20, options)


def fourteen_labels(path: Path, n: int = 120) -> Path:
    """An id, six measurements, a text column and 14 binary labels (ten named ClassK, four not)."""
    rng = np.random.default_rng(0)
    labels = [f"Class{k}" for k in range(1, 11)] + ["happy", "sad", "calm", "angry"]
    header = ["id"] + [f"Att{k}" for k in range(1, 7)] + ["site", *labels]
    rows = [",".join(header)]
    for i in range(n):
        atts = [f"{v:.4f}" for v in rng.normal(size=6)]
        site = ["north", "south", "east"][i % 3]
        ys = [str(int(v)) for v in rng.integers(0, 2, size=len(labels))]
        rows.append(",".join([str(i + 1), *atts, site, *ys]))
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- file formats


def test_gzip_and_a_one_file_zip_read_like_the_plain_file(tmp_path: Path) -> None:
    plain = tmp_path / "t.csv"
    plain.write_text(TEXT)
    packed = tmp_path / "t.csv.gz"
    packed.write_bytes(gzip.compress(TEXT.encode()))
    zipped = tmp_path / "t.zip"
    with zipfile.ZipFile(zipped, "w") as z:
        z.writestr("inner/t.csv", TEXT)
    base = load(plain, ["kind:binary"])
    for other in (packed, zipped):
        ds = load(other, ["kind:binary"])
        assert np.array_equal(ds.x, base.x) and ds.targets["kind"].tolist() == [0, 1, 0, 1]
    assert preview(packed).header == ["size", "colour", "kind"]


def test_a_zip_of_several_files_is_refused_naming_them(tmp_path: Path) -> None:
    zipped = tmp_path / "two.zip"
    with zipfile.ZipFile(zipped, "w") as z:
        z.writestr("train.csv", TEXT)
        z.writestr("test.csv", TEXT)
    with pytest.raises(DataError) as info:
        load(zipped, ["kind:binary"])
    message = str(info.value)
    assert "two.zip" in message and "train.csv, test.csv" in message and "2 files" in message


def test_a_broken_gzip_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv.gz"
    bad.write_bytes(gzip.compress(TEXT.encode())[:20])
    with pytest.raises(DataError, match=r"bad\.csv\.gz.*not a readable gzip file"):
        load(bad, ["kind:binary"])


@pytest.mark.parametrize(("text", "expected"), [
    (TEXT.replace(",", ";"), ";"),
    (TEXT.replace(",", "\t"), "\t"),
    (TEXT.replace(",", "|"), "|"),
    # aligned columns: runs of spaces, a leading blank, a trailing one
    ("  size   colour kind\n 1.5    red   a \n2.5 blue b\n3.5  red   a\n4.5 green  b\n",
     "whitespace"),
])
def test_the_delimiter_is_sniffed(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "t.txt"
    path.write_text(text)
    assert read_csv(path).delimiter == expected
    ds = load(path, ["kind:binary"])
    assert ds.feature_names == ("size", "colour=blue", "colour=green", "colour=red")
    assert ds.x[:, 0].tolist() == [1.5, 2.5, 3.5, 4.5]
    assert preview(path).params == {"delimiter": expected}


def test_semicolons_with_decimal_commas_are_not_read_as_commas(tmp_path: Path) -> None:
    path = tmp_path / "eu.csv"
    path.write_text("a;b;y\n1,5;2;0\n2,5;3;1\n3,0;4;0\n")
    assert read_csv(path).delimiter == ";"


def test_a_given_delimiter_wins_and_a_bad_one_is_named(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("a b,c\n1 2,x\n3 4,y\n")
    assert read_csv(path, "whitespace").header == ["a", "b,c"]
    assert read_csv(path, "comma").header == ["a b", "c"]
    with pytest.raises(ConfigError, match=r"data\.params\.delimiter.*whitespace"):
        load(path, ["c:binary"], delimiter="spaces")


def test_latin1_needs_its_encoding_and_the_error_says_so(tmp_path: Path) -> None:
    path = tmp_path / "caf\u00e9s.csv"
    path.write_bytes("x,place\n1,caf\u00e9\n2,bar\n3,caf\u00e9\n".encode("latin-1"))
    with pytest.raises(DataError) as info:
        load(path, ["place:binary"])
    message = str(info.value)
    assert str(path) in message and "is not utf-8 text" in message
    assert "encoding: latin-1" in message and info.value.row == 2
    ds = load(path, ["place:binary"], encoding="latin-1")
    assert ds.spec.task("place").class_names == ("bar", "caf\u00e9")
    shown = preview(path, encoding="latin-1")
    assert shown.rows[0] == ["1", "caf\u00e9"] and shown.params["encoding"] == "latin-1"
    with pytest.raises(ConfigError, match=r"data\.params\.encoding.*unknown encoding 'klingon'"):
        load(path, ["place:binary"], encoding="klingon")


# ----------------------------------------------------------------------------- text inputs


def test_a_text_input_is_one_hot_encoded(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("size,colour,kind\n1,red,a\n2,blue,b\n3,,a\n4,green,b\n5,red,a\n")
    ds = load(path, ["kind:binary"])
    assert ds.feature_names == ("size", "colour=blue", "colour=green", "colour=red")
    assert ds.x.tolist() == [[1, 0, 0, 1], [2, 1, 0, 0], [3, 0, 0, 0], [4, 0, 1, 0],
                             [5, 0, 0, 1]]  # the missing colour is all zeros
    assert ds.spec.input_shape == (4,)
    assert ds.spec.input_columns == (
        {"name": "size", "kind": "numeric"},
        {"name": "colour", "kind": "categorical", "levels": ["blue", "green", "red"],
         "other": False})
    assert ds.raw_features == ("colour=blue", "colour=green", "colour=red")  # never scaled
    assert "1 one-hot: 3 features" in ds.spec.description


def test_rare_levels_fold_into_other_and_raw_rows_encode_the_same(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    cells = ["red"] * 4 + ["blue"] * 3 + ["green", "pink"]  # green and pink are the rarest
    path.write_text("colour,n,y\n" + "".join(f"{c},{i},{i % 2}\n" for i, c in enumerate(cells)))
    ds = load(path, ["y:binary"], max_levels=2)
    described = ds.spec.input_columns
    assert described[0] == {"name": "colour", "kind": "categorical", "levels": ["blue", "red"],
                            "other": True}
    assert ds.feature_names[:3] == ("colour=blue", "colour=red", "colour=(other)")
    assert ds.x[:, :3].tolist() == [[0, 1, 0]] * 4 + [[1, 0, 0]] * 3 + [[0, 0, 1]] * 2
    # the file's own rows, given raw, encode exactly as loaded
    raw = [{"colour": c, "n": i} for i, c in enumerate(cells)]
    assert np.array_equal(encode_rows(raw, described), ds.x)
    # unseen level -> other; missing -> zeros and NaN; rows as sequences in column order
    got = encode_rows([("violet", 2.5), (None, None), ("blue", "7")], described)
    assert got[:, :3].tolist() == [[0, 0, 1], [0, 0, 0], [1, 0, 0]]
    assert got[0, 3] == 2.5 and np.isnan(got[1, 3]) and got[2, 3] == 7.0


def test_raw_rows_name_what_is_wrong() -> None:
    described = ({"name": "size", "kind": "numeric"},)
    with pytest.raises(DataError) as info:
        encode_rows([{"size": 1}, {"size": "big"}], described)
    assert (info.value.column, info.value.row) == ("size", 2)
    with pytest.raises(DataError, match="no value for this input column"):
        encode_rows([{"weight": 1}], described)
    with pytest.raises(DataError, match="has 2 values but there are 1 input columns"):
        encode_rows([(1, 2)], described)


def test_numeric_codes_one_hot_when_asked_and_typos_still_named(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("zip,w,y\n10,1,a\n20,2,b\n10,three,a\n30,4,b\n")
    with pytest.raises(DataError) as info:
        load(path, ["y:binary"])
    assert (info.value.column, info.value.row) == ("w", 4)
    assert "'three' is not a number" in str(info.value) and "categorical" in str(info.value)
    ds = load(path, ["y:binary"], inputs=["zip"], categorical=["zip"])
    assert ds.feature_names == ("zip=10", "zip=20", "zip=30")  # by value
    assert ds.x.tolist() == [[1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 0, 1]]
    with pytest.raises(ConfigError, match=r"data\.params\.categorical\[0\].*'y' is not an input"):
        load(path, ["y:binary"], inputs=["zip"], categorical=["y"])


# ----------------------------------------------------------------------------- tasks


def test_a_continuous_column_is_refused_as_classification(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    path = tmp_path / "m.csv"
    mass = rng.normal(4000, 800, size=344).round(1)
    grams = rng.integers(2700, 6300, size=344)
    path.write_text("x,mass,grams,grade\n" + "".join(
        f"{i},{m},{g},{i % 3}\n" for i, (m, g) in enumerate(zip(mass, grams, strict=True))))
    with pytest.raises(DataError) as info:
        load(path, ["mass:classification"])
    assert info.value.column == "mass"
    assert "looks continuous: use regression" in str(info.value)
    assert "numbers with fractions" in str(info.value)
    with pytest.raises(DataError, match="integers.*looks continuous: use regression"):
        load(path, ["grams:classification"])
    assert load(path, ["grade:classification"]).spec.task("grade").n_classes == 3
    assert load(path, ["mass:regression"]).targets["mass"][0] == pytest.approx(mass[0])


def test_text_with_too_many_classes_for_its_size_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "names.csv"
    path.write_text("x,name\n" + "".join(f"{i},person{i}\n" for i in range(100)))
    with pytest.raises(DataError, match="100 classes in 100 labelled rows.*an id or free text"):
        load(path, ["name:classification"])


def test_a_declared_column_no_task_reads_is_named(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(TEXT)
    data = {"dataset": "csv", "params": {"path": str(path), "tasks": ["kind:binary",
                                                                      "size:regression"]}}
    cfg = from_dict({"data": data, "tasks": [{"name": "kind"}]})
    spec = load_dataset("csv", dict(cfg.data.params)).spec
    with pytest.raises(ConfigError) as info:
        resolve_tasks(cfg, spec)
    assert info.value.path == "tasks" and "'size'" in str(info.value)
    kept_out = from_dict({"data": data, "tasks": [{"name": "kind"},
                                                  {"name": "size", "enabled": False}]})
    assert [t.name for t in resolve_tasks(kept_out, spec)] == ["kind"]


def test_a_relative_data_path_is_beside_the_preset(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "t.csv").write_text(TEXT)
    preset = {"data": {"dataset": "csv", "params": {"path": "t.csv", "tasks": ["kind:binary"]}},
              "tasks": [{"name": "kind"}], "trunk": [{"type": "linear", "out_features": 4}]}
    (folder / "p.yaml").write_text(yaml.safe_dump(preset))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    cfg = load_preset(folder / "p.yaml")
    assert cfg.data.params["path"] == str((folder / "t.csv").resolve())
    assert load_dataset("csv", dict(cfg.data.params)).spec.n_samples == 4
    absolute = {**preset, "data": {**preset["data"], "params": {
        "path": str(folder / "t.csv"), "tasks": ["kind:binary"]}}}
    (elsewhere / "q.yaml").write_text(yaml.safe_dump(absolute))
    assert load_preset(elsewhere / "q.yaml").data.params["path"] == str(folder / "t.csv")


# ----------------------------------------------------------------------------- role guesses


def test_every_column_of_a_14_label_table_gets_a_guess(tmp_path: Path) -> None:
    shown = preview(fourteen_labels(tmp_path / "emotions.csv"))
    guesses = shown.guesses
    assert list(guesses) == shown.columns and len(shown.columns) == 22
    assert (guesses["id"].kind, guesses["id"].role) == ("id", "ignore")
    assert {guesses[f"Att{k}"].role for k in range(1, 7)} == {"input"}
    assert guesses["Att1"].kind == "continuous"
    assert (guesses["site"].kind, guesses["site"].role) == ("categorical", "input")
    labels = [c for c in shown.columns if c.startswith("Class")] + ["happy", "sad", "calm",
                                                                     "angry"]
    assert len(labels) == 14 and {guesses[c].role for c in labels} == {"binary"}
    assert guesses["happy"].reason == "2 values (0, 1): a likely label"


def test_guesses_come_from_every_row_not_the_first(tmp_path: Path) -> None:
    """The first 20 rows of `score` hold two values (a binary label, if read alone); all 200 hold
    many (a continuous input). `late` turns ragged past the shown rows: skipped and noted."""
    rows = [f"{i},{i % 2 if i < 20 else i * 0.37:.2f},{i % 3}" for i in range(200)]
    path = tmp_path / "t.csv"
    path.write_text("n,score,y\n" + "\n".join(rows) + "\n1,2\n")
    shown = preview(path)
    assert len(shown.rows) == 20
    assert shown.guesses["score"].kind == "continuous" and shown.guesses["score"].levels == 182
    assert "1 rows have a different number of fields" in shown.note


@pytest.mark.parametrize(("name", "cells", "kind", "role"), [
    ("anything", ["", "NA", ""], "empty", "ignore"),
    ("anything", ["4", "4", "4"], "constant", "ignore"),
    ("customer_id", ["9", "3", "5"], "id", "ignore"),  # unique integers, an id-like name
    ("n", [str(i) for i in range(1, 11)], "id", "ignore"),  # unique, increasing, 10 rows
    ("n", ["1", "2", "3", "4"], "discrete", "input"),  # too few rows to call it an id
    ("name", ["ann", "bob", "cy"], "id", "ignore"),
    ("target", ["0.5", "1.5", "2.25", "3"], "label", "regression"),
    ("label_3", ["a", "b", "c", "a"], "label", "classification"),
    ("y2", ["1", "2", "3", "1"], "label", "classification"),
    ("yellow", ["1", "2", "3", "1"], "discrete", "input"),  # "y" only as a whole word
    ("colour", ["red", "blue", "green", "red"], "categorical", "input"),
])
def test_role_guess_rules(name: str, cells: list[str], kind: str, role: str) -> None:
    got = guess_columns([name, "label"], {name: cells, "label": ["a", "b"] * (len(cells) // 2)
                                          + ["a"] * (len(cells) % 2)})[name]
    assert (got.kind, got.role) == (kind, role)


def test_without_a_label_like_column_the_last_is_the_task() -> None:
    cols = {"a": ["0.1", "0.7", "0.3"], "b": ["red", "blue", "green"], "c": ["5", "1", "4"]}
    guesses = guess_columns(["a", "b", "c"], cols)
    assert [guesses[c].role for c in "abc"] == ["input", "ignore", "classification"]
    assert "the last is the task" in guesses["c"].reason
    cols["c"] = ["0.5", "1.5", "2.25"]
    assert guess_columns(["a", "b", "c"], cols)["c"].role == "regression"


def test_a_preview_of_a_long_file_says_its_guesses_read_only_the_start(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mtl_engine.data import tabular

    monkeypatch.setattr(tabular, "GUESS_BYTES", 200)
    path = tmp_path / "long.csv"
    path.write_text("a,y\n" + "".join(f"{i}.5,{i % 2}\n" for i in range(100)))
    shown = preview(path)
    kept = shown.note.split("first ")[1].split(" rows")[0]
    assert shown.note.startswith("roles guessed from the first") and 20 < int(kept) < 100
    assert shown.guesses["a"].levels == int(kept)
