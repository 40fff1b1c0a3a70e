"""Task-weighting strategies, one file each; every public module here registers itself."""

from __future__ import annotations

from .._autoload import import_submodules
from .base import Combined, EpochStats, StepInfo, Strategy

__all__ = ["Combined", "EpochStats", "StepInfo", "Strategy"]

import_submodules(__name__, __path__)
