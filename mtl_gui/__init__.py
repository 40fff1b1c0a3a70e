"""MTL Explorer's desktop app: one client of mtl_engine. Never touches tensors."""

from __future__ import annotations
