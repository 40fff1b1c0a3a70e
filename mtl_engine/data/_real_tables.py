"""Reading the real tables shipped as gzip CSV (yeast, Adult, solar flare) and one-hot coding
their categorical columns. The files are fixed and known (scripts/make_real_tables.py made them),
so this is plain stdlib csv rather than the user importer's checks and messages."""

from __future__ import annotations

import csv
import gzip
from collections.abc import Sequence

import numpy as np

from ..errors import DataError
from ._common import shipped


class Table:
    """A shipped table: its header and its rows of strings, with columns by name."""

    def __init__(self, name: str, n_rows: int, n_columns: int) -> None:
        path = shipped(name)
        with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
            rows = list(csv.reader(f))
        self.source = str(path)
        self.header, self.rows = rows[0], rows[1:]
        # A file replaced by another version is refused here rather than trained on.
        if (len(self.rows), len(self.header)) != (n_rows, n_columns):
            raise DataError(self.source, f"holds {len(self.rows)} rows of {len(self.header)} "
                                         f"columns, expected {n_rows} of {n_columns}; re-run "
                                         "scripts/make_real_tables.py")

    def column(self, name: str) -> np.ndarray:
        j = self.header.index(name)
        return np.array([row[j] for row in self.rows])

    def numbers(self, names: Sequence[str]) -> np.ndarray:
        """The named columns as float64, shape (rows, len(names))."""
        index = [self.header.index(n) for n in names]
        return np.array([[float(row[j]) for j in index] for row in self.rows], dtype=np.float64)


def one_hot(values: np.ndarray, column: str) -> tuple[np.ndarray, list[str]]:
    """One 0/1 column per distinct value (sorted), named 'column=value'. A column with a single
    value carries nothing and gives no columns."""
    levels = sorted(set(values.tolist()))
    if len(levels) < 2:
        return np.zeros((len(values), 0), dtype=np.float32), []
    onehot = (values[:, None] == np.array(levels)[None, :]).astype(np.float32)
    return onehot, [f"{column}={level}" for level in levels]


def one_hot_columns(table: Table, columns: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """`one_hot` of each named column of `table`, side by side."""
    blocks, names = [], []
    for column in columns:
        block, block_names = one_hot(table.column(column), column)
        blocks.append(block)
        names += block_names
    return np.concatenate(blocks, axis=1), names
