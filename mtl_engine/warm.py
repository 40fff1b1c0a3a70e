"""Loading torch and the model code ahead of need, so that a window can paint first.

Everything a setup check needs except the model summary and the device list is served without
torch (the registries from their catalogue, the datasets as numpy). A window checks a setup
without them while `is_warm()` is False and calls `warm_up()` off its GUI thread; the next check
is then complete. Importing torch takes 1-2 s of a 2-core machine (issue 14, start-up).
"""

from __future__ import annotations

import sys


def is_warm() -> bool:
    """Whether the model code (and so torch) is imported, whole: a full check costs no import.
    The package's names exist only once its import has finished, so a warm-up still under way
    on another thread reads as not warm (a check then would wait for it)."""
    return hasattr(sys.modules.get("mtl_engine.model"), "summarize")


def warm_up() -> None:
    """Import torch, the model code and every layer, and ask torch for its devices once."""
    from . import model  # noqa: F401 - imports torch and registers the layers
    from .build import available_devices

    available_devices()
