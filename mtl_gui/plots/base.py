"""A line plot that redraws from run histories: curve pooling, smoothing, hover read-out.

Subclasses only say which curves a run has (`curves`); this class keeps one PlotDataItem per
curve key, smooths step series (raw kept faint underneath), and skips the redraw entirely when no
history version and no option changed. Curves use peak downsampling and clip-to-view, so 100k+
points per task stay fluid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from ..run_entry import RunEntry
from ..smoothing import SmoothedSeries
from .budget import TimedPlotWidget
from .style import pen

EMPTY_TEXT = "press \u25b6 Start (or open a run folder):\ncurves appear here as it trains"
X_LABELS = {"step": "step", "epoch": "epoch", "time": "wall time (s)"}


@dataclass
class PlotOptions:
    x_mode: str = "step"  # step | epoch | time
    smoothing: float = 0.6  # EMA weight, 0 = raw
    log_y: bool = False

    def key(self) -> tuple[Any, ...]:
        return (self.x_mode, self.smoothing, self.log_y)


@dataclass
class Curve:
    """One line: `smooth` curves get an EMA and a faint raw copy; `symbol` marks epoch points."""

    key: str
    name: str
    x: np.ndarray
    y: np.ndarray
    task_index: int
    run_slot: int = 0
    smooth: bool = False
    symbol: str | None = None
    dash: Qt.PenStyle | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def step_x(entry: RunEntry, mode: str) -> np.ndarray:
    h = entry.history
    if mode == "epoch":
        return h.step.view / max(1, h.steps_per_epoch)
    if mode == "time":
        return h.wall.view
    return h.step.view.astype(np.float64)


def epoch_x(entry: RunEntry, mode: str) -> np.ndarray:
    h = entry.history
    if mode == "epoch":
        return h.ep_index.view.astype(np.float64)
    if mode == "time":
        return h.ep_wall.view
    return h.ep_step.view.astype(np.float64)


def run_prefix(entry: RunEntry, many: bool) -> str:
    return f"{entry.label} · " if many else ""


class CurvePlot(QWidget):
    title = ""
    y_label = ""
    supports_log = True
    legend_offset = (-10, 10)  # top right; a positive y offset counts from the top

    def __init__(self, options: PlotOptions, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.options = options
        self.widget = TimedPlotWidget(self)
        self.plot = self.widget.getPlotItem()
        self.plot.setTitle(self.title)
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.setLabel("left", self.y_label)
        for axis in ("left", "bottom"):  # "metric (x0.001)" confuses more than it helps
            self.plot.getAxis(axis).enableAutoSIPrefix(False)
            # Major ticks only: the axes also draw the grid, and the minor grid lines made every
            # repaint of a live plot two to three times dearer.
            self.plot.getAxis(axis).setStyle(maxTickLevel=0)
        self.plot.setLabel("bottom", X_LABELS[options.x_mode])
        self.plot.setClipToView(True)
        self.plot.setDownsampling(auto=True, mode="peak")
        self.legend = self.plot.addLegend(offset=self.legend_offset, labelTextSize="8pt")
        self.readout = QLabel(" ", self)
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.readout.setStyleSheet("color: palette(mid); font-size: 9pt;")
        self.vline = pg.InfiniteLine(angle=90, movable=False,
                                      pen=pg.mkPen((128, 128, 128, 120), width=1))
        self.vline.setVisible(False)
        self.plot.addItem(self.vline, ignoreBounds=True)
        # Before any run the plot says what will appear, instead of an empty 0..1 grid.
        self.placeholder = QLabel(EMPTY_TEXT, self.widget)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setStyleSheet("color: gray; background: transparent;")
        self.placeholder.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.widget.installEventFilter(self)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.widget, 1)
        lay.addWidget(self.readout)
        self._items: dict[str, pg.PlotDataItem] = {}
        self._raw: dict[str, pg.PlotDataItem] = {}
        self._smoothers: dict[str, SmoothedSeries] = {}
        self._shown: list[Curve] = []
        self._stamp: tuple[Any, ...] = ()
        self._log = False
        self._held_x: float | None = None
        self._user_zoomed = False
        self._setting_range = False
        self._runs_key: tuple[int, ...] = ()
        self.plot.getViewBox().sigRangeChangedManually.connect(self._range_changed_by_user)
        self._proxy = pg.SignalProxy(self.widget.scene().sigMouseMoved, rateLimit=30,
                                     slot=self._hover)

    # ------------------------------------------------------------------ subclass API
    def curves(self, entry: RunEntry, slot: int, many: bool) -> list[Curve]:
        raise NotImplementedError

    def extra_stamp(self) -> tuple[Any, ...]:
        return ()

    # ------------------------------------------------------------------ drawing
    def refresh(self, runs: list[RunEntry], force: bool = False) -> bool:
        """Redraw if anything changed; returns True when it redrew."""
        stamp = (tuple((r.uid, r.history.version) for r in runs), self.options.key(),
                 self.extra_stamp())
        if stamp == self._stamp and not force:
            return False
        self._stamp = stamp
        self.plot.setLabel("bottom", X_LABELS[self.options.x_mode])
        log = self.options.log_y and self.supports_log
        if log != self._log:
            self._log = log
            self.plot.setLogMode(x=False, y=log)
        many = len(runs) > 1
        curves = [c for slot, r in enumerate(runs) for c in self.curves(r, slot, many)]
        self._draw(curves)
        self._hold_x_range(runs)
        self.placeholder.setVisible(not runs)
        return True

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if watched is self.widget and event.type() == QEvent.Type.Resize:
            self.placeholder.setGeometry(self.widget.rect())  # centred over the plot
        return False

    def _hold_x_range(self, runs: list[RunEntry]) -> None:
        """While a run is live, show its whole planned length on x at once.

        Autoscaling x to the growing data would change the axis on every redraw, and axis
        repaints are most of a plot's drawing cost; a fixed x range also reads better (how far
        along the run is). Time mode has no planned end, and a user's zoom always wins.
        """
        vb = self.plot.getViewBox()
        live = [r.history for r in runs if r.history.status == "running" and
                r.history.total_steps]
        mode = self.options.x_mode
        if not live or mode == "time":
            if self._held_x is not None:
                self._held_x = None
                if not self._user_zoomed:
                    vb.enableAutoRange(x=True)
            return
        keys = tuple(r.uid for r in runs)
        if keys != self._runs_key:  # a new set of runs: forget an old zoom
            self._runs_key = keys
            self._user_zoomed = False
        if self._user_zoomed:
            return
        if mode == "epoch":
            end = max(h.total_steps / max(1, h.steps_per_epoch) for h in live)
        else:
            end = float(max(h.total_steps for h in live))
        if end != self._held_x:
            self._held_x = end
            self._setting_range = True
            vb.setXRange(0.0, end, padding=0.02)
            self._setting_range = False

    def _range_changed_by_user(self) -> None:
        if not self._setting_range:
            self._user_zoomed = True

    def _draw(self, curves: list[Curve]) -> None:
        keys = {c.key for c in curves}
        for key in [k for k in self._items if k not in keys]:
            self.plot.removeItem(self._items.pop(key))
            raw = self._raw.pop(key, None)
            if raw is not None:
                self.plot.removeItem(raw)
            self._smoothers.pop(key, None)
        w = self.options.smoothing
        for c in curves:
            item = self._items.get(c.key)
            if item is None:
                item = self._new_item(c)
            y = c.y
            if c.smooth and w > 0:
                raw = self._raw.get(c.key)
                if raw is None:
                    raw = self.plot.plot(pen=pen(c.task_index, c.run_slot, 1.0, 60, c.dash))
                    raw.setZValue(-1)
                    self._raw[c.key] = raw
                raw.setData(c.x, c.y)
                y = self._smoothers.setdefault(c.key, SmoothedSeries()).update(c.y, w)
            elif c.key in self._raw:
                self.plot.removeItem(self._raw.pop(c.key))
            item.setData(c.x, y)
            c.extra["shown_y"] = y
        self._shown = curves

    def _new_item(self, c: Curve) -> pg.PlotDataItem:
        p = pen(c.task_index, c.run_slot, 2.0, 255, c.dash)
        kw: dict[str, Any] = {"pen": p, "name": c.name}
        if c.symbol:
            kw.update(symbol=c.symbol, symbolSize=6, symbolPen=p, symbolBrush=p.color())
        item = self.plot.plot(**kw)
        self._items[c.key] = item
        return item

    def clear_runs(self) -> None:
        self._draw([])
        self._stamp = ()

    # ------------------------------------------------------------------ hover
    def _hover(self, args: tuple[Any, ...]) -> None:
        pos = args[0]
        if not self.plot.sceneBoundingRect().contains(pos) or not self._shown:
            self.vline.setVisible(False)
            return
        x = float(self.plot.vb.mapSceneToView(pos).x())
        self.show_values_at(x)

    def show_values_at(self, x: float) -> str:
        """Put the cursor at `x` and list each curve's nearest value; returns the text."""
        parts = []
        for c in self._shown:
            if c.x.size == 0:
                continue
            i = int(np.clip(np.searchsorted(c.x, x), 0, c.x.size - 1))
            if i > 0 and abs(c.x[i - 1] - x) < abs(c.x[i] - x):
                i -= 1
            y = c.extra.get("shown_y", c.y)
            parts.append(f"{c.name} {float(y[i]):.4g}")
        self.vline.setPos(x)
        self.vline.setVisible(True)
        label = X_LABELS[self.options.x_mode].split(" ")[0]
        text = f"{label} {x:.4g}:  " + "   ".join(parts) if parts else " "
        self.readout.setText(text)
        return text
