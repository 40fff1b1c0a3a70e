"""Layer catalogue with shape inference, sharing schemes and the multi-task model."""

from __future__ import annotations

from .._autoload import import_submodules

import_submodules(__name__, __path__)
