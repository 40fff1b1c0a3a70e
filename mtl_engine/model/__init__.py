"""Layer catalogue with shape inference, sharing schemes and the multi-task model."""

from __future__ import annotations

from .._autoload import import_submodules
from .multitask import MultiTaskModel, build_model, summarize
from .summary import LayerInfo, ModelSummary

import_submodules(__name__, __path__)

__all__ = ["LayerInfo", "ModelSummary", "MultiTaskModel", "build_model", "summarize"]
