"""A user's own CSV file: a header row, columns mapped to inputs and to typed tasks.

Tasks are written ``"column:type"`` (classification, binary or regression; see tabular.py). Inputs
must be numeric; a missing input cell is filled with its column's mean (the description says how
many), and inputs are standardised to zero mean and unit variance over the whole file unless
``standardize`` is off. Classification and binary labels may be text; ids follow the sorted labels
and the names are kept in DataTask.class_names. Regression targets keep their units. Problems raise
DataError naming the file, the column and the row (the header is row 1).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ConfigError, DataError, short
from ..registry import DATASETS, Param
from ._common import impute_mean, params_for, standardise
from .base import Dataset, DatasetSpec
from .tabular import is_missing, make_target, parse_task_specs, read_csv, to_float

TASKS_HELP = ("one 'column:type' per task, type classification, binary or regression, e.g. "
              "'species:classification'")


def require_path(value: str, kind: str) -> str:
    if not value.strip():
        raise ConfigError("data.params.path", f"is empty: choose a {kind} file")
    return value


@DATASETS.register(
    "csv",
    "Your own CSV file: pick the input columns and type each task column",
    params=(
        Param("path", "str", "", "CSV file with a header row"),
        Param("tasks", "strs", [], TASKS_HELP),
        Param("inputs", "strs", [], "input columns (numeric); empty: every column that is not "
              "a task"),
        Param("delimiter", "str", ",", "field separator: one character, or tab / semicolon"),
        Param("standardize", "bool", True, "scale each input to zero mean and unit variance"),
    ),
)
def load_csv(params: dict[str, Any], seed: int) -> Dataset:
    p = params_for("csv", params)
    path = require_path(p["path"], "CSV")
    tasks = parse_task_specs(p["tasks"])
    table = read_csv(path, p["delimiter"])
    src = table.source
    task_cols = [c for c, _ in tasks]
    for column in task_cols:
        table.require(column)
    inputs = list(p["inputs"]) or [c for c in table.header if c not in task_cols]
    for i, column in enumerate(inputs):
        table.require(column)
        if column in task_cols:
            raise ConfigError(f"data.params.inputs[{i}]", f"column {short(column)} is also a task "
                                                          "target; a column is one or the other")
    if not inputs:
        raise DataError(src, "has no column left for inputs: every column is a task")

    def row_of(i: int) -> int:
        return table.lines[i]

    x = np.stack([_input(table.column(c), src, c, row_of) for c in inputs], axis=1)
    x, n_filled = impute_mean(x)
    if p["standardize"]:
        x, _, _ = standardise(x)
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
    return Dataset(spec, x.astype(np.float32), targets, feature_names=tuple(inputs))


def _input(cells: list[str], source: str, column: str, row_of: Any) -> np.ndarray:
    values = to_float(cells, source, column, row_of)
    if np.isnan(values).all():
        raise DataError(source, "every value of this input column is missing", column=column)
    return values
