"""A user's own CSV file: a header row, columns mapped to inputs and to typed tasks.

Tasks are written ``"column:type"`` (classification, binary or regression; see tabular.py). Inputs
must be numeric; a missing input cell is filled with its column's mean (the description says how
many), and inputs are standardised to zero mean and unit variance over the whole file unless
``standardize`` is off. Classification and binary labels may be text; ids follow the sorted labels
and the names are kept in DataTask.class_names. Regression targets keep their units. Problems raise
DataError naming the file, the column and the row (the header is row 1).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, DataError, short
from ..registry import DATASETS, param, parse_params
from ._common import impute_mean, standardise
from .base import Dataset, DatasetSpec, FilePreview
from .tabular import (
    TASKS_HELP,
    RowOf,
    is_missing,
    make_target,
    parse_task_specs,
    read_csv,
    require_path,
    sniff_delimiter,
    to_float,
)


@dataclass(frozen=True)
class CsvParams:
    path: str = param("", "CSV file with a header row")
    tasks: list[str] = param([], TASKS_HELP)
    inputs: list[str] = param([], "input columns (numeric); empty: every column that is not a "
                                  "task")
    delimiter: str = param(",", "field separator: one character, or tab / semicolon")
    standardize: bool = param(True, "scale each input to zero mean and unit variance")


def preview_csv(path: str, n_rows: int) -> FilePreview:
    """The first rows of a CSV, its delimiter guessed; every column may be an input or a task."""
    delimiter = sniff_delimiter(Path(path).expanduser())
    table = read_csv(path, delimiter, max_rows=max(0, n_rows))
    values = {name: [row[j] for row in table.rows] for j, name in enumerate(table.header)}
    return FilePreview(table.header, table.rows, list(table.header), values=values,
                       params={"delimiter": delimiter})


@DATASETS.register(
    "csv",
    "Your own CSV file: pick the input columns and type each task column",
    params=CsvParams,
    smoke=None,
    suffixes=(".csv", ".tsv", ".txt", "*"),  # any other file is tried as text too
    preview=preview_csv,
)
def load_csv(given: Mapping[str, Any] | CsvParams, seed: int) -> Dataset:
    params = parse_params(CsvParams, given, "data.params")
    path = require_path(params.path, "CSV")
    tasks = parse_task_specs(params.tasks)
    table = read_csv(path, params.delimiter)
    src = table.source
    task_cols = [column for column, _ in tasks]
    for column in task_cols:
        table.require(column)
    inputs = list(params.inputs) or [c for c in table.header if c not in task_cols]
    for index, column in enumerate(inputs):
        table.require(column)
        if column in task_cols:
            raise ConfigError(f"data.params.inputs[{index}]", f"column {short(column)} is also a "
                                                              "task target; a column is one or "
                                                              "the other")
    if not inputs:
        raise DataError(src, "has no column left for inputs: every column is a task")

    def row_of(index: int) -> int:
        return table.lines[index]

    features = np.stack([_input(table.column(c), src, c, row_of) for c in inputs], axis=1)
    features, n_filled = impute_mean(features)
    if params.standardize:
        features, _, _ = standardise(features)
    targets: dict[str, np.ndarray] = {}
    declared = []
    for column, ttype in tasks:
        cells = table.column(column)
        missing = np.array([is_missing(c) for c in cells], dtype=bool)
        values = (to_float(cells, src, column, row_of) if ttype == "regression"
                  else np.array(cells, dtype=str))
        targets[column], task = make_target(column, ttype, values, missing, src)
        declared.append(task)
    filled = f"; {n_filled} missing input cells filled with column means" if n_filled else ""
    spec = DatasetSpec("csv", (len(inputs),), tuple(declared), len(table.rows),
                       f"{len(table.rows)} rows, {len(inputs)} inputs from {src}{filled}", src)
    return Dataset(spec, features.astype(np.float32), targets, feature_names=tuple(inputs))


def _input(cells: list[str], source: str, column: str, row_of: RowOf) -> np.ndarray:
    values = to_float(cells, source, column, row_of)
    if np.isnan(values).all():
        raise DataError(source, "every value of this input column is missing", column=column)
    return values
