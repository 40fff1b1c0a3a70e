"""Parsing shared by the user CSV and NPZ importers (and penguins): task notation, CSV reading,
numeric columns, label encoding, and the import dialog's preview table.

Task notation: ``"column:type"`` with type classification, binary or regression, e.g.
``["species:classification", "sex:binary", "body_mass_g:regression"]``. The column is everything
before the last colon, so column names may themselves hold colons.

Missing values: an empty cell or one of NA, N/A, NaN, null, None, ? (any case). Class ids are the
sorted distinct labels (numerically when every label is a number, so "10" follows "9"); -1 marks a
missing class, NaN a missing regression value. Row numbers in errors are 1-based file lines, so the
header is row 1 and the first data row is row 2; for NPZ arrays the row is the 1-based sample index.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..config import TASK_TYPES
from ..errors import ConfigError, DataError, UnknownNameError, short
from ._common import BEYOND_F32, F32_MAX, make_task
from .base import DataTask
from .importing import importer_for
from .textfile import (
    AUTO,
    EMBED_LEVELS,
    MISSING,
    delimiter_of,
    is_missing,
    open_text,
    records,
    shown,
    sniff,
)

__all__ = ["MISSING", "is_missing"]  # re-exported: the loaders read them from here
# A classification task is refused as continuous (see _refuse_continuous) past these.
MANY_CLASSES, ROWS_PER_CLASS, FRACTION_CLASSES = 50, 10, 10
RowOf = Callable[[int], int]  # index of a value -> the row number to show the user
TASKS_HELP = ("one 'column:type' per task, type classification, binary or regression, e.g. "
              "'species:classification'")


def require_path(value: str, kind: str) -> str:
    """An importer's `path` parameter, refused when empty (naming the kind of file wanted)."""
    if not value.strip():
        raise ConfigError("data.params.path", f"is empty: choose a {kind} file")
    return value


def parse_task_specs(specs: Sequence[str], path: str = "data.params.tasks"
                     ) -> list[tuple[str, str]]:
    """``["a:binary", ...]`` -> ``[("a", "binary"), ...]``, errors naming the list item."""
    if not specs:
        raise ConfigError(path, "list at least one task as 'column:type' (type: "
                                f"{', '.join(TASK_TYPES)}), e.g. 'species:classification'")
    out: list[tuple[str, str]] = []
    for i, spec in enumerate(specs):
        column, sep, ttype = str(spec).rpartition(":")
        column, ttype = column.strip(), ttype.strip().lower()
        if not sep or not column:
            raise ConfigError(f"{path}[{i}]", f"{short(spec)} must read 'column:type', e.g. "
                                              "'price:regression'")
        if ttype not in TASK_TYPES:
            raise UnknownNameError("task type", ttype, TASK_TYPES, f"{path}[{i}]")
        if any(column == c for c, _ in out):
            raise ConfigError(f"{path}[{i}]", f"column {short(column)} is listed twice")
        out.append((column, ttype))
    return out


@dataclass
class CsvTable:
    source: str
    header: list[str]
    rows: list[list[str]]  # stripped cells, every row as long as the header
    lines: list[int]  # file line of each row (header = 1)
    delimiter: str = ","  # as read (a sniffed one resolved): one character or "whitespace"

    def column(self, name: str) -> list[str]:
        j = self.header.index(name)
        return [r[j] for r in self.rows]

    def require(self, name: str) -> None:
        if name not in self.header:
            close = difflib.get_close_matches(name, self.header, n=1)
            hint = f" Did you mean {short(close[0])}?" if close else ""
            shown = ", ".join(self.header[:30]) + (", ..." if len(self.header) > 30 else "")
            raise DataError(self.source, f"no such column.{hint} The header has: {shown}",
                            column=name)


# A preview shows the first rows of a file but guesses roles from all of them: it reads at most
# this much text (decompressed), whole lines; a header line must fit in PREVIEW_BYTES.
PREVIEW_BYTES = 1 << 20
GUESS_BYTES = 32 << 20


def read_csv(path: str | Path, delimiter: str = AUTO, max_rows: int | None = None,
             encoding: str = "utf-8") -> CsvTable:
    """Header and data rows; blank lines are skipped, ragged rows and empty files are errors.
    `max_rows` reads only the start of the file (PREVIEW_BYTES at most)."""
    source, text, _ = open_text(path, None if max_rows is None else PREVIEW_BYTES, encoding)
    table, _ = _parse(text, source, delimiter, max_rows, strict=True)
    if not table.rows and max_rows != 0:
        raise DataError(source, "has a header but no data rows", row=2)
    return table


def scan_csv(path: str | Path, n_rows: int, delimiter: str = AUTO, encoding: str = "utf-8"
             ) -> tuple[CsvTable, CsvTable, int, bool]:
    """(first `n_rows` rows, every row, rows skipped, truncated) of a file for a preview: the
    first rows are checked as a load would; past them a ragged row is skipped and counted (the
    load reports it), and at most GUESS_BYTES are read."""
    source, head, _ = open_text(path, PREVIEW_BYTES, encoding)
    first, _ = _parse(head, source, delimiter, max(0, n_rows), strict=True)
    source, text, truncated = open_text(path, GUESS_BYTES, encoding)
    every, skipped = _parse(text, source, first.delimiter, None, strict=False)
    return first, every, skipped, truncated


def _parse(text: str, source: str, delimiter: str, max_rows: int | None, strict: bool
           ) -> tuple[CsvTable, int]:
    d = delimiter_of(delimiter)
    if d == AUTO:
        d = sniff(text, source)
    header: list[str] | None = None
    rows: list[list[str]] = []
    lines: list[int] = []
    skipped = 0
    for line, cells in records(text, d, source):
        if header is None:
            header = _check_header(cells, source, line)
            continue
        if max_rows is not None and len(rows) >= max_rows:
            break
        if len(cells) != len(header):
            if not strict:
                skipped += 1
                continue
            raise DataError(source, f"has {len(cells)} fields but the header has "
                                    f"{len(header)}; check the delimiter ({shown(d)}) and "
                                    "quoting", row=line)
        rows.append(cells)
        lines.append(line)
    if header is None:
        raise DataError(source, "is empty (no header row)")
    return CsvTable(source, header, rows, lines, d), skipped


def _check_header(cells: list[str], source: str, line: int) -> list[str]:
    for j, name in enumerate(cells):
        if not name:
            raise DataError(source, f"header field {j + 1} is empty; every column needs a name",
                            row=line)
        if name in cells[:j]:
            raise DataError(source, "column name appears twice in the header", column=name,
                            row=line)
    return cells


def to_float(cells: Sequence[str], source: str, column: str, row_of: RowOf, hint: str = ""
             ) -> np.ndarray:
    """Numbers of a text column, NaN where missing; the first cell that is not a number, not
    finite, or beyond float32 (what training uses) is an error naming its column and row."""
    out = np.empty(len(cells), dtype=np.float64)
    for i, cell in enumerate(cells):
        if is_missing(cell):
            out[i] = np.nan
            continue
        try:
            out[i] = float(cell)
        except ValueError:
            raise DataError(source, f"{short(cell)} is not a number{hint}", column=column,
                            row=row_of(i)) from None
        if not np.isfinite(out[i]):
            raise DataError(source, f"{short(cell)} is not a finite number", column=column,
                            row=row_of(i))
        if abs(out[i]) > F32_MAX:
            raise DataError(source, f"{short(cell)} {BEYOND_F32}", column=column, row=row_of(i))
    return out


def encode_labels(values: np.ndarray, missing: np.ndarray, ttype: str, source: str,
                  column: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """Class ids (int64, -1 where missing) and class names, sorted; checks the class count."""
    present = values[~missing]
    if present.size == 0:
        raise DataError(source, "every value is missing; a task needs labels", column=column)
    uniq = np.unique(present)
    if uniq.dtype.kind in "US":
        as_numbers = _numbers(uniq)
        if as_numbers is not None:  # "2" < "10" by value, not by text
            uniq = uniq[np.argsort(as_numbers, kind="stable")]
    names = tuple(_label_name(v) for v in uniq)
    if len(uniq) < 2:
        raise DataError(source, f"has a single class {short(names[0])}; a {ttype} task needs at "
                                "least two", column=column)
    if ttype == "binary" and len(uniq) > 2:
        shown = ", ".join(names[:6]) + (", ..." if len(names) > 6 else "")
        raise DataError(source, f"has {len(uniq)} classes ({shown}); a binary task needs "
                                "exactly two (use classification)", column=column)
    ids = np.full(values.shape[0], -1, dtype=np.int64)
    lookup = {v: i for i, v in enumerate(uniq.tolist())}
    ids[~missing] = [lookup[v] for v in present.tolist()]
    return ids, names


def _numbers(labels: np.ndarray) -> np.ndarray | None:
    try:
        return np.array([float(v) for v in labels.tolist()])
    except ValueError:
        return None


def _label_name(v: object) -> str:
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v.item() if isinstance(v, np.generic) else v)


def make_target(column: str, ttype: str, values: np.ndarray, missing: np.ndarray,
                source: str) -> tuple[np.ndarray, DataTask]:
    """The Dataset target array and DataTask for one column (regression values already float)."""
    n_missing = int(missing.sum())
    note = f"; {n_missing} missing" if n_missing else ""
    if ttype == "regression":
        if n_missing == values.shape[0]:
            raise DataError(source, "every value is missing; a task needs targets", column=column)
        y = np.where(missing, np.nan, values).astype(np.float32)
        return y, make_task(column, ttype, description=f"{column} from {Path(source).name}{note}")
    ids, names = encode_labels(values, missing, ttype, source, column)
    if ttype == "classification":
        _refuse_continuous(values[~missing], names, source, column)
    desc = f"{column} from {Path(source).name}: {', '.join(names[:10])}{note}"
    return ids, make_task(column, ttype, len(names), desc, names)


def _refuse_continuous(present: np.ndarray, names: tuple[str, ...], source: str,
                       column: str) -> None:
    """A classification column whose values look like measurements, not classes: numbers with
    fractions and more than FRACTION_CLASSES values, or more than MANY_CLASSES classes with
    fewer than ROWS_PER_CLASS labelled rows a class on average."""
    k, n = len(names), int(present.size)
    numbers = (present.astype(np.float64) if present.dtype.kind in "biuf"
               else _numbers(np.asarray(names)))
    crowded = k > MANY_CLASSES and k * ROWS_PER_CLASS > n
    if numbers is not None:
        fractions = not bool(np.all(numbers == np.round(numbers)))
        if crowded or (fractions and k > FRACTION_CLASSES):
            what = "numbers with fractions" if fractions else "integers"
            raise DataError(source, f"has {k} distinct values ({what}) in {n} labelled rows; "
                                    "looks continuous: use regression", column=column)
    elif crowded:
        raise DataError(source, f"has {k} classes in {n} labelled rows (fewer than "
                                f"{ROWS_PER_CLASS} a class); too many classes for its size: is "
                                "it an id or free text?", column=column)


def preview_table(path: str, n_rows: int = 20, delimiter: str | None = None,
                  encoding: str = "utf-8") -> tuple[list[str], list[list[str]]]:
    """Header and first `n_rows` rows of an importable file, as text, for an import dialog.

    The importer is chosen by the file's suffix (an .npz file's "table" lists its arrays: header
    ["array", "shape", "dtype"]). A `delimiter` reads the file as CSV with it; without one, a
    CSV's delimiter is sniffed (textfile.py). Raises DataError naming file and row.
    """
    if delimiter is None:
        preview = importer_for(path).meta["preview"](path, n_rows, {"encoding": encoding})
        return preview.header, preview.rows
    table = read_csv(path, delimiter, max_rows=max(0, n_rows), encoding=encoding)
    return table.header, table.rows


# ----------------------------------------------------------------------------- input columns
#
# An input column is described as plain data, kept on the DatasetSpec (`input_columns`) so raw
# rows can be encoded at predict time exactly as the file was:
#   {"name": "size", "kind": "numeric"}                     -> one feature, NaN where missing
#   {"name": "island", "kind": "categorical", "levels": ["Biscoe", "Dream"], "other": False}
#       -> one 0/1 feature per level ("island=Biscoe", ...), then "island=(other)" when `other`:
#          the levels folded away by `max_levels`, and at predict time any level never seen.
#          A missing cell, or an unseen level without an other slot, is all zeros.
#   {"name": "zip", "kind": "embedded", "levels": ["10115", ...], "dim": 16}
#       -> ONE feature "zip" holding the level's index as a float: level k of `levels` is k + 1,
#          and 0 is a missing cell or a level never seen. The model looks the index up in an
#          embedding table of len(levels) + 1 rows of `dim` numbers (model/inputs.py); the
#          feature is never standardised.

MAX_LEVELS = 20  # one-hot features a text column gets by default (the most frequent levels)
EMBED_DIM_CAP = 16  # the largest embedding width the automatic rule picks
OTHER = "(other)"
MOSTLY_NUMBERS = ("; most of this column is numbers: fix the cell, or list the column in "
                  "'categorical' to one-hot it")


def embedding_dim(n_levels: int) -> int:
    """The automatic embedding width for `n_levels` levels: fastai's rule, round(1.6 * n**0.56)
    on the table's rows (levels + the missing/unseen row), at most EMBED_DIM_CAP."""
    return max(1, min(EMBED_DIM_CAP, round(1.6 * (n_levels + 1) ** 0.56)))


def describe_input(name: str, cells: Sequence[str], source: str, categorical: bool = False,
                   max_levels: int = MAX_LEVELS, embed: bool = False,
                   embed_levels: int = EMBED_LEVELS, embed_dim: int = 0) -> dict[str, Any]:
    """How one input column is encoded: numeric when at least half its cells are numbers (then
    the others are errors, see encode_columns); otherwise (or when `categorical`) embedded when
    `embed` or when it has more than `embed_levels` levels (0: never by count), every level
    kept, `embed_dim` wide (0: embedding_dim's rule); else one-hot of its `max_levels` most
    frequent levels, the rest folded into an "(other)" feature."""
    counts = Counter(c for c in cells if not is_missing(c))
    if not counts:
        raise DataError(source, "every value of this input column is missing", column=name)
    if not categorical and not embed:
        numeric = sum(n for value, n in counts.items() if _is_number(value))
        if 2 * numeric >= sum(counts.values()):
            return {"name": name, "kind": "numeric"}
    if embed or 0 < embed_levels < len(counts):
        return {"name": name, "kind": "embedded", "levels": _in_order(list(counts)),
                "dim": int(embed_dim) or embedding_dim(len(counts))}
    ranked = sorted(counts, key=lambda v: (-counts[v], v))
    kept = ranked[:max_levels]
    return {"name": name, "kind": "categorical", "levels": _in_order(kept),
            "other": len(ranked) > len(kept)}


def _in_order(levels: list[str]) -> list[str]:
    """Levels sorted, by value when every one is a number (so "10" follows "9")."""
    as_numbers = _numbers(np.asarray(levels))
    return ([levels[i] for i in np.argsort(as_numbers, kind="stable")] if as_numbers is not None
            else sorted(levels))


def feature_names(input_columns: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    """One name per feature: the column's for a number or an embedded column's level index,
    "column=level" for a one-hot."""
    out: list[str] = []
    for col in input_columns:
        if col["kind"] in ("numeric", "embedded"):
            out.append(col["name"])
            continue
        out.extend(f"{col['name']}={level}" for level in col["levels"])
        if col["other"]:
            out.append(f"{col['name']}={OTHER}")
    return tuple(out)


def encode_columns(columns: Mapping[str, Sequence[str]], input_columns: Sequence[Mapping[str, Any]],
                   source: str, row_of: RowOf) -> np.ndarray:
    """The float64 feature matrix of text cells (column name -> cells), NaN where a number is
    missing; a cell of a numeric column that is not a number is an error naming column and row."""
    parts: list[np.ndarray] = []
    for col in input_columns:
        cells = columns[col["name"]]
        if col["kind"] == "numeric":
            parts.append(to_float(cells, source, col["name"], row_of, MOSTLY_NUMBERS)[:, None])
            continue
        if col["kind"] == "embedded":  # level k -> k + 1; missing and unseen -> 0
            index_of = {level: k + 1 for k, level in enumerate(col["levels"])}
            parts.append(np.array([0 if is_missing(c) else index_of.get(c, 0) for c in cells],
                                  dtype=np.float64)[:, None])
            continue
        width = len(col["levels"]) + bool(col["other"])
        slot = {level: j for j, level in enumerate(col["levels"])}
        unseen = len(col["levels"]) if col["other"] else -1
        index = np.array([-1 if is_missing(c) else slot.get(c, unseen) for c in cells],
                         dtype=np.int64)
        onehot = np.zeros((len(cells), width), dtype=np.float64)
        hit = index >= 0
        onehot[np.nonzero(hit)[0], index[hit]] = 1.0
        parts.append(onehot)
    if not parts:
        return np.zeros((0, 0), dtype=np.float64)
    return np.concatenate(parts, axis=1)


def encode_rows(rows: Sequence[Mapping[str, Any]] | Sequence[Sequence[Any]],
                input_columns: Sequence[Mapping[str, Any]], source: str = "rows") -> np.ndarray:
    """Raw rows (dicts by column name, or sequences in input-column order; cells as text, numbers
    or None) as the float64 features the loader gave the file's rows: NaN for a missing number,
    the one-hot of a level, an embedded level's index (0: missing or unseen). Errors name the
    column and the 1-based row."""
    names = [col["name"] for col in input_columns]
    columns: dict[str, list[str]] = {name: [] for name in names}
    for i, row in enumerate(rows):
        if isinstance(row, Mapping):
            absent = [name for name in names if name not in row]
            if absent:
                raise DataError(source, "the row has no value for this input column",
                                column=absent[0], row=i + 1)
            values = [row[name] for name in names]
        else:
            values = list(row)
            if len(values) != len(names):
                raise DataError(source, f"has {len(values)} values but there are {len(names)} "
                                        f"input columns ({', '.join(names[:8])})", row=i + 1)
        for name, value in zip(names, values, strict=True):
            columns[name].append(_as_cell(value))
    return encode_columns(columns, input_columns, source, lambda i: i + 1)


def _as_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace").strip()
    if isinstance(value, (float, np.floating)):
        if np.isnan(value):
            return ""
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    if isinstance(value, np.generic):
        return str(value.item()).strip()
    return str(value).strip()


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True
