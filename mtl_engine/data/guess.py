"""A role guess for every column of a table, read off all its rows: what an import dialog proposes.

Rules, in order (a cell is missing as in tabular.py; "values" are the distinct non-missing cells):

- empty (every cell missing) or constant (one value): ignore.
- two values: a likely label, a binary task (multi-label files are columns of 0/1).
- text with a different value in every (of at least 3) rows, or integers unique per row that
  have an id-like name (id, index, key, ..._id, Unnamed: 0) or increase down a file of at least
  10 rows: an id, ignore.
- a label-like name (label, target, class, outcome, y, optionally followed by a number or a
  suffix: ``Class1``, ``label_3``, ``y2``; or ending in label/target): a task, classification when
  text or at most 50 integer values, regression otherwise.
- text where at least half the values are numbers: a continuous input (the import then names
  the cells that are not numbers).
- other text: a categorical input (one-hot); integers with at most 10 values: a discrete input;
  other numbers: a continuous input.
- when no column is a task after these rules, the last column that is not ignored becomes one
  (regression when continuous, classification otherwise).

Counting uses one pass of `collections.Counter` per column and converts only the distinct
values to numbers, so guessing 10^5 rows x 20 columns takes a fraction of a second.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from .textfile import EMBED_LEVELS, MISSING_CELLS, is_missing

TASK_ROLES = ("classification", "binary", "regression")
MAX_CLASSES = 50  # integer values a label-like column may have and still be classes
FEW_INTEGERS = 10  # integer values of an unnamed column read as a discrete input
ID_ROWS = 10  # rows a column of increasing integers needs to be taken for a row number
LABEL_NAME = re.compile(r"^(label|target|class|outcome|y)(?![a-z])|(?<![a-z])(label|target)s?$",
                        re.IGNORECASE)
ID_NAME = re.compile(r"^(index|idx|key|row|rowid|uuid|unnamed\b.*)$|(?<![a-z])id$",
                     re.IGNORECASE)


@dataclass(frozen=True)
class ColumnGuess:
    """What a column looks like and the role proposed for it (plain data for a dialog)."""

    kind: str  # empty | constant | label | id | categorical | discrete | continuous
    role: str  # input | ignore | classification | binary | regression
    reason: str  # one short phrase a user reads, e.g. "2 values (no, yes): a likely label"
    levels: int = 0  # distinct non-missing values


def guess_columns(header: Sequence[str], columns: Mapping[str, Sequence[str]]
                  ) -> dict[str, ColumnGuess]:
    """A guess for every column of `header`; `columns` maps each name to all its cells."""
    guesses = {name: guess_column(name, columns[name]) for name in header}
    if any(g.role in TASK_ROLES for g in guesses.values()):
        return guesses
    for name in reversed(list(header)):
        g = guesses[name]
        if g.role == "ignore":
            continue
        role = "regression" if g.kind == "continuous" else "classification"
        guesses[name] = replace(g, role=role, reason=f"{g.reason}; no column looks like a "
                                                     "label, so the last is the task")
        break
    return guesses


def guess_column(name: str, cells: Sequence[str]) -> ColumnGuess:
    counts = Counter(cells)
    missing = counts.keys() & MISSING_CELLS  # set operations: no Python loop over the values
    distinct = list(counts.keys() - missing)
    n = len(cells) - sum(counts[c] for c in missing)
    k = len(distinct)
    if n == 0:
        return ColumnGuess("empty", "ignore", "every cell is missing")
    if k == 1:
        return ColumnGuess("constant", "ignore", f"one value ({_cut(distinct[0])})", 1)
    numbers = _numbers(distinct)
    if k == 2:
        shown = ", ".join(sorted(_cut(v) for v in distinct))
        return ColumnGuess("label", "binary", f"2 values ({shown}): a likely label", 2)
    named = bool(LABEL_NAME.search(name))
    if numbers is None and _mostly_numbers(distinct):
        text = next(v for v in distinct if not _is_number(v))
        return ColumnGuess("continuous", "input", f"numbers, but some cells are text (e.g. "
                                                  f"{_cut(text)!r}): the import names them", k)
    if numbers is None:
        if k == n and n >= 3:
            return ColumnGuess("id", "ignore", "text, a different value in every row: an id", k)
        if named:
            return ColumnGuess("label", "classification", f"text, {k} classes, named like a "
                                                          "label", k)
        how = "embedded" if k > EMBED_LEVELS else "one-hot"
        return ColumnGuess("categorical", "input", f"text, {k} levels: {how} input", k)
    integer = bool(np.all(numbers == np.round(numbers)))
    if integer and k == n and (ID_NAME.search(name) and n >= 3
                               or n >= ID_ROWS and _increasing(cells)):
        return ColumnGuess("id", "ignore", "integers unique per row: an id", k)
    if named:
        if integer and k <= MAX_CLASSES:
            return ColumnGuess("label", "classification", f"{k} integer values, named like a "
                                                          "label", k)
        return ColumnGuess("label", "regression", f"numbers, {k} values, named like a target",
                           k)
    if integer and k <= FEW_INTEGERS:
        return ColumnGuess("discrete", "input", f"{k} integer values: input", k)
    return ColumnGuess("continuous", "input", f"numbers, {k} distinct values: continuous input",
                       k)


def _numbers(values: list[str]) -> np.ndarray | None:
    """The values as float64 (float() mapped in C, no Python loop), None if any is not one."""
    try:
        out = np.fromiter(map(float, values), dtype=np.float64, count=len(values))
    except ValueError:
        return None
    return out if np.isfinite(out).all() else None


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def _mostly_numbers(values: list[str], sample: int = 1000) -> bool:
    """At least half (of a sample) are numbers: a numeric column with typos, as the loader reads
    it (tabular.describe_input), not text."""
    head = values[:sample]
    return 2 * sum(map(_is_number, head)) >= len(head)


def _increasing(cells: Sequence[str]) -> bool:
    values = _numbers([c for c in cells if not is_missing(c)])
    return values is not None and bool(np.all(np.diff(values) > 0))


def _cut(value: str, width: int = 12) -> str:
    return value if len(value) <= width else value[: width - 1] + "\u2026"
