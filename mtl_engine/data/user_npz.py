"""A user's own NPZ file: an array named ``x`` (samples first) and one array per task.

Tasks use the CSV notation ``"name:type"``, where name is the array's name. Files are opened with
``allow_pickle=False``, so they never run code; object arrays are refused. Missing targets are -1 in
integer label arrays, NaN in float arrays, and "" in text arrays. The loader returns the file's
values: the run's preprocessing (mtl_engine/preprocess.py) fills NaN inputs with the feature's mean
over the training rows and standardises regression targets; inputs keep their scale unless
``standardize`` is on (images usually want it off), then with the training rows' statistics.
Infinite inputs are an error. Errors name the file, the array (as the column) and the 1-based
sample (as the row). With ``inputs`` (a list of array names), those arrays are the model's named
inputs instead of ``x`` (npz_inputs.py): integer arrays stay int64 ids (or tokens), each float
one is an input of its own.
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, DataError, short
from ..registry import DATASETS, param, parse_params
from ._common import BEYOND_F32, beyond_float32
from .base import Dataset, DatasetSpec, FilePreview
from .npz_inputs import INPUTS_HELP, parse_input_specs, read_inputs
from .tabular import TASKS_HELP, make_target, parse_task_specs, require_path

NUMERIC = "biuf"  # bool, signed, unsigned, float dtype kinds


def open_npz(path: str | Path) -> tuple[str, dict[str, np.ndarray]]:
    """Every array of an .npz file, read without pickle; errors name the file and array."""
    file = Path(path).expanduser()
    source = str(file)
    if not file.is_file():
        raise DataError(source, "file not found" if not file.exists() else "is not a file")
    if not zipfile.is_zipfile(file) and not _starts_with(file, b"\x93NUMPY"):
        # np.load would guess "pickle" and answer with advice to load it unsafely
        raise DataError(source, "is not a readable NPZ file (not a zip archive of .npy arrays)")
    try:
        archive = np.load(file, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(source, f"is not a readable NPZ file ({exc})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DataError(source, "holds a single array (.npy); save arrays by name with "
                                "np.savez(path, x=..., task=...)")
    arrays: dict[str, np.ndarray] = {}
    with archive:
        for name in archive.files:
            try:
                arrays[name] = archive[name]
            except ValueError:
                raise DataError(source, "holds Python objects, which are not loaded for safety; "
                                        "save numbers or fixed-width text", column=name) from None
            except (OSError, zipfile.BadZipFile, EOFError) as exc:
                raise DataError(source, f"array cannot be read ({exc})", column=name) from None
            if not isinstance(arrays[name], np.ndarray):  # numpy hands back raw bytes then
                raise DataError(source, "member is not a NumPy array (.npy)", column=name)
    return source, arrays


def _starts_with(path: Path, magic: bytes) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(len(magic)) == magic
    except OSError:
        return False


def describe_npz(path: str | Path) -> list[list[str]]:
    """[name, shape, dtype] of each array, for the import dialog's preview. Reads only each
    array's header, so a preview of a file of gigabytes (on the GUI thread) stays instant."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise DataError(str(file), "file not found" if not file.exists() else "is not a file")
    if not zipfile.is_zipfile(file):
        open_npz(file)  # says what the file is instead (a single .npy array, not NPZ at all)
    out: list[list[str]] = []
    try:
        with zipfile.ZipFile(file) as archive:
            for member in archive.namelist():
                name = member[:-4] if member.endswith(".npy") else member
                with archive.open(member) as stream:
                    version = np.lib.format.read_magic(stream)
                    read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                            else np.lib.format.read_array_header_2_0)
                    shape, _, dtype = read(stream)
                out.append([name, str(tuple(shape)), str(dtype)])
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(str(file), f"is not a readable NPZ file ({exc})") from None
    return out


def _first_bad_row(bad: np.ndarray) -> int:
    return int(np.argmax(bad.reshape(bad.shape[0], -1).any(axis=1))) + 1


@dataclass(frozen=True)
class NpzParams:
    path: str = param("", "NPZ file holding x and one array per task")
    tasks: list[str] = param([], TASKS_HELP.replace("column", "array"))
    standardize: bool = param(False, "scale each input feature to zero mean and unit variance "
                                     "(the training rows' statistics, in the model)")
    split_column: str = param("", "array giving each sample's part: train / val / test (or 0 / "
                                  "1 / 2); empty: split by data.val_fraction / test_fraction")
    inputs: list[str] = param([], INPUTS_HELP)


def preview_npz(path: str, n_rows: int, options: Mapping[str, Any] | None = None
                ) -> FilePreview:
    """The arrays of an NPZ (name, shape, dtype; headers only): "x" is the input, the others
    may be tasks. No `options` apply to an NPZ."""
    arrays = describe_npz(path)
    return FilePreview(["array", "shape", "dtype"], arrays[:n_rows],
                       [name for name, _, _ in arrays], fixed={"x": "input"})


@DATASETS.register(
    "npz",
    "Your own NPZ file: an array x of inputs and one array per task",
    params=NpzParams,
    smoke=None,
    suffixes=(".npz",),
    preview=preview_npz,
)
def load_npz(given: Mapping[str, Any] | NpzParams, seed: int) -> Dataset:
    params = parse_params(NpzParams, given, "data.params")
    tasks = parse_task_specs(params.tasks)
    src, arrays = open_npz(require_path(params.path, "NPZ"))
    named = parse_input_specs(params.inputs)
    used = {n for n, _ in named}
    for i, (name, _) in enumerate(tasks):
        if name in used:
            raise ConfigError(f"data.params.tasks[{i}]", f"array {short(name)} is an input; a "
                                                        "task must read another")
    if named:
        specs, inputs = read_inputs(arrays, named, src)
        for name in (n for n, _ in named if inputs[n].dtype == np.float32):
            _refuse_beyond_float32(arrays[name], src, name)
    else:
        inputs = _inputs(arrays, src)
    n_samples = len(next(iter(inputs.values()))) if named else inputs.shape[0]
    targets: dict[str, np.ndarray] = {}
    declared = []
    for name, ttype in tasks:
        values = _task_array(arrays, name, n_samples, src)
        if ttype == "regression":
            if values.dtype.kind not in NUMERIC:
                raise DataError(src, f"a regression target must be numeric, got dtype "
                                     f"{values.dtype}", column=name)
            _refuse_beyond_float32(values, src, name)
            values = values.astype(np.float64)
            if np.isinf(values).any():
                raise DataError(src, "holds an infinite value", column=name,
                                row=_first_bad_row(np.isinf(values)))
            missing = np.isnan(values)
        else:
            if values.dtype.kind not in NUMERIC + "US":
                raise DataError(src, f"labels must be numbers or text, got dtype {values.dtype}",
                                column=name)
            missing = _missing_labels(values)
        targets[name], task = make_target(name, ttype, values, missing, src)
        declared.append(task)
    if named:
        shape = specs[0].shape
        shown = ", ".join(f"{i.name} {list(i.shape)} {i.kind}" for i in specs)
        spec = DatasetSpec("npz", shape, tuple(declared), n_samples,
                           f"{n_samples} samples of {shown} from {src}", src, inputs=specs)
    else:
        shape = tuple(inputs.shape[1:])
        spec = DatasetSpec("npz", shape, tuple(declared), n_samples,
                           f"{n_samples} samples of shape {shape} from {src}", src)
    split = None  # its values are read and checked by mtl_engine/splits.py
    if params.split_column:
        if params.split_column in targets or params.split_column in used | {"x"}:
            raise ConfigError("data.params.split_column", f"array {short(params.split_column)} "
                                                          "is the inputs or a task; name another")
        split = _task_array(arrays, params.split_column, n_samples, src)
    return Dataset(spec, inputs, targets, split=split,
                   prepared=frozenset() if params.standardize else frozenset({"inputs"}))


def _inputs(arrays: dict[str, np.ndarray], src: str) -> np.ndarray:
    if "x" not in arrays:
        raise DataError(src, f"has no array named 'x' (the inputs); arrays: "
                             f"{', '.join(arrays) or 'none'}", column="x")
    x = arrays["x"]
    if x.dtype.kind not in NUMERIC:
        raise DataError(src, f"inputs must be numeric, got dtype {x.dtype}", column="x")
    if x.ndim == 0 or x.shape[0] == 0:
        raise DataError(src, f"must hold at least one sample, got shape {x.shape}", column="x")
    _refuse_beyond_float32(x, src, "x")
    x = x.astype(np.float64).reshape(x.shape[0], -1) if x.ndim == 1 else x.astype(np.float64)
    if np.isinf(x).any():
        raise DataError(src, "holds an infinite value", column="x",
                        row=_first_bad_row(np.isinf(x)))
    if np.isnan(x).all():
        raise DataError(src, "every input value is NaN", column="x")
    return x.astype(np.float32)  # NaN stays: the run's preprocessing fills it


def _refuse_beyond_float32(a: np.ndarray, src: str, name: str) -> None:
    bad = beyond_float32(a)
    if bad.any():
        row = _first_bad_row(bad.reshape(a.shape[0], -1))
        value = a.reshape(a.shape[0], -1)[row - 1][bad.reshape(a.shape[0], -1)[row - 1]][0]
        raise DataError(src, f"value {value} {BEYOND_F32}", column=name, row=row)


def _task_array(arrays: dict[str, np.ndarray], name: str, n: int, src: str) -> np.ndarray:
    if name not in arrays:
        raise DataError(src, f"has no array named {short(name)}; arrays: {', '.join(arrays)}",
                        column=name)
    y = arrays[name]
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise DataError(src, f"must hold one value per sample, got shape {y.shape}", column=name)
    if y.shape[0] != n:
        raise DataError(src, f"has {y.shape[0]} values but x has {n} samples", column=name)
    return y


def _missing_labels(y: np.ndarray) -> np.ndarray:
    if y.dtype.kind == "f":
        return np.isnan(y)
    if y.dtype.kind in "iu":
        return y == -1
    if y.dtype.kind in "US":
        return np.char.strip(y) == ("" if y.dtype.kind == "U" else b"")
    return np.zeros(y.shape, dtype=bool)
