"""Which rows train, validate and test a run, and the run folder's record of it (split.json).

Three sources, in this order:

- a split column (``data.params.split_column`` of the csv / npz datasets): each row's value says
  its part, ``train`` / ``val`` / ``test`` (also ``training``, ``valid``, ``validation``; any
  case) or ``0`` / ``1`` / ``2``; anything else is refused, naming the value and the row. The
  fractions are not used (a test_fraction or stratify beside it is refused as ambiguous).
- a split the dataset defines itself (Dataset.val_index): those rows validate; a test part, if
  asked for, is drawn from the other rows.
- fractions: ``data.val_fraction`` and ``data.test_fraction`` of the rows, drawn by a shuffle
  seeded with ``training.seed``. With ``data.stratify: <task>`` (a classification or binary task)
  the draw is made within each class (missing labels are a class of their own), so each part
  keeps the class proportions; the part sizes are those of the plain draw, shared out between
  the classes by largest remainder. Without a test part the plain draw is the one earlier
  versions made, so a seed gives the same validation rows as before.

split.json holds the row indices (0-based, into the rows as the dataset loaded them: a CSV's
data rows, header excluded) of each part, sorted, with how they were chosen (see SplitParts).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import BundleError, ConfigError, short
from .fileio import atomic_write_text

SPLIT_FILE = "split.json"
SPLIT_FORMAT = "mtl-explorer-split"
SPLIT_VERSION = 1
SPLIT_COLUMN = "data.params.split_column"

# the words a split column may hold, by part (compared lower-cased, stripped)
_PART_WORDS = {"train": ("train", "training", "0"), "val": ("val", "valid", "validation", "1"),
               "test": ("test", "2")}
_WORD_PART = {w: part for part, words in _PART_WORDS.items() for w in words}


@dataclass(frozen=True)
class SplitParts:
    """Row indices (sorted int64) of each part and how they were chosen.

    `source`: "fractions", "dataset" (the dataset's own validation rows) or "column".
    """

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    source: str = "fractions"
    seed: int = 0
    val_fraction: float = 0.0
    test_fraction: float = 0.0
    stratify: str | None = None

    @property
    def n_rows(self) -> int:
        return len(self.train) + len(self.val) + len(self.test)

    def to_dict(self) -> dict[str, Any]:
        return {"format": SPLIT_FORMAT, "version": SPLIT_VERSION, "source": self.source,
                "seed": self.seed, "val_fraction": self.val_fraction,
                "test_fraction": self.test_fraction, "stratify": self.stratify,
                "n_rows": self.n_rows, "train": self.train.tolist(), "val": self.val.tolist(),
                "test": self.test.tolist()}


def split_rows(n: int, val_fraction: float, test_fraction: float, seed: int, *,
               preset_val: np.ndarray | None = None, column: np.ndarray | None = None,
               strata: np.ndarray | None = None, stratify: str | None = None) -> SplitParts:
    """The parts of `n` rows (see the module docstring). `strata`: one label per row."""
    if column is not None:
        train, val, test = parts_of_column(column, n)
        return SplitParts(train, val, test, "column", seed)
    rng = np.random.default_rng(seed)
    if preset_val is not None:
        val = np.unique(np.asarray(preset_val, dtype=np.int64))
        rest = np.setdiff1d(np.arange(n, dtype=np.int64), val)
        # the test part: the same share of all rows, drawn from the rows left for training
        n_test = min(int(round(n * test_fraction)), len(rest))
        pick = _draw(rest, [n_test], rng, None if strata is None else strata[rest])[0]
        test = rest[pick]
        train = np.setdiff1d(rest, test)
        return SplitParts(train, val, np.sort(test), "dataset", seed, 0.0, test_fraction,
                          stratify)
    idx = np.arange(n, dtype=np.int64)
    val_pick, test_pick = _draw(idx, [int(round(n * val_fraction)), int(round(n * test_fraction))],
                                rng, strata)
    taken = np.zeros(n, dtype=bool)
    taken[val_pick] = taken[test_pick] = True
    return SplitParts(np.flatnonzero(~taken).astype(np.int64), np.sort(idx[val_pick]),
                      np.sort(idx[test_pick]), "fractions", seed, val_fraction, test_fraction,
                      stratify)


def _draw(rows: np.ndarray, sizes: list[int], rng: np.random.Generator,
          strata: np.ndarray | None) -> list[np.ndarray]:
    """Disjoint positions into `rows`, one array per size: a seeded shuffle, cut in order."""
    if strata is None:
        order = rng.permutation(len(rows))
        cuts = np.cumsum([0, *sizes])
        return [order[cuts[i]:cuts[i + 1]] for i in range(len(sizes))]
    classes, inverse = np.unique(strata, return_inverse=True)
    members = [np.flatnonzero(inverse == c) for c in range(len(classes))]
    counts = np.array([len(m) for m in members])
    room = counts.copy()
    quotas = []
    for size in sizes:
        q = _largest_remainder(counts * (size / max(len(rows), 1)), size, room)
        room -= q
        quotas.append(q)
    out: list[list[np.ndarray]] = [[] for _ in sizes]
    for c, m in enumerate(members):
        shuffled = m[rng.permutation(len(m))]
        start = 0
        for part, q in enumerate(quotas):
            out[part].append(shuffled[start:start + q[c]])
            start += q[c]
    return [np.concatenate(p) if p else np.zeros(0, dtype=np.int64) for p in out]


def _largest_remainder(exact: np.ndarray, total: int, room: np.ndarray) -> np.ndarray:
    """Integers near `exact` summing to `total` (when room allows), each at most `room`."""
    q = np.minimum(np.floor(exact).astype(np.int64), room)
    left = total - int(q.sum())
    # largest fractional part first; ties go to the class that comes first
    for c in sorted(range(len(q)), key=lambda c: (-(exact[c] - math.floor(exact[c])), c)):
        if left <= 0:
            break
        if q[c] < room[c]:
            q[c] += 1
            left -= 1
    return q


def parts_of_column(values: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train, validation and test rows from a split column; a bad value raises ConfigError."""
    values = np.asarray(values)
    if values.shape != (n,):
        raise ConfigError(SPLIT_COLUMN, f"must hold one value per row ({n}), got shape "
                                        f"{tuple(values.shape)}")
    parts = np.empty(n, dtype=np.int8)
    codes = {"train": 0, "val": 1, "test": 2}
    for i, v in enumerate(values.tolist()):
        part = _WORD_PART.get(_word(v))
        if part is None:
            raise ConfigError(SPLIT_COLUMN, f"value {short(v)} in data row {i + 1} is not a "
                                            "part: use train / val / test or 0 / 1 / 2")
        parts[i] = codes[part]
    train = np.flatnonzero(parts == 0).astype(np.int64)
    if len(train) == 0:
        raise ConfigError(SPLIT_COLUMN, "marks no row as train (train / 0)")
    return (train, np.flatnonzero(parts == 1).astype(np.int64),
            np.flatnonzero(parts == 2).astype(np.int64))


def _word(v: object) -> str:
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, bytes):
        v = v.decode("utf-8", "replace")
    return str(v).strip().lower()


def write_split(folder: str | Path, parts: SplitParts) -> Path:
    """split.json in a run folder, atomically (FileWriteError naming the file)."""
    path = Path(folder) / SPLIT_FILE
    atomic_write_text(path, json.dumps(parts.to_dict(), separators=(",", ":")) + "\n")
    return path


def read_split(folder: str | Path) -> SplitParts:
    """A run folder's split.json back (BundleError naming the file when it is not one)."""
    path = Path(folder) / SPLIT_FILE
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise BundleError(f"{path}: cannot read the split ({short(str(exc))[1:-1]})") from None
    if not isinstance(d, dict) or d.get("format") != SPLIT_FORMAT:
        raise BundleError(f"{path}: not a split file (no format {SPLIT_FORMAT!r})")
    try:
        rows = {k: np.asarray(d[k], dtype=np.int64).reshape(-1) for k in ("train", "val", "test")}
        return SplitParts(rows["train"], rows["val"], rows["test"], str(d["source"]),
                          int(d["seed"]), float(d["val_fraction"]), float(d["test_fraction"]),
                          d.get("stratify"))
    except (KeyError, TypeError, ValueError) as exc:
        raise BundleError(f"{path}: a damaged split file ({short(str(exc))[1:-1]})") from None
