"""A plain word tokeniser and vocabulary for the shipped text datasets (clothing_reviews).

Standard library only and no relative imports, so scripts/convert_clothing_reviews.py can load
this file by its path from an environment without the project's dependencies. A word is a run of
lower-case letters or digits, optionally with one apostrophe part ("it's", "don't"); everything
else (punctuation, spaces, other symbols) separates words.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

PAD, UNKNOWN = 0, 1  # token ids every vocabulary reserves
RESERVED = ("<pad>", "<unk>")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def words(text: str) -> list[str]:
    """The lower-cased words of `text`, in order."""
    return _WORD.findall(text.lower())


def vocabulary(texts: Iterable[str], size: int) -> list[str]:
    """The `size` entries of a vocabulary: "<pad>" (id 0), "<unk>" (id 1), then the most frequent
    words, ties in alphabetical order, so the same texts always give the same ids."""
    counts = Counter(w for t in texts for w in words(t))
    ranked = sorted(counts, key=lambda w: (-counts[w], w))
    return list(RESERVED) + ranked[:max(0, size - len(RESERVED))]


def encode(text: str, index: dict[str, int], length: int) -> list[int]:
    """`text` as exactly `length` ids: its first `length` words (UNKNOWN for a word not in
    `index`), right-padded with PAD."""
    ids = [index.get(w, UNKNOWN) for w in words(text)[:length]]
    return ids + [PAD] * (length - len(ids))


def index_of(vocab: Sequence[str]) -> dict[str, int]:
    """word -> id for a vocabulary list (the list's positions)."""
    return {w: i for i, w in enumerate(vocab)}
