"""Small helpers every dataset loader shares: shipped files, task records, scaling."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError
from ..registry import LOSSES, METRICS, Registry
from .base import DataTask

FILES = Path(__file__).resolve().parent / "files"

# Inputs and regression targets train as float32: a value finite in the file but beyond this
# would become inf on the way in and fail the run at step 0 in some task's loss.
F32_MAX = float(np.finfo(np.float32).max)
BEYOND_F32 = "is beyond the range of float32 (about ±3.4e38), the type training uses"


def beyond_float32(a: np.ndarray) -> np.ndarray:
    """Per value: finite, yet too large in magnitude for float32 (checked in `a`'s own dtype,
    so a float64 or longdouble value is judged before any conversion rounds it to inf)."""
    if a.dtype.kind != "f":  # ints (at most 2**64) and bools always fit
        return np.zeros(a.shape, dtype=bool)
    with np.errstate(invalid="ignore", over="ignore"):
        return np.isfinite(a) & (np.abs(a) > F32_MAX)


def shipped(name: str) -> Path:
    """Path of a data file shipped in mtl_engine/data/files (see DATA_LICENSES.md)."""
    path = FILES / name
    if not path.is_file():
        raise DataError(str(path), "shipped data file is missing; reinstall the package or re-run "
                                   "scripts/make_data_files.py")
    return path


def suggested(registry: Registry[Any], ttype: str) -> str:
    """The loss or metric a task of type `ttype` uses when a preset names none: the entry that
    declares the type in its `default_for` fact."""
    for entry in registry:
        if ttype in entry.meta["default_for"]:
            return entry.name
    raise LookupError(f"no {registry.kind} declares default_for={ttype!r}")


def make_task(name: str, ttype: str, n_classes: int = 1, description: str = "",
              class_names: tuple[str, ...] = (), scale: float = 1.0, outputs: int = 1
              ) -> DataTask:
    """A dataset's task with its type's suggested loss and metric; `outputs` > 1 makes a
    regression task's target a vector of that many values per row (shape (N, outputs))."""
    n = 2 if ttype == "binary" else (n_classes if ttype == "classification" else 1)
    return DataTask(name, ttype, n, suggested(LOSSES, ttype), suggested(METRICS, ttype),
                    description, tuple(class_names), float(scale), int(outputs))


def digit_tasks(labels: np.ndarray) -> tuple[dict[str, np.ndarray], tuple[DataTask, ...]]:
    """The three tasks a digit label yields: the digit, its parity, and whether it is >= 5."""
    labels = labels.astype(np.int64)
    targets = {"digit": labels, "parity": labels % 2, "ge5": (labels >= 5).astype(np.int64)}
    tasks = (
        make_task("digit", "classification", 10, "which digit (0-9)",
                  tuple(str(d) for d in range(10))),
        make_task("parity", "binary", description="1 if the digit is odd",
                  class_names=("even", "odd")),
        make_task("ge5", "binary", description="1 if the digit is 5 or more",
                  class_names=("< 5", ">= 5")),
    )
    return targets, tasks


def standardise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Zero mean, unit variance per column (axis 0). Constant columns are only centred.

    Statistics of every row given, validation rows included: a loader should rather return its
    raw values and let the run's preprocessing (mtl_engine/preprocess.py) scale them from the
    training rows, which the bundle and the exported files then apply to raw rows as well."""
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return ((x - mean) / std).astype(np.float32), mean, std
