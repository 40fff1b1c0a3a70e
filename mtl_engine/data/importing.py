"""How a user's file finds its importer: by suffix, from the facts the importers declare.

An importer is a dataset entry with `suffixes` (and a `preview`); see mtl_engine/data/__init__.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import DataError
from ..registry import DATASETS, Entry

ANY_SUFFIX = "*"  # an importer declaring it takes the files no other importer claims


def importers() -> list[Entry[Any]]:
    """The dataset entries that import a user's file, in registration order."""
    return [entry for entry in DATASETS if entry.meta["suffixes"]]


def importer_for(path: str | Path) -> Entry[Any]:
    """The importer of `path`, chosen by its suffix (any case); DataError if none reads it."""
    suffix = Path(path).suffix.lower()
    found = importers()
    for wanted in (suffix, ANY_SUFFIX):
        for entry in found:
            if wanted in entry.meta["suffixes"]:
                return entry
    known = ", ".join(s for entry in found for s in entry.meta["suffixes"])
    raise DataError(str(path), f"no importer reads {suffix or 'a file without a suffix'}; "
                               f"the importers read {known}")
