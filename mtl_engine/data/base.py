"""What every dataset provides: arrays plus a declaration of its tasks; and what a file importer
shows of a file before it is imported."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import UnknownNameError
from .guess import ColumnGuess


@dataclass(frozen=True)
class DataTask:
    """One task a dataset supports, with the loss and headline metric it suggests."""

    name: str
    type: str  # classification | binary | regression
    n_classes: int = 1  # classes for classification, 2 for binary, 1 for regression
    loss: str = "cross_entropy"
    metric: str = "accuracy"
    description: str = ""
    class_names: tuple[str, ...] = ()  # label of each class id, when the data has names for them
    # Typical magnitude of a regression target (the GradNorm toy's sigma_i): L_i / scale**2 is the
    # scale-free loss that toy is judged on. 1.0 where the data has no natural scale.
    scale: float = 1.0
    # Values per row of a regression task: 1 gives targets of shape (N,) and a head output of
    # (B,); k > 1 gives (N, k) and (B, k) (the GradNorm toy's 100-output tasks). Its loss is the
    # mean over the k values, and a missing value (NaN) is skipped cell by cell. Other types: 1.
    outputs: int = 1

    def __post_init__(self) -> None:
        if self.outputs < 1 or (self.outputs > 1 and self.type != "regression"):
            raise ValueError(f"task {self.name!r}: outputs must be 1, or more for a regression "
                             f"task; got {self.outputs} for a {self.type} task")

    @property
    def n_outputs(self) -> int:
        """Width of the head's output layer: one logit per class, or the regression's values."""
        if self.type == "classification":
            return self.n_classes
        return self.outputs if self.type == "regression" else 1


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    input_shape: tuple[int, ...]  # one sample, no batch dimension
    tasks: tuple[DataTask, ...]
    n_samples: int
    description: str = ""
    source: str = ""  # where the bytes come from (file, package, or "generated")
    # A table's input columns as plain data, in feature order: {"name", "kind": "numeric"} or
    # {"name", "kind": "categorical", "levels": [...], "other": bool} (one-hot), so raw rows can
    # be encoded as the file was (data.tabular.encode_rows). Empty: the inputs are the arrays.
    input_columns: tuple[dict[str, Any], ...] = ()

    def task(self, name: str, path: str = "") -> DataTask:
        for t in self.tasks:
            if t.name == name:
                return t
        raise UnknownNameError(f"task of dataset {self.name!r}", name,
                               [t.name for t in self.tasks], path)


@dataclass
class Dataset:
    """Arrays in memory. Targets: int64 class ids (-1 = missing) or float32 values (NaN = missing).

    `val_index`, when set, is a split the dataset defines itself (e.g. a published test split);
    otherwise the engine splits by the config's val_fraction / test_fraction with the run's seed
    (mtl_engine/splits.py; `split`, below, overrides both).
    """

    spec: DatasetSpec
    x: np.ndarray  # float32, shape (n_samples, *input_shape)
    targets: dict[str, np.ndarray]
    val_index: np.ndarray | None = None
    feature_names: tuple[str, ...] = field(default_factory=tuple)
    # Each row's part as the file says it (a csv/npz `split_column`): train/val/test or 0/1/2,
    # read and checked by mtl_engine/splits.py; it then replaces val_index and the fractions.
    split: np.ndarray | None = None
    # What the loader has already prepared, so the model's own preprocessing (preprocess.py)
    # leaves it alone: "inputs" (already on a sensible scale), "targets" (regression targets
    # kept in the units the dataset is judged in). Empty: raw data, preprocessed by the model.
    prepared: frozenset[str] = frozenset()
    raw_features: tuple[str, ...] = ()  # inputs never scaled (one-hot indicators)


@dataclass(frozen=True)
class FilePreview:
    """What an importer's preview says about a file: plain text for an import dialog.

    `header`/`rows` are the table to show (a CSV's first rows; an NPZ's list of arrays). `columns`
    are the names a user maps to inputs or tasks, `fixed` the roles some of them must take (an
    NPZ's "x" is the input), `values` each column's first cells (for guessing a role), and `params`
    the importer parameters read off the file itself (a CSV's delimiter). `guesses` is a role
    guess for each column read off all its rows (data/guess.py), and `note` says what the preview
    left out (rows past what it reads, ragged rows).
    """

    header: list[str]
    rows: list[list[str]]
    columns: list[str]
    fixed: dict[str, str] = field(default_factory=dict)
    values: dict[str, list[str]] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    guesses: dict[str, ColumnGuess] = field(default_factory=dict)
    note: str = ""
