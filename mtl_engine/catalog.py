"""Imports every module that registers entries, so the registries are complete."""

from __future__ import annotations

import importlib

_MODULES = (
    "mtl_engine.model",
    "mtl_engine.strategies",
    "mtl_engine.data",
    "mtl_engine.losses",
    "mtl_engine.metrics",
    "mtl_engine.optim",
)
_loaded = False


def load_all() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for name in _MODULES:
        importlib.import_module(name)
