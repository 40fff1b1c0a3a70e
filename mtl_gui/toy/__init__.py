"""The two-objective toy playground: watch any strategy optimise the 2-D toy from five starts.

Open it on its own with ``python -m mtl_gui.toy``. It draws only plain data from
`mtl_engine.toy` (numpy arrays); the optimisation runs in a worker thread, in chunks.
"""

from __future__ import annotations

from .playground import ToyPlayground

__all__ = ["ToyPlayground"]
