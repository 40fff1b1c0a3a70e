"""The toy playground's screenshots (``python -m mtl_gui.screenshots --only toy``): Nash-MTL run
to the end from the five standard starts with its paper's settings, light and dark."""

from __future__ import annotations

import time
from typing import Any

STRATEGY = "nash_mtl"  # its toy facts set the paper's L1 scale (0.1)
LIMIT_S = 300.0


def shoot_toy(shooter: Any) -> None:
    from ..study.shots import set_app_theme
    from .playground import ToyPlayground

    window = ToyPlayground()
    window.setWindowTitle("MTL Explorer: two-objective toy")
    window.select(STRATEGY)
    window.resize(1100, 700)
    window.show()
    window.start()
    deadline = time.monotonic() + LIMIT_S
    while window.running and time.monotonic() < deadline:
        shooter.app.processEvents()
        time.sleep(0.02)
    for theme, suffix in (("light", ""), ("dark", "_dark")):
        set_app_theme(window, theme)
        shooter.shot(window, f"toy_playground{suffix}")
    set_app_theme(window, "light")
    window.close()
