"""Task-weighting strategies, one file each; every public module here registers itself."""

from __future__ import annotations

from .._autoload import import_submodules
from ..registry import STRATEGIES
from .base import Combined, EpochStats, StepInfo, Strategy

STRATEGIES.declare(
    family="other",  # "loss" (weights from the losses) or "gradient" (from the gradients)
    grad_modes=None,  # the gradient modes the method allows (None: all of them)
)

__all__ = ["Combined", "EpochStats", "StepInfo", "Strategy"]

import_submodules(__name__, __path__)
