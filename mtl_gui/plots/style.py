"""Colours and line styles shared by every plot.

One run shown: colour means task. Several runs shown: colour means run (each shown run keeps a
colour slot of its own, `RUN_COLORS`, which the runs table's swatches read too) and the line
style means split: training solid, validation dashed.
"""

from __future__ import annotations

import itertools

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette, QPen
from PySide6.QtWidgets import QWidget

# 24 task colours. The first six are Okabe-Ito's (distinguishable for colour-blind readers);
# the rest were picked greedily, each the sRGB colour farthest (CIEDE2000) from those before it,
# among colours with a contrast of at least 2:1 on the light plot background and 3:1 on the dark
# one and a chroma of at least 25 (no greys). Any two of the first 20 differ by a CIEDE2000
# distance of 17 or more (tests/gui/test_plots_agree.py checks it), so 14+ tasks stay apart.
TASK_COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#960FFF",
               "#78691E", "#A5C32D", "#D2003C", "#FF9687", "#9687FF", "#2D7800", "#786996",
               "#007878", "#2DC3C3", "#A59669", "#FF00FF", "#C31E87", "#00D25A", "#A5695A",
               "#B4A5D2", "#96B487", "#FF2D78")
# The same 24 colours mean runs when several are shown: they were chosen to stay apart from each
# other and readable on both themes, whatever they label. Past 24 shown runs the slots wrap.
RUN_COLORS_HEX = TASK_COLORS
SPLIT_DASHES = {"train": Qt.PenStyle.SolidLine, "val": Qt.PenStyle.DashLine}
SPLIT_NAMES = {"train": "train", "val": "validation"}
KEY_COLOR = "#8c8c8c"  # the style key's samples: no run's colour, readable on both themes

# background/foreground: the plots'; hint/error: the text tones of labels that set the dynamic
# property "tone" (see app_style_sheet). Every text colour here and in PALETTE_ROLES has a WCAG
# contrast of at least 4.5:1 on the backgrounds it is drawn on (tests/gui/test_desktop.py); the
# dark hint is that light because Fusion paints tab panes lighter than Button (#434343 here).
THEMES = {
    "light": {"background": "w", "foreground": "#202020", "hint": "#5c5c5c", "error": "#b52b27"},
    "dark": {"background": "#1e1e1e", "foreground": "#d8d8d8", "hint": "#b4b4b4",
             "error": "#ff8a80"},
}


def task_color(index: int) -> QColor:
    return QColor(TASK_COLORS[index % len(TASK_COLORS)])


def run_color(slot: int) -> QColor:
    return QColor(RUN_COLORS_HEX[slot % len(RUN_COLORS_HEX)])


def pen(color: int | QColor, width: float = 2.0, alpha: int = 255,
        dash: Qt.PenStyle | None = None) -> QPen:
    """A cosmetic pen: `color` a task index (one run shown) or a colour (a run's, the key's)."""
    color = task_color(color) if isinstance(color, int) else QColor(color)
    color.setAlpha(alpha)
    p = pg.mkPen(color=color, width=width)
    p.setStyle(dash if dash is not None else Qt.PenStyle.SolidLine)
    p.setCosmetic(True)
    return p


class RunColors:
    """A colour slot per shown run, sticky: a run keeps its slot while it stays shown, and gets
    its old one back when it is shown again and the slot is free; a newly shown run takes the
    lowest free slot. So ticking a run in the table never recolours the runs already drawn.

    The plots and the runs table both call `assign` with the shown runs, in any order and any
    number of times: the same shown runs always give the same answer."""

    def __init__(self) -> None:
        self._shown: dict[int, int] = {}  # uid -> slot of the runs shown at the last assign
        self._last: dict[int, int] = {}  # uid -> the slot a run had when last shown

    def assign(self, uids: list[int]) -> dict[int, int]:
        wanted = set(uids)
        slots = {u: s for u, s in self._shown.items() if u in wanted}
        used = set(slots.values())
        for u in uids:
            if u in slots:
                continue
            old = self._last.get(u)
            slot = old if old is not None and old not in used else next(
                i for i in itertools.count() if i not in used)
            slots[u] = slot
            used.add(slot)
        self._shown = slots
        self._last.update(slots)
        return dict(slots)

    def color(self, uid: int) -> QColor | None:
        """The colour of a run as last assigned; None when it is not shown."""
        slot = self._shown.get(uid)
        return None if slot is None else run_color(slot)


RUN_COLORS = RunColors()  # one for the app: the plots and the runs table must agree


_current = {"theme": "light"}


def apply_theme(name: str) -> None:
    """pyqtgraph's defaults for plots created from now on, and the theme `tone` answers for."""
    _current["theme"] = name if name in THEMES else "light"
    theme = THEMES[_current["theme"]]
    pg.setConfigOptions(background=theme["background"], foreground=theme["foreground"],
                        antialias=True)


def tone(name: str) -> QColor:
    """A text tone ("hint", "error") of the current theme, for text a style sheet cannot reach
    (table items); whoever paints with it repaints when the theme changes."""
    return QColor(THEMES[_current["theme"]][name])


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


# Roles set on top of Fusion's standard (light) palette, for all colour groups, then the
# Disabled group's own. Fusion's light defaults that fail 4.5:1 are replaced too: the
# half-transparent black placeholder text (4.0:1), white on its highlight (3.7:1) and the
# disabled text (#bebebe on #efefef, 1.6:1). Disabled text stays visibly dimmer than the rest.
PALETTE_ROLES: dict[str, dict[str, tuple[tuple[str, str], ...]]] = {
    "light": {
        "all": (("PlaceholderText", "#5c5c5c"), ("Highlight", "#2a6fb0"),
                ("HighlightedText", "#ffffff"), ("Link", "#0b57a4"), ("LinkVisited", "#6a3d9a")),
        "disabled": (("WindowText", "#6b6b6b"), ("Text", "#6b6b6b"), ("ButtonText", "#6b6b6b"),
                     ("Highlight", "#6b6b6b")),
    },
    "dark": {
        "all": (("Window", "#2b2b2b"), ("WindowText", "#dddddd"), ("Base", "#1e1e1e"),
                ("AlternateBase", "#2f2f2f"), ("Text", "#dddddd"), ("Button", "#353535"),
                ("ButtonText", "#dddddd"), ("BrightText", "#ffffff"), ("Highlight", "#2a6fb0"),
                ("HighlightedText", "#ffffff"), ("ToolTipBase", "#353535"),
                ("ToolTipText", "#dddddd"), ("PlaceholderText", "#a0a0a0"), ("Mid", "#8a8a8a"),
                ("Light", "#4a4a4a"), ("Midlight", "#3e3e3e"), ("Dark", "#1b1b1b"),
                ("Shadow", "#0f0f0f"), ("Link", "#7fb4ff"), ("LinkVisited", "#c9a0ff")),
        # A disabled button recedes: a face darker than an enabled one's, dimmer text. Fusion
        # paints a face lighter than Button (#353535 comes out #414141), so the contrast is
        # measured on the drawn button (tests/gui/test_feedback.py), not on the palette alone.
        "disabled": (("WindowText", "#a0a0a0"), ("Text", "#a0a0a0"), ("ButtonText", "#acacac"),
                     ("Button", "#2e2e2e"), ("Highlight", "#4a4a4a")),
    },
}


def app_palette(name: str) -> QPalette:
    """A Fusion palette for the whole window: Fusion's standard one with PALETTE_ROLES on top."""
    from PySide6.QtWidgets import QStyleFactory

    style = QStyleFactory.create("Fusion")
    palette = style.standardPalette()
    roles = PALETTE_ROLES.get(name, PALETTE_ROLES["light"])
    for role, color in roles["all"]:
        palette.setColor(getattr(QPalette.ColorRole, role), QColor(color))
    for role, color in roles["disabled"]:
        palette.setColor(QPalette.ColorGroup.Disabled, getattr(QPalette.ColorRole, role),
                         QColor(color))
    return palette


def app_style_sheet(name: str) -> str:
    """The application style sheet: colours for labels marked with a "tone" property (hint,
    error), so they follow the theme; a widget's own style sheet could not, as Qt resolves its
    colours (palette(...) included) once, when it first polishes the widget."""
    theme = THEMES.get(name, THEMES["light"])
    return (f'*[tone="hint"] {{ color: {theme["hint"]}; }}\n'
            f'*[tone="error"] {{ color: {theme["error"]}; }}\n')


_FUSION_SET = "mtl_fusion_set"  # an application property: the Fusion style is in place
_THEME_SET = "mtl_theme_set"  # an application property: the theme its palette and sheet show


def apply_app_theme(name: str) -> None:
    """The theme for the whole application at once: plots created from now on, the Fusion
    style, its palette and the tone style sheet (which repolishes every widget). Open windows
    recolour their existing plots themselves (their `set_theme`)."""
    from PySide6.QtWidgets import QApplication

    apply_theme(name)
    app = QApplication.instance()
    if isinstance(app, QApplication):
        # Once per application: with a style sheet set, app.style() is Qt's QStyleSheetStyle,
        # whose name() is "", so asking the name would call setStyle on every theme change;
        # that deletes the style every widget holds and re-polishes them all, and it crashed
        # Qt (a segfault in setStyle's notifications) once many windows had come and gone.
        if not app.property(_FUSION_SET):
            if app.style().name().lower() != "fusion":
                app.setStyle("Fusion")
            app.setProperty(_FUSION_SET, True)
        # Setting the same sheet again re-polishes every widget of the application (0.25 s
        # and more, growing with the widgets alive) for nothing: a new window is polished with
        # the sheet in place when it is first shown.
        sheet = app_style_sheet(name)
        if app.property(_THEME_SET) == name and app.styleSheet() == sheet:
            return
        app.setPalette(app_palette(name))
        app.setStyleSheet(sheet)
        app.setProperty(_THEME_SET, name)


def set_tone(widget: QWidget, name: str) -> None:
    """Give a widget the text tone `name` ("hint", "error"; "" for the plain text colour) from
    the app style sheet, now and after theme switches; Qt matches a property selector only when
    it polishes, so a tone that changes while the widget is shown is re-polished here."""
    if (widget.property("tone") or "") == name:
        return
    widget.setProperty("tone", name)
    widget.style().unpolish(widget)
    widget.style().polish(widget)
    widget.update()
