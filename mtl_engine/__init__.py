"""MTL Explorer's engine: build, train and export multi-task models. No Qt here, ever."""

from __future__ import annotations

__version__ = "0.1.0"
