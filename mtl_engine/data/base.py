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


INPUT_DTYPES = ("float32", "int64")
INPUT_KINDS = ("features", "image", "ids", "tokens")


@dataclass(frozen=True)
class InputSpec:
    """One named input a dataset gives the model (issue 15: typed, named inputs).

    `shape` is one sample's, without the batch dimension: (F,) features, (C, H, W) an image,
    () or (k,) integer ids (a user id; a user's k recent items), (L,) a token sequence padded
    to length L. Integer inputs (dtype int64) stay integer end to end: they are never scaled,
    moved to the device as int64 and exported as int64. `vocab` is the number of distinct ids
    (every id lies in [0, vocab)); an `embedding` layer reading this input takes its table
    size from it. `padding_idx` is the id that pads a token sequence: the padding mask is
    `ids != padding_idx`, and mask-aware layers (lstm, gru, token_pool, conv1d,
    cross_attention) never let padded positions reach their output.
    """

    name: str
    shape: tuple[int, ...]
    dtype: str = "float32"  # one of INPUT_DTYPES
    kind: str = "features"  # one of INPUT_KINDS
    vocab: int = 0  # ids / tokens: ids lie in [0, vocab)
    padding_idx: int | None = None  # tokens: the padding id (mask = ids != padding_idx)
    description: str = ""

    def __post_init__(self) -> None:
        if self.dtype not in INPUT_DTYPES or self.kind not in INPUT_KINDS:
            raise ValueError(f"input {self.name!r}: dtype must be one of {INPUT_DTYPES} and "
                             f"kind one of {INPUT_KINDS}; got {self.dtype!r}, {self.kind!r}")
        integer = self.kind in ("ids", "tokens")
        if integer != (self.dtype == "int64"):
            raise ValueError(f"input {self.name!r}: ids and tokens are int64, features and "
                             f"images float32; got a {self.dtype} {self.kind} input")
        if integer and self.vocab < 1:
            raise ValueError(f"input {self.name!r}: an integer input needs its vocab size")
        if self.padding_idx is not None and not 0 <= self.padding_idx < max(self.vocab, 1):
            raise ValueError(f"input {self.name!r}: padding_idx {self.padding_idx} is not an "
                             f"id in [0, {self.vocab})")


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
    # Named, typed inputs (InputSpec). Empty: the dataset has one float32 input, `x`, of
    # `input_shape` (every dataset before issue 15). When given, Dataset.x is a dict of arrays
    # keyed by these names and `input_shape` is the first input's shape.
    inputs: tuple[InputSpec, ...] = ()

    @property
    def multi_input(self) -> bool:
        """Whether the model reads named inputs (a dict) rather than one float tensor."""
        return bool(self.inputs)

    def input_specs(self) -> tuple[InputSpec, ...]:
        """Every input, the single-input case included (named "x")."""
        if self.inputs:
            return self.inputs
        return (InputSpec("x", tuple(self.input_shape)),)

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
    # float32, shape (n_samples, *input_shape); for a spec with named inputs, a dict of arrays
    # keyed by input name, each (n_samples, *shape) in its declared dtype
    x: np.ndarray | dict[str, np.ndarray]
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
