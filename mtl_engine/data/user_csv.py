"""A user's own CSV file: a header row, columns mapped to inputs and to typed tasks.

Tasks are written ``"column:type"`` (classification, binary or regression; see tabular.py). An
input column is numeric when at least half its cells are numbers (any other cell is then an error
naming it); otherwise it is categorical and one-hot encoded: one 0/1 feature per level, at most
``max_levels`` of them (the most frequent), the rest folded into one "(other)" feature that also
takes levels never seen at predict time; a missing cell is all zeros. A text column with more
than ``embed_levels`` levels, or one listed in ``embed``, is embedded instead: one feature holding
the level's index (1.., 0 for missing or unseen) that the model looks up in a learnt table of
``embed_dim`` numbers a level (tabular.describe_input, model/inputs.py). ``categorical`` treats
numeric codes as levels too. How each input was encoded is kept on the spec (`input_columns`) so raw
rows can be encoded the same way (tabular.encode_rows). The file may be gzipped or a one-file zip;
its delimiter is sniffed unless given, and its encoding is ``encoding`` (utf-8 by default). The
loader returns the file's own values (a missing input cell as NaN; the
description says how many): the run's preprocessing (mtl_engine/preprocess.py) fills and
standardises them with statistics of the training rows only, and standardises regression targets
the same way. ``standardize: false`` leaves the inputs unscaled (they are still imputed).
Classification and binary labels may be text; ids follow the sorted labels and the names are kept
in DataTask.class_names. Problems raise DataError naming the file, the column and the row (the
header is row 1).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ConfigError, DataError, short
from ..registry import DATASETS, param, parse_params
from .base import Dataset, DatasetSpec, FilePreview
from .guess import guess_columns
from .tabular import (
    EMBED_DIM_CAP,
    EMBED_LEVELS,
    MAX_LEVELS,
    TASKS_HELP,
    describe_input,
    encode_columns,
    feature_names,
    is_missing,
    make_target,
    parse_task_specs,
    read_csv,
    require_path,
    scan_csv,
    to_float,
)
from .textfile import AUTO


@dataclass(frozen=True)
class CsvParams:
    path: str = param("", "CSV file with a header row")
    tasks: list[str] = param([], TASKS_HELP)
    inputs: list[str] = param([], "input columns (numbers, or text: one-hot); empty: every "
                                  "column that is not a task")
    delimiter: str = param(AUTO, "field separator: auto (sniffed), one character, or comma, "
                                 "semicolon, tab, space, whitespace (runs of blanks), pipe")
    encoding: str = param("utf-8", "text encoding of the file, e.g. utf-8, latin-1, cp1252")
    categorical: list[str] = param([], "input columns read as levels even when numeric (codes):"
                                       " one-hot, or embedded past embed_levels")
    max_levels: int = param(MAX_LEVELS, "one-hot features a categorical input gets at most: its "
                                         "most frequent levels, the rest as one (other)",
                            low=1, high=1000)
    embed: list[str] = param([], "input columns to embed (one learnt vector per level) whatever "
                                 "their level count")
    embed_levels: int = param(EMBED_LEVELS, "a text input with more levels than this is embedded "
                                            "instead of one-hot; 0: only the columns in embed",
                              low=0, high=1_000_000)
    embed_dim: int = param(0, "numbers per level of an embedded column; 0: round(1.6 * (levels "
                              f"+ 1) ** 0.56), at most {EMBED_DIM_CAP}", low=0, high=1024)
    standardize: bool = param(True, "scale each input to zero mean and unit variance (the "
                                    "training rows' statistics, in the model)")
    split_column: str = param("", "column giving each row's part: train / val / test (or 0 / 1 "
                                  "/ 2); empty: split by data.val_fraction / test_fraction")


def preview_csv(path: str, n_rows: int, options: Mapping[str, Any] | None = None
                ) -> FilePreview:
    """The first rows of a CSV and a role guess for every column from all its rows (at most
    tabular.GUESS_BYTES of text). `options` may set the `delimiter` (else sniffed) and the
    `encoding`; the ones used come back in `params`."""
    options = dict(options or {})
    delimiter, encoding = str(options.get("delimiter", AUTO)), str(options.get("encoding",
                                                                               "utf-8"))
    shown, every, skipped, truncated = scan_csv(path, n_rows, delimiter, encoding)
    cells = zip(*every.rows, strict=True) if every.rows else ([] for _ in every.header)
    columns = dict(zip(every.header, cells, strict=True))  # transposed in C
    values = {name: [row[j] for row in shown.rows] for j, name in enumerate(shown.header)}
    notes = []
    if truncated:
        notes.append(f"roles guessed from the first {len(every.rows):,} rows (the file is "
                     "longer than a preview reads)")
    if skipped:
        notes.append(f"{skipped:,} rows have a different number of fields than the header; "
                     "the import will name the first")
    params: dict[str, Any] = {"delimiter": shown.delimiter}
    if encoding != "utf-8":
        params["encoding"] = encoding
    return FilePreview(shown.header, shown.rows, list(shown.header), values=values,
                       params=params, guesses=guess_columns(every.header, columns),
                       note="; ".join(notes))


@DATASETS.register(
    "csv",
    "Your own CSV file: pick the input columns and type each task column",
    params=CsvParams,
    smoke=None,
    # .gz and .zip are read through gzip / zipfile; any other file is tried as text too
    suffixes=(".csv", ".tsv", ".txt", ".gz", ".zip", "*"),
    preview=preview_csv,
)
def load_csv(given: Mapping[str, Any] | CsvParams, seed: int) -> Dataset:
    params = parse_params(CsvParams, given, "data.params")
    path = require_path(params.path, "CSV")
    tasks = parse_task_specs(params.tasks)
    table = read_csv(path, params.delimiter, encoding=params.encoding)
    src = table.source
    task_cols = [column for column, _ in tasks]
    for column in task_cols:
        table.require(column)
    split = params.split_column  # its values are read and checked by mtl_engine/splits.py
    if split:
        table.require(split)
        if split in task_cols:
            raise ConfigError("data.params.split_column", f"column {short(split)} is a task "
                                                          "target; a column is one or the other")
    inputs = list(params.inputs) or [c for c in table.header if c not in task_cols
                                     and c != split]
    for index, column in enumerate(inputs):
        table.require(column)
        if column in task_cols:
            raise ConfigError(f"data.params.inputs[{index}]", f"column {short(column)} is also a "
                                                              "task target; a column is one or "
                                                              "the other")
        if column == split:
            raise ConfigError(f"data.params.inputs[{index}]", f"column {short(column)} is the "
                                                              "split column; it cannot be an "
                                                              "input too")
    if not inputs:
        raise DataError(src, "has no column left for inputs: every column is a task")
    for key in ("categorical", "embed"):
        for index, column in enumerate(getattr(params, key)):
            if column not in inputs:
                raise ConfigError(f"data.params.{key}[{index}]", f"column {short(column)} is "
                                                                 "not an input column")

    def row_of(index: int) -> int:
        return table.lines[index]

    columns = {c: table.column(c) for c in inputs}
    described = tuple(describe_input(c, columns[c], src, c in params.categorical,
                                     params.max_levels, c in params.embed, params.embed_levels,
                                     params.embed_dim) for c in inputs)
    features = encode_columns(columns, described, src, row_of)
    names = feature_names(described)
    onehot = tuple(name for col in described if col["kind"] == "categorical"
                   for name in feature_names([col]))
    embedded = tuple(col["name"] for col in described if col["kind"] == "embedded")
    n_filled = int(np.isnan(features).sum())
    targets: dict[str, np.ndarray] = {}
    declared = []
    for column, ttype in tasks:
        cells = table.column(column)
        missing = np.array([is_missing(c) for c in cells], dtype=bool)
        values = (to_float(cells, src, column, row_of) if ttype == "regression"
                  else np.array(cells, dtype=str))
        targets[column], task = make_target(column, ttype, values, missing, src)
        declared.append(task)
    filled = (f"; {n_filled} missing input cells, filled with training means"
              if n_filled else "")
    n_text = len(inputs) - sum(col["kind"] == "numeric" for col in described) - len(embedded)
    text = f" ({n_text} one-hot: {len(onehot)} features)" if n_text else ""
    text += f" ({len(embedded)} embedded: {', '.join(embedded)})" if embedded else ""
    spec = DatasetSpec("csv", (len(names),), tuple(declared), len(table.rows),
                       f"{len(table.rows)} rows, {len(inputs)} inputs{text} from {src}{filled}",
                       src, input_columns=described)
    return Dataset(spec, features.astype(np.float32), targets, feature_names=names,
                   raw_features=onehot + embedded,  # indicators and level indices
                   split=np.array(table.column(split), dtype=str) if split else None,
                   prepared=frozenset() if params.standardize else frozenset({"inputs"}))
