"""Colours and line styles: a colour per task, a dash pattern per run, shared by every plot."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette

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


def restyle(widget: pg.PlotWidget, name: str) -> None:
    """Recolour an existing plot: background, axes, tick labels, title and legend text."""
    theme = THEMES.get(name, THEMES["light"])
    fg = theme["foreground"]
    widget.setBackground(theme["background"])
    item = widget.getPlotItem()
    for axis in ("left", "bottom", "right", "top"):
        ax = item.getAxis(axis)
        ax.setPen(fg)
        ax.setTextPen(fg)
    item.titleLabel.setText(item.titleLabel.text, color=fg)
    legend = item.legend
    if legend is not None:
        legend.setLabelTextColor(fg)
        for _, label in legend.items:  # setLabelTextColor only stores the colour
            label.setText(label.text, color=fg)
        back = QColor(theme["background"] if theme["background"] != "w" else "#ffffff")
        back.setAlpha(170)  # legends stay readable over the curves they sit on
        legend.setBrush(pg.mkBrush(back))


def app_palette(name: str) -> QPalette:
    """A Fusion palette for the whole window (light is Qt's own standard palette)."""
    from PySide6.QtWidgets import QStyleFactory

    style = QStyleFactory.create("Fusion")
    palette = style.standardPalette()
    if name != "dark":
        return palette
    role = QPalette.ColorRole
    for r, c in ((role.Window, "#2b2b2b"), (role.WindowText, "#dddddd"), (role.Base, "#1e1e1e"),
                 (role.AlternateBase, "#2f2f2f"), (role.Text, "#dddddd"),
                 (role.Button, "#353535"), (role.ButtonText, "#dddddd"),
                 (role.Highlight, "#2a6fb0"), (role.HighlightedText, "#ffffff"),
                 (role.ToolTipBase, "#353535"), (role.ToolTipText, "#dddddd"),
                 (role.PlaceholderText, "#8a8a8a"), (role.Mid, "#8a8a8a")):
        palette.setColor(r, QColor(c))
    for r in (role.WindowText, role.Text, role.ButtonText):  # disabled must look disabled
        palette.setColor(QPalette.ColorGroup.Disabled, r, QColor("#7a7a7a"))
    return palette
