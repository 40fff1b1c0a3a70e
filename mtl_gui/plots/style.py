"""Colours and line styles: a colour per task, a dash pattern per run, shared by every plot."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

# Okabe-Ito-like palette: distinguishable for colour-blind readers, readable on light and dark.
TASK_COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#8C6D31",
               "#7F7F7F", "#B22222", "#2F4F4F")
RUN_DASHES = (Qt.PenStyle.SolidLine, Qt.PenStyle.DashLine, Qt.PenStyle.DotLine,
              Qt.PenStyle.DashDotLine, Qt.PenStyle.DashDotDotLine)

THEMES = {
    "light": {"background": "w", "foreground": "#202020"},
    "dark": {"background": "#1e1e1e", "foreground": "#d8d8d8"},
}


def task_color(index: int) -> QColor:
    return QColor(TASK_COLORS[index % len(TASK_COLORS)])


def pen(index: int, run_slot: int = 0, width: float = 2.0, alpha: int = 255,
        dash: Qt.PenStyle | None = None) -> QColor:
    color = task_color(index)
    color.setAlpha(alpha)
    p = pg.mkPen(color=color, width=width)
    p.setStyle(dash if dash is not None else RUN_DASHES[run_slot % len(RUN_DASHES)])
    p.setCosmetic(True)
    return p


def apply_theme(name: str) -> None:
    """pyqtgraph's defaults for plots created from now on."""
    theme = THEMES.get(name, THEMES["light"])
    pg.setConfigOptions(background=theme["background"], foreground=theme["foreground"],
                        antialias=True)
