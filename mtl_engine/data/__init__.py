"""Built-in datasets (one file per family) and user CSV/NPZ import."""

from __future__ import annotations

from .._autoload import import_submodules
from ..registry import DATASETS

DATASETS.declare(
    # Parameters that make the dataset load in about a second, for the contract tests (the
    # defaults, unless given); None for an importer, which needs a user's file to load at all.
    smoke={},
    # An importer's file suffixes, lower case with the dot (".csv"); "*" takes any file no other
    # importer claims. Empty for a built-in dataset.
    suffixes=(),
    # An importer's preview: (path, n_rows, options=None) -> FilePreview, what the import dialog
    # shows of a file and offers to map, with a role guess per column; `options` are importer
    # parameters a user may set before importing (a CSV's delimiter, encoding). It runs on the GUI
    # thread: bounded reads (a CSV's first 32 MiB), an NPZ's array headers only.
    preview=None,
)

import_submodules(__name__, __path__)
