"""User CSV / NPZ import: what a good file gives, and errors naming the file, column and row."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mtl_engine.build import load_dataset, resolve_tasks
from mtl_engine.config import from_dict
from mtl_engine.data.base import Dataset, FilePreview
from mtl_engine.data.guess import ColumnGuess
from mtl_engine.data.importing import importer_for
from mtl_engine.data.tabular import preview_table
from mtl_engine.errors import ConfigError, DataError, UnknownNameError
from mtl_engine.registry import DATASETS

GOOD = """\
size,weight,colour,grade,price
1.0,10,red,2,100.5
2.0,,blue,10,
3.0,30,red,,120
4.0,40,green,2,130
"""
TASKS = ["colour:classification", "grade:classification", "price:regression"]


def write(tmp_path: Path, text: str, name: str = "data.csv") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def load_csv(path: str, **params: Any) -> Dataset:
    return DATASETS.get("csv").obj({"path": path, "tasks": TASKS, **params}, 0)


def test_good_csv(tmp_path: Path) -> None:
    ds = load_csv(write(tmp_path, GOOD))
    assert ds.feature_names == ("size", "weight")  # every column that is not a task
    assert ds.x.shape == (4, 2) and ds.x.dtype == np.float32
    # The file's own values, the gap as NaN: the run's preprocessing fills and scales them with
    # the training rows' statistics (tests/engine/test_preprocess.py), not the loader.
    assert ds.x[[0, 2, 3], 1].tolist() == [10.0, 30.0, 40.0] and np.isnan(ds.x[1, 1])
    assert ds.x[:, 0].tolist() == [1.0, 2.0, 3.0, 4.0] and ds.prepared == frozenset()
    colour = ds.spec.task("colour")
    assert colour.class_names == ("blue", "green", "red") and colour.n_classes == 3
    assert ds.targets["colour"].tolist() == [2, 0, 2, 1]
    # Numeric labels sort by value: "2" before "10"; the empty cell is missing (-1).
    assert ds.spec.task("grade").class_names == ("2", "10")
    assert ds.targets["grade"].tolist() == [0, 1, -1, 0]
    price = ds.targets["price"]
    assert price[[0, 2, 3]].tolist() == pytest.approx([100.5, 120, 130]) and np.isnan(price[1])
    assert "1 missing input cells" in ds.spec.description


def test_explicit_inputs_delimiter_and_no_standardising(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace(",", ";"))
    ds = load_csv(path, inputs=["size"], delimiter=";", standardize=False)
    assert ds.feature_names == ("size",) and ds.x[:, 0].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert ds.prepared == frozenset({"inputs"})  # the model's preprocessing will not scale them
    tabbed = load_csv(write(tmp_path, GOOD.replace(",", "\t"), "t.tsv"), delimiter="tab")
    assert tabbed.x.shape == (4, 2)


def test_binary_text_labels_are_sorted(tmp_path: Path) -> None:
    path = write(tmp_path, "a,ok\n1,yes\n2,no\n3,NA\n4,yes\n")
    ds = DATASETS.get("csv").obj({"path": path, "tasks": ["ok:binary"]}, 0)
    assert ds.spec.task("ok").class_names == ("no", "yes")
    assert ds.targets["ok"].tolist() == [1, 0, -1, 1]


def test_csv_through_a_config(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    cfg = from_dict({"data": {"dataset": "csv", "params": {"path": path, "tasks": TASKS}},
                     "tasks": [{"name": "colour"}, {"name": "cost", "target": "price"},
                               {"name": "grade", "enabled": False}]})  # each column read
    ds = load_dataset(cfg.data.dataset, dict(cfg.data.params))
    resolved = resolve_tasks(cfg, ds.spec)
    assert [(t.name, t.type, t.n_outputs, t.loss) for t in resolved] == [
        ("colour", "classification", 3, "cross_entropy"), ("cost", "regression", 1, "mse")]


# ----------------------------------------------------------------------------- CSV errors


def error_of(path: str, **params: Any) -> DataError:
    with pytest.raises(DataError) as info:
        load_csv(path, **params)
    return info.value


def test_missing_file(tmp_path: Path) -> None:
    err = error_of(str(tmp_path / "nope.csv"))
    assert "nope.csv" in str(err) and "not found" in str(err)


def test_missing_column_names_it_and_suggests(tmp_path: Path) -> None:
    err = error_of(write(tmp_path, GOOD.replace("colour", "color")))
    assert err.column == "colour" and "Did you mean 'color'" in str(err)
    assert "data.csv" in str(err)


def test_non_numeric_input_cell(tmp_path: Path) -> None:
    err = error_of(write(tmp_path, GOOD.replace("3.0,30", "3.0,thirty")))
    assert (err.column, err.row) == ("weight", 4)
    assert "'thirty' is not a number" in str(err) and "row 4" in str(err)


def test_non_numeric_regression_target(tmp_path: Path) -> None:
    err = error_of(write(tmp_path, GOOD.replace("130", "a lot")))
    assert (err.column, err.row) == ("price", 5)


def test_empty_file_and_header_only(tmp_path: Path) -> None:
    assert "empty" in str(error_of(write(tmp_path, "")))
    err = error_of(write(tmp_path, "size,colour,grade,price\n", "h.csv"))
    assert "no data rows" in str(err)


def test_ragged_row(tmp_path: Path) -> None:
    err = error_of(write(tmp_path, GOOD.replace("4.0,40,green,2,130", "4.0,40,green")))
    assert err.row == 5 and "3 fields but the header has 5" in str(err)


def test_blank_lines_are_skipped_and_rows_keep_file_line_numbers(tmp_path: Path) -> None:
    text = GOOD.replace("2.0,,blue", "\n2.0,,blue").replace("3.0,30", "3.0,x")
    assert error_of(write(tmp_path, text)).row == 5


def test_single_class_target(tmp_path: Path) -> None:
    text = "a,label\n1,cat\n2,cat\n3,\n"
    with pytest.raises(DataError) as info:
        DATASETS.get("csv").obj({"path": write(tmp_path, text), "tasks": ["label:binary"]}, 0)
    assert info.value.column == "label" and "single class 'cat'" in str(info.value)


def test_all_missing_target(tmp_path: Path) -> None:
    text = "a,label,y\n1,,NA\n2,,\n"
    for spec in ("label:classification", "y:regression"):
        with pytest.raises(DataError) as info:
            DATASETS.get("csv").obj({"path": write(tmp_path, text), "tasks": [spec],
                                     "inputs": ["a"]}, 0)
        assert info.value.column == spec.split(":")[0] and "every value is missing" in str(
            info.value)
    # An input column with no values at all is an error too (nothing to fill it with).
    with pytest.raises(DataError) as info:
        DATASETS.get("csv").obj({"path": write(tmp_path, text), "tasks": ["label:binary"]}, 0)
    assert info.value.column == "y" and "input column is missing" in str(info.value)


def test_binary_task_with_three_classes(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="3 classes .* a binary task needs exactly two"):
        DATASETS.get("csv").obj({"path": write(tmp_path, GOOD), "tasks": ["colour:binary"]}, 0)


def test_duplicate_header_and_bad_encoding(tmp_path: Path) -> None:
    err = error_of(write(tmp_path, "a,a,colour\n1,2,x\n"))
    assert (err.column, err.row) == ("a", 1)
    bad = tmp_path / "latin.csv"
    bad.write_bytes(b"size,colour\n1,red\n2,caf\xe9\n")
    assert error_of(str(bad)).row == 3


def test_task_notation_errors_name_the_field(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    with pytest.raises(ConfigError, match=r"data\.params\.tasks\[1\]: 'grade' must read"):
        load_csv(path, tasks=["colour:classification", "grade"])
    with pytest.raises(UnknownNameError, match=r"data\.params\.tasks\[0\].*'regression'"):
        load_csv(path, tasks=["price:regresion"])
    with pytest.raises(ConfigError, match=r"data\.params\.tasks: list at least one"):
        load_csv(path, tasks=[])
    with pytest.raises(ConfigError, match=r"data\.params\.path: is empty"):
        load_csv("")
    with pytest.raises(ConfigError, match=r"data\.params\.inputs\[1\]: column 'price'"):
        load_csv(path, inputs=["size", "price"])
    with pytest.raises(ConfigError, match=r"data\.params\.delimiter"):
        load_csv(path, delimiter=";;")


# ----------------------------------------------------------------------------- NPZ


def npz(tmp_path: Path, name: str = "d.npz", **arrays: Any) -> str:
    path = tmp_path / name
    np.savez(path, **arrays)
    return str(path)


def load_npz(path: str, tasks: list[str], **params: Any) -> Dataset:
    return DATASETS.get("npz").obj({"path": path, "tasks": tasks, **params}, 0)


def test_good_npz(tmp_path: Path) -> None:
    x = np.arange(24, dtype=np.float64).reshape(4, 2, 3)
    x[1, 0, 0] = np.nan
    path = npz(tmp_path, x=x, digit=np.array([3, 1, -1, 3]), kind=np.array(["b", "a", "", "a"]),
               y=np.array([0.5, np.nan, 2.0, 3.0]))
    ds = load_npz(path, ["digit:classification", "kind:binary", "y:regression"])
    assert ds.spec.input_shape == (2, 3) and ds.x.dtype == np.float32
    assert np.isnan(ds.x[1, 0, 0]) and ds.x[2, 0, 0] == 12.0  # raw: the run's preprocessing fills
    assert ds.prepared == frozenset({"inputs"})  # inputs keep their scale by default
    assert ds.targets["digit"].tolist() == [1, 0, -1, 1]
    assert ds.spec.task("digit").class_names == ("1", "3")
    assert ds.targets["kind"].tolist() == [1, 0, -1, 0]
    assert np.isnan(ds.targets["y"][1]) and ds.targets["y"][3] == 3.0
    scaled = load_npz(path, ["y:regression"], standardize=True)
    assert scaled.prepared == frozenset()  # scaled in the model, from the training rows


def npz_error(path: str, tasks: list[str]) -> DataError:
    with pytest.raises(DataError) as info:
        load_npz(path, tasks)
    return info.value


def test_npz_errors_name_the_array(tmp_path: Path) -> None:
    x = np.zeros((3, 2))
    err = npz_error(npz(tmp_path, inputs=x, y=np.ones(3)), ["y:regression"])
    assert err.column == "x" and "no array named 'x'" in str(err) and "inputs" in str(err)
    err = npz_error(npz(tmp_path, x=x, y=np.ones(3)), ["z:regression"])
    assert err.column == "z"
    err = npz_error(npz(tmp_path, x=x, y=np.ones(4)), ["y:regression"])
    assert err.column == "y" and "4 values but x has 3" in str(err)
    err = npz_error(npz(tmp_path, x=np.array([["a", "b"]] * 3), y=np.ones(3)), ["y:regression"])
    assert err.column == "x" and "numeric" in str(err)
    err = npz_error(npz(tmp_path, x=x, y=np.array(["1", "2", "3"])), ["y:regression"])
    assert err.column == "y" and "numeric" in str(err)
    bad_x = x.copy()
    bad_x[2, 1] = np.inf
    err = npz_error(npz(tmp_path, x=bad_x, y=np.ones(3)), ["y:regression"])
    assert (err.column, err.row) == ("x", 3)


def test_npz_object_arrays_are_refused(tmp_path: Path) -> None:
    objs = np.array([{"a": 1}, None, 3], dtype=object)
    err = npz_error(npz(tmp_path, x=np.zeros((3, 1)), y=objs), ["y:classification"])
    assert err.column == "y" and "Python objects" in str(err)


def test_npz_not_an_archive(tmp_path: Path) -> None:
    text = tmp_path / "text.npz"
    text.write_text("hello")
    assert "not a readable NPZ" in str(npz_error(str(text), ["y:regression"]))
    single = tmp_path / "single.npz"
    with single.open("wb") as f:
        np.save(f, np.zeros(3))
    assert "single array" in str(npz_error(str(single), ["y:regression"]))
    broken = tmp_path / "broken.npz"
    with zipfile.ZipFile(broken, "w") as z:
        z.writestr("x.npy", b"not an array")
    err = npz_error(str(broken), ["y:regression"])
    assert err.source == str(broken) and err.column == "x" and "not a NumPy array" in str(err)


# ----------------------------------------------------------------------------- preview


def test_preview_csv_guesses_the_delimiter(tmp_path: Path) -> None:
    header, rows = preview_table(write(tmp_path, GOOD.replace(",", ";")), n_rows=2)
    assert header == ["size", "weight", "colour", "grade", "price"]
    assert rows == [["1.0", "10", "red", "2", "100.5"], ["2.0", "", "blue", "10", ""]]


def test_preview_stops_before_later_problems_but_reports_early_ones(tmp_path: Path) -> None:
    text = GOOD + "5.0,50\n"
    assert len(preview_table(write(tmp_path, text), n_rows=3)[1]) == 3
    with pytest.raises(DataError) as info:
        preview_table(write(tmp_path, text, "late.csv"), n_rows=50)
    assert info.value.row == 6 and "late.csv" in str(info.value)
    with pytest.raises(DataError, match="not found"):
        preview_table(str(tmp_path / "missing.csv"))


def test_preview_npz_lists_arrays(tmp_path: Path) -> None:
    path = npz(tmp_path, x=np.zeros((5, 2, 3), np.float32), y=np.arange(5))
    header, rows = preview_table(path)
    assert header == ["array", "shape", "dtype"]
    assert rows == [["x", "(5, 2, 3)", "float32"], ["y", "(5,)", str(np.arange(5).dtype)]]


# ----------------------------------------------------------------------------- importers


def test_a_file_finds_its_importer_by_suffix(tmp_path: Path) -> None:
    assert importer_for("a/b.NPZ").name == "npz"
    assert [importer_for(f"d{s}").name for s in (".csv", ".tsv", ".txt")] == ["csv"] * 3
    assert importer_for("export.dat").name == "csv"  # any other file is tried as text


def test_importer_previews_say_what_to_map(tmp_path: Path) -> None:
    tsv = write(tmp_path, "a\tb\n1\tx\n2\ty\n", "t.tsv")
    assert DATASETS.get("csv").meta["preview"](tsv, 1) == FilePreview(
        ["a", "b"], [["1", "x"]], ["a", "b"], values={"a": ["1"], "b": ["x"]},
        params={"delimiter": "\t"},
        guesses={"a": ColumnGuess("label", "binary", "2 values (1, 2): a likely label", 2),
                 "b": ColumnGuess("label", "binary", "2 values (x, y): a likely label", 2)})
    # the columns to map are every array, even beyond the rows shown
    path = npz(tmp_path, x=np.zeros((3, 2), np.float32), y=np.arange(3, dtype=np.int64))
    assert DATASETS.get("npz").meta["preview"](path, 1) == FilePreview(
        ["array", "shape", "dtype"], [["x", "(3, 2)", "float32"]], ["x", "y"],
        fixed={"x": "input"})


def test_a_preview_with_a_delimiter_reads_the_file_as_csv(tmp_path: Path) -> None:
    path = write(tmp_path, "a|b\n1|2\n", "odd.npz")  # a suffix that lies: the delimiter decides
    assert preview_table(path, 5, delimiter="|") == (["a", "b"], [["1", "2"]])
