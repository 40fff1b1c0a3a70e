"""Built-in datasets (one file per family) and user CSV/NPZ import."""

from __future__ import annotations

from .._autoload import import_submodules

import_submodules(__name__, __path__)
