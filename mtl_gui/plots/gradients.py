"""Gradient diagnostics: which tasks pull the shared parameters apart.

Fed by GradientsMeasured events: a heat map of the latest pairwise cosine matrix (red = conflict),
cosine curves per task pair with a marker wherever a pair turns negative, and per-task gradient
norms (a task with a much larger norm dominates an unweighted sum).
"""

from __future__ import annotations

import math
import re

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontMetricsF
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ..run_entry import RunEntry
from .base import Curve, CurvePlot, PlotOptions, SharedX, fit_title, run_prefix, wrap_label
from .budget import TimedPlotWidget
from .export_ui import add_export_action
from .style import restyle

TICK_PT = 8.0  # task names on the heat map's axes
VALUE_PT, MIN_VALUE_PT = 9.0, 6.0  # cell values: the largest size that fits, down to this
LEFT_LABEL_PX = 90.0  # task names on the left axis are elided to this width
COLOR_BAR_PX = 85.0  # the colour bar with its label and tick labels

NO_DATA = ("No gradient measurements in the shown run. Set training \u2192 diagnostics every N "
           "steps above 0, or pick a gradient-based strategy (MGDA, PCGrad, CAGrad...).")


def grad_x(entry: RunEntry, mode: str) -> np.ndarray:
    h = entry.history
    if mode == "epoch":
        return h.g_step.view / max(1, h.steps_per_epoch)
    if mode == "time":
        return h.g_wall.view
    return h.g_step.view.astype(np.float64)


def negative_turns(cos: np.ndarray) -> np.ndarray:
    """Indices where the cosine goes below 0 after being >= 0 (or starts below 0)."""
    neg = cos < 0
    prev = np.concatenate([[False], neg[:-1]])
    return np.flatnonzero(neg & ~prev)


def most_conflicting(series: list[np.ndarray], k: int) -> list[int]:
    """Indices of the `k` series with the lowest mean (NaN ignored), lowest first; series
    without a finite value come last, ties in their given order."""
    means = []
    for y in series:
        finite = y[np.isfinite(y)]
        means.append(float(finite.mean()) if finite.size else math.inf)
    return sorted(range(len(series)), key=lambda n: means[n])[:k]


def mean_series(series: list[np.ndarray]) -> np.ndarray:
    """The pointwise mean of equally long series over their finite values (NaN where none)."""
    if not series:
        return np.empty(0)
    stack = np.vstack(series)
    ok = np.isfinite(stack)
    count = ok.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, np.where(ok, stack, 0.0).sum(axis=0) / count, np.nan)


MAX_PAIRS = 8  # more task pairs than this: only the most conflicting ones, plus the mean of all
MEAN_COLOR = "#8c8c8c"  # the mean of all pairs: a grey dashed line (no task's colour)
TITLE = "Cosine between task gradients (\u25bc turned negative)"


class CosinePlot(CurvePlot):
    """One cosine curve per task pair. 14 tasks make 91 pairs, a tangle nobody can read: past
    MAX_PAIRS pairs only the MAX_PAIRS most conflicting ones (lowest mean cosine so far) are
    drawn, plus the mean over all pairs, unless `show_all` is set; the title says so."""

    title = TITLE
    y_label = "cosine"
    supports_log = False
    fixed_y = True  # always -1 .. 1
    show_all = False

    def __init__(self, options: PlotOptions, parent: QWidget | None = None) -> None:
        super().__init__(options, parent)
        self.plot.addItem(pg.InfiniteLine(pos=0, angle=0, pen=pg.mkPen((200, 60, 60, 150))))
        self.markers = pg.ScatterPlotItem(size=9, symbol="t", pen=pg.mkPen("#b52b27"),
                                          brush=pg.mkBrush("#d9534f"))
        self.plot.addItem(self.markers)
        self.plot.setYRange(-1, 1, padding=0.05)

    def extra_stamp(self) -> tuple[bool]:
        return (self.show_all,)

    def curves(self, entry: RunEntry, slot: int, many: bool) -> list[Curve]:
        history, pre = entry.history, run_prefix(entry, many)
        xs = grad_x(entry, self.options.x_mode)
        pairs = history.cosine_pairs()
        series = [history.cosine_series(i, j) for i, j in pairs]

        def name(i: int, j: int) -> str:
            return f"{pre}{history.tasks[i]}\u2013{history.tasks[j]}"

        self.subset = (len(pairs), len(pairs))
        if many and len(pairs) > 1:
            # Runs compared: one curve per run (colour = run), the mean over all its pairs.
            self.subset = (-1, len(pairs))
            return [Curve(f"{entry.uid}/cos/mean", f"{pre}mean of all {len(pairs)}", xs,
                          mean_series(series), 0, slot, extra={"mean": True})]
        if self.show_all or len(pairs) <= MAX_PAIRS:
            return [Curve(f"{entry.uid}/cos/{i}-{j}", name(i, j), xs, y, n, slot)
                    for n, ((i, j), y) in enumerate(zip(pairs, series))]
        # Colours by rank, so the few curves shown never share one; the rank is in the key, so
        # a pair that changes rank gets a new item in its new colour (and legend place).
        picked = most_conflicting(series, MAX_PAIRS)
        # The mean first: first in the legend (never behind its "+N more"), drawn under the
        # pairs. Its name is short, as the legend's columns are as wide as its longest name.
        out = [Curve(f"{entry.uid}/cos/mean", f"{pre}mean of all {len(pairs)}", xs,
                     mean_series(series), 0, slot, dash=Qt.PenStyle.DashLine,
                     extra={"color": MEAN_COLOR, "mean": True})]
        out += [Curve(f"{entry.uid}/cos/{rank}:{pairs[n][0]}-{pairs[n][1]}", name(*pairs[n]), xs,
                      series[n], rank, slot) for rank, n in enumerate(picked)]
        self.subset = (len(picked), len(pairs))
        return out

    subset = (0, 0)  # (pairs drawn, pairs in all) for the last shown run

    def refresh(self, runs: list[RunEntry], force: bool = False) -> bool:
        self.subset = (0, 0)
        if not super().refresh(runs, force):
            return False
        shown, total = self.subset
        title = (TITLE if shown == total else
                 f"Cosine: mean of each run's {total} task pairs" if shown < 0 else
                 f"Cosine: the {shown} most conflicting of {total} task pairs (\u25bc negative)")
        if self.plot.titleLabel.text != title:
            self.plot.setTitle(title)
        xs, ys = [], []
        for c in self._shown:
            if c.extra.get("mean"):
                continue  # the mean marks no pair's turn
            idx = negative_turns(c.y)
            xs.append(c.x[idx])
            ys.append(c.y[idx])
        mx = np.concatenate(xs) if xs else np.empty(0)
        my = np.concatenate(ys) if ys else np.empty(0)
        marks = (mx.tobytes(), my.tobytes())  # a handful of points: compare them all
        if force or marks != self._marks:  # (a scatter item rebuilds every point in Python)
            self._marks = marks
            self.markers.setData(mx, my)
        return True

    _marks: tuple[bytes, bytes] = (b"", b"")


class NormPlot(CurvePlot):
    title = "Gradient norm per task"
    compare_title = "Gradient norm"
    y_label = "norm"

    def curves(self, entry: RunEntry, slot: int, many: bool) -> list[Curve]:
        h, pre = entry.history, run_prefix(entry, many)
        x = grad_x(entry, self.options.x_mode)
        return [Curve(f"{entry.uid}/norm/{t}", f"{pre}{t}", x, h.g_norm[t].view, k, slot,
                      task=t) for k, t in enumerate(h.tasks)]


class ConflictMap(QWidget):
    """The latest cosine matrix as a red (conflict) to blue (agreement) heat map."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.widget = TimedPlotWidget(self)
        self.plot = self.widget.getPlotItem()
        self.export_action = add_export_action(self)  # right-click: Export plot…
        self.plot.setTitle("Gradient conflict (latest)")
        self.plot.setAspectLocked(True)
        self.plot.invertY(True)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.image = pg.ImageItem()
        self.image.setColorMap(_diverging())
        self.image.setLevels((-1, 1))
        self.plot.addItem(self.image)
        self.bar = pg.ColorBarItem(values=(-1, 1), colorMap=self.image.getColorMap(),
                                   interactive=False, width=12, label="cosine")
        self.bar.setImageItem(self.image, insert_in=self.plot)
        # The bar's own layout does not ask for room: squeezed by long task names, its tick
        # labels slid over its colours. Its label, bar and tick labels need about this much.
        self.bar.setMinimumWidth(COLOR_BAR_PX)
        # (after the bar: the title then spans its columns too) With the title's width as the
        # map's minimum, long task names on the left axis pushed the bar off the right edge.
        fit_title(self.plot)
        self._labels: list[pg.TextItem] = []
        self.caption = QLabel(" ", self)
        self.caption.setStyleSheet("font-size: 9pt;")
        self.caption.setProperty("tone", "hint")  # coloured by the theme (style.py)
        wrap_label(self.caption, 3)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.widget, 1)
        lay.addWidget(self.caption)
        self.matrix = np.empty((0, 0))
        self.tasks: list[str] = []
        self._caption = ""
        self.tick_font = QFont(self.font())
        self.tick_font.setPointSizeF(TICK_PT)
        for axis in ("bottom", "left"):
            # pyqtgraph draws ticks 5 px into the view by default: over the first row/column of
            # cells a tick mark read as a minus sign ("-1.00" for 1.00). Outward ticks instead.
            self.plot.getAxis(axis).setStyle(tickFont=self.tick_font, tickLength=4)
        self.tick_labels: list[str] = []  # what the bottom axis shows under each column
        self.left_labels: list[str] = []  # ... and the left axis beside each row
        self.value_pt = 0.0  # point size of the numbers in the cells; 0 when they do not fit
        self.plot.getViewBox().sigResized.connect(lambda *_: self._fit_labels())

    def show_matrix(self, tasks: list[str], matrix: np.ndarray, caption: str) -> None:
        self.matrix = matrix
        self.tasks = list(tasks)
        self._caption = caption
        self.image.setImage(np.nan_to_num(matrix.T), levels=(-1, 1))
        for item in self._labels:
            self.plot.removeItem(item)
        self._labels = []
        n = len(tasks)
        for i in range(n):
            for j in range(n):
                text = pg.TextItem(f"{matrix[i, j]:.2f}", anchor=(0.5, 0.5),
                                   color="w" if abs(matrix[i, j]) > 0.6 else "k")
                text.setPos(j + 0.5, i + 0.5)
                self.plot.addItem(text)
                self._labels.append(text)
        self.plot.setRange(xRange=(0, n), yRange=(0, n), padding=0)
        self._fit_labels()

    def restyle_bar(self, theme: str) -> None:
        """The colour bar's axes in the theme's text colour (restyle() knows only the plot's
        own axes: after a theme switch the bar's labels kept the old colour, dark on dark)."""
        from .style import THEMES

        fg = THEMES.get(theme, THEMES["light"])["foreground"]
        for key in ("left", "right", "top", "bottom"):
            axis = self.bar.getAxis(key)
            axis.setPen(fg)
            axis.setTextPen(fg)

    def _set_tick_pt(self, pt: float) -> None:
        self.tick_font = QFont(self.tick_font)
        self.tick_font.setPointSizeF(pt)
        for axis in ("bottom", "left"):
            self.plot.getAxis(axis).setStyle(tickFont=self.tick_font)

    def cell_px(self) -> float:
        """The side of one cell on screen (the aspect is locked: cells are square)."""
        vb = self.plot.getViewBox()
        n = max(1, len(self.tasks))
        (x0, x1), (y0, y1) = vb.viewRange()
        per_x = vb.width() / max(1e-9, x1 - x0)
        per_y = vb.height() / max(1e-9, y1 - y0)
        return float(min(per_x, per_y)) if n else 0.0

    def _fit_labels(self) -> None:
        """Task names and cell values sized to the cells they label.

        With 14 tasks a cell is some 25 px wide: names are elided to the cell's width (or, when
        not even two letters fit, replaced by the numbers the left axis gives them) and the
        values shrink with the cells until they no longer fit, then hide."""
        tasks, cell = self.tasks, self.cell_px()
        if not tasks:
            self.tick_labels, self.left_labels = [], []
            for axis in ("bottom", "left"):
                self.plot.getAxis(axis).setTicks([[]])
            return
        font = QFont(self.tick_font)
        font.setPointSizeF(TICK_PT)
        fm = QFontMetricsF(font)
        room = cell - 4.0
        bottom = [fm.elidedText(t, Qt.TextElideMode.ElideRight, room) for t in tasks]
        # Numbers instead when an elided name keeps under three letters or two names elide alike
        # ("task_a…" and "task_a…" say nothing).
        numbered = (len(set(bottom)) < len(bottom) or
                    any(len(b.rstrip("\u2026")) < min(3, len(t)) for b, t in zip(bottom, tasks)))
        pt = TICK_PT
        if numbered:
            bottom = [str(k + 1) for k in range(len(tasks))]
            # Even numbers need room: "14" at 8 pt is 14 px; shrink the axis font down to 6 pt,
            # and below that label every other (third...) column only.
            while pt > MIN_VALUE_PT and fm.horizontalAdvance(bottom[-1]) > room:
                pt -= 0.5
                font.setPointSizeF(pt)
                fm = QFontMetricsF(font)
            every = max(1, math.ceil(fm.horizontalAdvance(bottom[-1]) / max(1.0, cell)))
            if every > 1:
                bottom = [b if k % every == 0 else "" for k, b in enumerate(bottom)]
        if pt != self.tick_font.pointSizeF():
            self._set_tick_pt(pt)
        left = [fm.elidedText(t, Qt.TextElideMode.ElideRight, LEFT_LABEL_PX) for t in tasks]
        if numbered:  # the left axis is the key: "3 depth" under column 3 ...
            # ... but "3 t3" says it twice: a name that ends in its own number is its key.
            left = [name if _ends_with_number(t, k + 1) else f"{k + 1} {name}"
                    for k, (t, name) in enumerate(zip(tasks, left))]
        self.tick_labels = bottom
        self.left_labels = left
        self.plot.getAxis("bottom").setTicks([[(k + 0.5, b) for k, b in enumerate(bottom)]])
        self.plot.getAxis("left").setTicks([[(k + 0.5, b) for k, b in enumerate(left)]])
        self.caption.setText(self._caption)  # (numbered columns: the left axis is the key)
        self.value_pt = 0.0
        pt = VALUE_PT
        font = QFont(self.tick_font)
        while pt >= MIN_VALUE_PT:
            font.setPointSizeF(pt)
            if QFontMetricsF(font).horizontalAdvance("-0.00") <= 0.9 * cell:
                self.value_pt = pt
                break
            pt -= 0.5
        for text in self._labels:
            text.setVisible(self.value_pt > 0)
            if self.value_pt > 0:
                text.setFont(font)


def _ends_with_number(name: str, number: int) -> bool:
    digits = re.search(r"(\d+)$", name)
    return digits is not None and int(digits.group(1)) == number


def _diverging() -> pg.ColorMap:
    # Red for conflict (-1), white for orthogonal, blue for agreement (+1); built in, since
    # matplotlib's maps would need matplotlib.
    return pg.ColorMap([0.0, 0.5, 1.0], [(178, 24, 43), (247, 247, 247), (33, 102, 172)])


class GradientPanel(QWidget):
    """The conflict heat map beside the cosine and norm curves."""

    def __init__(self, options: PlotOptions, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.heat = ConflictMap(self)
        self.cosine = CosinePlot(options, self)
        self.norms = NormPlot(options, self)
        self.hint = QLabel(NO_DATA, self)
        self.hint.setWordWrap(True)
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        right = QSplitter(Qt.Orientation.Vertical, self)
        right.addWidget(self.cosine)
        right.addWidget(self.norms)
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(self.heat)
        split.addWidget(right)
        split.setSizes([380, 700])
        self.split = split
        self._split_for = 0  # the task count the split was last sized for
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        # Past MAX_PAIRS pairs the cosine plot draws the most conflicting ones; this shows all.
        self.all_pairs = QCheckBox("all pairs", self)
        self.all_pairs.setToolTip(f"draw every task pair's cosine, not only the {MAX_PAIRS} "
                                  "most conflicting ones and the mean of all")
        self.all_pairs.setVisible(False)
        self.all_pairs.toggled.connect(self._all_pairs)
        self._last: list[RunEntry] = []
        top = QHBoxLayout()
        top.addWidget(self.hint, 1)
        top.addWidget(self.all_pairs)
        lay.addLayout(top)
        lay.addWidget(split, 1)
        self._version: tuple[int, int] | None = None

    # ------------------------------------------------------------------ the Plot protocol
    def views(self) -> dict[str, QWidget]:
        return {"conflict": self.heat, "cosine": self.cosine, "norms": self.norms}

    def restyle(self, theme: str) -> None:
        for view in self.views().values():
            restyle(view.widget, theme)
        self.heat.restyle_bar(theme)

    def x_holders(self) -> list[SharedX]:
        return [self.cosine.shared_x, self.norms.shared_x]

    def controls(self) -> list[tuple[str, QWidget]]:
        return []

    def _all_pairs(self, on: bool) -> None:
        self.cosine.show_all = on
        self.refresh(self._last, True)

    def refresh(self, runs: list[RunEntry], force: bool = False) -> bool:
        self._last = list(runs)
        drew = self.cosine.refresh(runs, force)
        pairs = max((len(r.history.cosine_pairs()) for r in runs), default=0)
        self.all_pairs.setVisible(pairs > MAX_PAIRS)
        self.norms.refresh(runs, force)
        entry = runs[-1] if runs else None
        has = bool(entry and entry.history.g_cosine)
        self.hint.setVisible(not has)
        if entry is not None and has:
            key = (entry.uid, len(entry.history.g_cosine))
            if key != self._version or force:
                self._version = key
                h = entry.history
                self._size_split(len(h.tasks))
                self.heat.show_matrix(h.tasks, h.g_cosine[-1],
                                      f"{entry.label}, step {int(h.g_step.view[-1])}")
        elif self.heat.matrix.size:  # the shown run measured nothing: no older run's matrix
            self._version = None
            self.heat.show_matrix([], np.empty((0, 0)), "")
            self.heat.caption.setText(" ")
        return drew

    def _size_split(self, n: int) -> None:
        """Half the width for the heat map from 7 tasks on (its cells shrink as 1/n), a third
        below; only when the task count changes, so a splitter the user moved stays put."""
        if n == self._split_for:
            return
        self._split_for = n
        total = sum(self.split.sizes()) or 1080
        left = int(total * (0.5 if n > 6 else 0.35))
        self.split.setSizes([left, total - left])
