"""MTL Explorer's desktop app: one client of mtl_engine. Never touches tensors."""

from __future__ import annotations

from . import qt_fix  # noqa: F401 - must run before any Qt call (see qt_fix's docstring)
