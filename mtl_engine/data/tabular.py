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

import csv
import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import TASK_TYPES
from ..errors import ConfigError, DataError, UnknownNameError, short
from ._common import BEYOND_F32, F32_MAX, make_task
from .base import DataTask
from .importing import importer_for

MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "?"})
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


# A preview (the import dialog, on the GUI thread) reads at most this much of a file, whole lines.
PREVIEW_BYTES = 1 << 20


def _open_text(path: str | Path, limit: int | None = None) -> tuple[str, str]:
    file = Path(path).expanduser()
    source = str(file)
    if not file.exists():
        raise DataError(source, "file not found")
    if not file.is_file():
        raise DataError(source, "is not a file")
    try:
        with open(file, "rb") as stream:
            raw = stream.read() if limit is None else stream.read(limit + 1)
    except OSError as exc:
        raise DataError(source, f"cannot be read ({exc.strerror or exc})") from None
    if limit is not None and len(raw) > limit:
        end = raw.rfind(b"\n", 0, limit)
        if end < 0:
            raise DataError(source, f"its first line is longer than {limit:,} bytes; is this a "
                                    "CSV file?", row=1)
        raw = raw[: end + 1]  # whole lines only
    try:
        return source, raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        row = raw[: exc.start].count(b"\n") + 1
        raise DataError(source, "is not UTF-8 text; save it as UTF-8 CSV", row=row) from None


def _delimiter(value: str) -> str:
    named = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "space": " ", "pipe": "|"}
    d = named.get(value.lower(), value)
    if len(d) != 1:
        raise ConfigError("data.params.delimiter", f"must be one character (or tab, comma, "
                                                   f"semicolon, space, pipe), got {short(value)}")
    return d


def read_csv(path: str | Path, delimiter: str = ",", max_rows: int | None = None) -> CsvTable:
    """Header and data rows; blank lines are skipped, ragged rows and empty files are errors."""
    source, text = _open_text(path, None if max_rows is None else PREVIEW_BYTES)
    reader = csv.reader(text.splitlines(keepends=True), delimiter=_delimiter(delimiter))
    header: list[str] | None = None
    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        for cells in reader:
            if not cells or all(not c.strip() for c in cells):
                continue
            cells = [c.strip() for c in cells]
            if header is None:
                header = _check_header(cells, source, reader.line_num)
                continue
            if max_rows is not None and len(rows) >= max_rows:
                break
            if len(cells) != len(header):
                raise DataError(source, f"has {len(cells)} fields but the header has "
                                        f"{len(header)}; check the delimiter "
                                        f"{short(delimiter)} and quoting", row=reader.line_num)
            rows.append(cells)
            lines.append(reader.line_num)
    except csv.Error as exc:
        raise DataError(source, f"is not valid CSV ({exc})", row=reader.line_num) from None
    if header is None:
        raise DataError(source, "is empty (no header row)")
    if not rows and max_rows != 0:
        raise DataError(source, "has a header but no data rows", row=2)
    return CsvTable(source, header, rows, lines)


def _check_header(cells: list[str], source: str, line: int) -> list[str]:
    for j, name in enumerate(cells):
        if not name:
            raise DataError(source, f"header field {j + 1} is empty; every column needs a name",
                            row=line)
        if name in cells[:j]:
            raise DataError(source, "column name appears twice in the header", column=name,
                            row=line)
    return cells


def is_missing(cell: str) -> bool:
    return cell.strip().lower() in MISSING


def to_float(cells: Sequence[str], source: str, column: str, row_of: RowOf) -> np.ndarray:
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
            raise DataError(source, f"{short(cell)} is not a number", column=column,
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
    desc = f"{column} from {Path(source).name}: {', '.join(names[:10])}{note}"
    return ids, make_task(column, ttype, len(names), desc, names)


def preview_table(path: str, n_rows: int = 20, delimiter: str | None = None
                  ) -> tuple[list[str], list[list[str]]]:
    """Header and first `n_rows` rows of an importable file, as text, for an import dialog.

    The importer is chosen by the file's suffix (an .npz file's "table" lists its arrays: header
    ["array", "shape", "dtype"]). A `delimiter` reads the file as CSV with it; without one, a
    CSV's delimiter is guessed among , ; tab |. Raises DataError naming file and row.
    """
    if delimiter is None:
        shown = importer_for(path).meta["preview"](path, n_rows)
        return shown.header, shown.rows
    table = read_csv(path, delimiter, max_rows=max(0, n_rows))
    return table.header, table.rows


def sniff_delimiter(path: Path) -> str:
    """The most plausible delimiter of a CSV from its first lines (comma when unsure)."""
    source, text = _open_text(path, PREVIEW_BYTES)
    sample = "\n".join(text.splitlines()[:50])
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","
