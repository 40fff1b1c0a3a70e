"""A line plot that redraws from run histories: curve pooling, smoothing, hover read-out.

Subclasses only say which curves a run has (`curves`); this class keeps one PlotDataItem per
curve key, smooths step series (raw kept faint underneath), and skips the redraw entirely when no
history version and no option changed. Curves use peak downsampling and clip-to-view, so 100k+
points per task stay fluid.

Every plot of the area shows the same x range (`x_span`, held by `SharedX`): from 0 to the end
of the shown runs' data, or to a live run's planned end. The legend sits in rows under the x
axis (`legend.py`), and a flat series gets a readable y range instead of one that blows its
last-bit noise up to the plot's height.

With several runs shown the plot compares them (`compare`): colour means run (`style.RUN_COLORS`),
line style means split (training solid, validation dashed), one task at a time (the plot area's
task picker, `PlotOptions.task`), and the legend lists each run once plus a key of the line
styles, instead of runs x tasks x splits entries.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from ..run_entry import RunEntry, no_points_text
from ..smoothing import SmoothedSeries
from .budget import TimedPlotWidget
from .export_ui import add_export_action
from .legend import LegendRow
from .style import KEY_COLOR, RUN_COLORS, SPLIT_DASHES, SPLIT_NAMES, pen, restyle

EMPTY_TEXT = "press \u25b6 Start (or open a run folder):\ncurves appear here as it trains"
X_LABELS = {"step": "step", "epoch": "epoch", "time": "wall time (s)"}
X_PADDING = 0.02  # of the x span, on both sides; the same for every plot so their ranges agree
FLAT = 1e-6  # a series whose spread is below this fraction of its size is drawn as flat
FLAT_PAD = 0.1  # ... with this fraction of its value above and below (1.0 -> 0.9 .. 1.1)
READOUT_LINES = 2  # the hover read-out wraps onto at most this many lines
# Tick-label room only grows: an axis that shrank whenever its labels got shorter ("0.45" ->
# "0.5") re-laid its plot out in the middle of a paint, and every live redraw was painted twice.
STEADY_AXIS = {"autoReduceTextSpace": False}


@dataclass
class PlotOptions:
    x_mode: str = "step"  # step | epoch | time
    smoothing: float = 0.6  # EMA weight, 0 = raw
    log_y: bool = False
    task: str = ""  # the task drawn when several runs are compared ("" = each run's first)

    def key(self) -> tuple[Any, ...]:
        return (self.x_mode, self.smoothing, self.log_y, self.task)


@dataclass
class Curve:
    """One line: `smooth` curves get an EMA and a faint raw copy; `symbol` marks epoch points."""

    key: str
    name: str
    x: np.ndarray
    y: np.ndarray
    task_index: int
    run_slot: int = 0  # the run's place among the shown runs
    smooth: bool = False
    symbol: str | None = None
    dash: Qt.PenStyle | None = None
    legend: bool = True  # listed in the legend (a dashed twin of a listed curve need not be)
    extra: dict[str, Any] = field(default_factory=dict)
    task: str = ""  # the task it belongs to ("" for none: the mean of all cosine pairs)
    split: str = ""  # "train" or "val": its line style when runs are compared
    color: Any = None  # the run's QColor when runs are compared; None: the task's colour


def run_title(entry: RunEntry) -> str:
    """A run's name in a comparison legend: its label and what sets it apart (the study's
    variant, else its strategy), e.g. "run 3 pcgrad"."""
    what = str(getattr(entry, "variant", "") or entry.strategy)
    return f"{entry.label} {what}" if what else entry.label


def compare_task(runs: list[RunEntry], picked: str) -> str:
    """The task a comparison draws: the picked one if a shown run has it, else the first
    task of the first run that has any."""
    tasks = [t for r in runs for t in r.history.tasks]
    if picked in tasks:
        return picked
    return tasks[0] if tasks else ""


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


def _last(values: np.ndarray) -> list[float]:
    return [float(values[-1])] if values.size else []


def data_signature(a: np.ndarray) -> tuple[Any, ...]:
    """What tells a grown series from the one drawn before: its length and both ends (bytes,
    so NaN equals NaN). Series only ever grow (history.py), so equal signatures of the same
    curve mean equal data."""
    return (a.size, a[:1].tobytes(), a[-1:].tobytes())


def x_span(runs: list[RunEntry], mode: str) -> tuple[float, float] | None:
    """The x range every plot shows for these runs: from 0 to the furthest x any of their
    series reaches, or to a live run's planned end when that is further (time has no planned
    end). The same runs give every plot the same span; None before there is anything to show."""
    ends: list[float] = []
    for r in runs:
        h = r.history
        spe = max(1, h.steps_per_epoch)
        ends += _last(step_x(r, mode)) + _last(epoch_x(r, mode))
        if mode == "time":
            ends += _last(h.g_wall.view)
        else:
            ends += [s / spe if mode == "epoch" else s for s in _last(h.g_step.view)]
            if h.status == "running" and h.total_steps:
                ends.append(h.total_steps / spe if mode == "epoch" else float(h.total_steps))
    ends = [e for e in ends if np.isfinite(e)]
    if not ends or max(ends) <= 0:
        return None
    return (0.0, max(ends))


def _spread(values: list[np.ndarray]) -> tuple[float, float] | None:
    """(min, max) of the finite values when they are flat; None when they vary or are empty."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN series: nan, skipped
        los = [float(np.nanmin(v)) for v in values if v.size]
        his = [float(np.nanmax(v)) for v in values if v.size]
    los = [x for x in los if not np.isnan(x)]
    his = [x for x in his if not np.isnan(x)]
    if not los:
        return None
    lo, hi = min(los), max(his)  # an infinite value makes the spread infinite: not flat
    if not np.isfinite(hi - lo) or hi - lo > FLAT * max(abs(lo), abs(hi), 1e-300):
        return None
    return lo, hi


def flat_range(values: list[np.ndarray], log: bool = False) -> tuple[float, float] | None:
    """A y range for series that are (nearly) constant, None when they vary.

    Autoscaling a constant 1.0 would give a range of a few ulps and tick labels such as
    1.000000000000002; instead the value gets FLAT_PAD of itself above and below, so ticks read
    0.9 ... 1.1 (in log mode, the same in decades). Values are in view coordinates.
    """
    # A varying series (the usual case) shows it in a few dozen samples: only a series that
    # looks flat there is scanned whole, so a 200k-point plot pays microseconds for this.
    coarse = [v[:: max(1, v.size // 64)] for v in values]
    if _spread(coarse) is None or (span := _spread(values)) is None:
        return None
    lo, hi = span
    mid = (lo + hi) / 2.0
    if log:  # view coordinates are log10(y): pad by a tenth of the value in y
        return (mid + float(np.log10(1.0 - FLAT_PAD)), mid + float(np.log10(1.0 + FLAT_PAD)))
    pad = FLAT_PAD * abs(mid) if mid != 0.0 else FLAT_PAD
    return (mid - pad, mid + pad)


class SharedX:
    """Holds a view box at the x span the plot area shares; a user's own zoom or pan wins until
    the set of shown runs changes or the plot's auto-range button is pressed.

    Holders linked with `link_x` zoom together: zooming or panning x in one plot moves the
    others to the same range, and the auto-range button of any of them brings all back."""

    def __init__(self, plot: pg.PlotItem) -> None:
        self.vb = plot.getViewBox()
        self.span: tuple[float, float] | None = None
        self.user_zoomed = False  # x zoomed or panned by the user
        self.user_y = False  # y zoomed by the user: no flat-series range either
        self._setting = False
        self._runs: tuple[int, ...] = ()
        self.group: list[SharedX] = [self]
        self.vb.sigRangeChangedManually.connect(self._by_user)
        plot.autoBtn.clicked.connect(self._auto)  # after pyqtgraph's own slot: the span wins

    def apply(self, runs: list[RunEntry], mode: str) -> None:
        keys = tuple(r.uid for r in runs)
        if keys != self._runs:  # a new set of runs: forget an old zoom
            self._runs = keys
            self.user_zoomed = self.user_y = False
        if self.user_zoomed:
            return
        span = x_span(runs, mode)
        if span is None or span == self.span:
            return
        self.span = span
        self._set(span)

    def _set(self, span: tuple[float, float]) -> None:
        self._setting = True
        self.vb.setXRange(*span, padding=X_PADDING)
        self._setting = False

    def _by_user(self, mask: Any = None, *_: Any) -> None:
        if self._setting:
            return
        x_changed = mask is None or bool(mask[0])
        if mask is None or (len(mask) > 1 and mask[1]):
            self.user_y = True
        if not x_changed:
            return
        lo, hi = (float(v) for v in self.vb.viewRange()[0])
        for other in self.group:
            other.user_zoomed = True
            if other is not self:
                other._setting = True
                other.vb.setXRange(lo, hi, padding=0.0)
                other._setting = False

    def _auto(self, *_: Any) -> None:
        for other in self.group:
            other.user_zoomed = other.user_y = False
            if other.span is not None:
                other._set(other.span)


def link_x(holders: list[SharedX]) -> None:
    """Make these plots zoom and pan their x axes together (see SharedX)."""
    for h in holders:
        h.group = holders


def join_x(group: list[SharedX], new: list[SharedX]) -> None:
    """Link plots made later (`new`) to a linked `group` (none: the first plots): they take the
    group's x zoom, if the user made one, as if they had been there when it was made."""
    link_x(group + new)
    zoomed = next((h for h in group if h.user_zoomed), None)
    if zoomed is None:
        return
    lo, hi = (float(v) for v in zoomed.vb.viewRange()[0])
    for h in new:
        h.user_zoomed = True
        h._runs = zoomed._runs  # the zoom belongs to these runs: kept until they change
        h.span = zoomed.span  # the shared span under the zoom, where auto-range returns
        h._setting = True
        h.vb.setXRange(lo, hi, padding=0.0)
        h._setting = False


class SingleView:
    """The Plot protocol's answers for a plot that is one pyqtgraph view (`widget`) on one
    zoom-linked x axis (`shared_x`), with no controls of its own (catalogue.Plot)."""

    widget: Any
    shared_x: SharedX

    def views(self) -> dict[str, QWidget]:
        return {"": self}  # type: ignore[dict-item]

    def restyle(self, theme: str) -> None:
        restyle(self.widget, theme)

    def x_holders(self) -> list[SharedX]:
        return [self.shared_x]

    def controls(self) -> list[tuple[str, QWidget]]:
        return []


class CurvePlot(SingleView, QWidget):
    title = ""
    compare_title = ""  # the title's lead when runs are compared one task at a time
    y_label = ""
    supports_log = True
    fixed_y = False  # a plot with its own fixed y range (cosines) skips the flat-series range

    def __init__(self, options: PlotOptions, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.options = options
        self.widget = TimedPlotWidget(self)
        self.plot = self.widget.getPlotItem()
        self.export_action = add_export_action(self)  # right-click: Export plot…
        self.plot.setTitle(self.title)
        fit_title(self.plot)
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.setLabel("left", self.y_label)
        for axis in ("left", "bottom"):  # "metric (x0.001)" confuses more than it helps
            self.plot.getAxis(axis).enableAutoSIPrefix(False)
            # Major ticks only: the axes also draw the grid, and the minor grid lines made every
            # repaint of a live plot two to three times dearer.
            self.plot.getAxis(axis).setStyle(maxTickLevel=0, **STEADY_AXIS)
        self.plot.setLabel("bottom", X_LABELS[options.x_mode])
        self.plot.setClipToView(True)
        self.plot.setDownsampling(auto=True, mode="peak")
        self.legend = LegendRow(self.plot)
        self.readout = QLabel(" ", self)
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        wrap_label(self.readout, READOUT_LINES)
        self.readout.setStyleSheet("font-size: 9pt;")
        self.readout.setProperty("tone", "hint")  # coloured by the theme (style.py)
        self.vline = pg.InfiniteLine(angle=90, movable=False,
                                      pen=pg.mkPen((128, 128, 128, 120), width=1))
        self.vline.setVisible(False)
        self.plot.addItem(self.vline, ignoreBounds=True)
        # Before any run the plot says what will appear, instead of an empty 0..1 grid.
        self.placeholder = QLabel(EMPTY_TEXT, self.widget)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setStyleSheet("background: transparent;")
        self.placeholder.setProperty("tone", "hint")
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
        self._sigs: dict[str, tuple[Any, ...]] = {}  # "<curve key>|<part>" -> what it shows
        self._forced = True  # the redraw under way was forced: set every curve's data
        self._shown: list[Curve] = []
        self._stamp: tuple[Any, ...] = ()
        self._log = False
        self._flat_y: set[int] = set()  # view boxes held at a flat series' range
        self._key_items: dict[str, pg.PlotDataItem] = {}  # the comparison's line-style key
        self.shared_x = SharedX(self.plot)
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
        self._forced = force
        set_label(self.plot, "bottom", X_LABELS[self.options.x_mode])
        log = self.options.log_y and self.supports_log
        if log != self._log:
            self._set_log(log)
        many = len(runs) > 1
        curves = [c for slot, r in enumerate(runs) for c in self.curves(r, slot, many)]
        if many:
            curves = self._compare(runs, curves)
        self._set_compare_title(many)
        self._draw(curves)
        self._sync_key(curves if many else [])
        self.shared_x.apply(runs, self.options.x_mode)
        self._fit_flat_y()
        empty = not any(c.x.size for c in curves)
        self.placeholder.setVisible(empty)
        if empty:
            self._show_empty(runs)
        return True

    def _compare(self, runs: list[RunEntry], curves: list[Curve]) -> list[Curve]:
        """The comparison look: the picked task only, each run in its colour, splits by line
        style, the first listed curve of each run named after the run in the legend."""
        colors = RUN_COLORS.assign([r.uid for r in runs])
        by_slot = {slot: r for slot, r in enumerate(runs)}
        task = self.compared_task = compare_task(runs, self.options.task)
        out, named = [], set()
        for c in curves:
            if c.task and c.task != task:
                continue
            entry = by_slot[c.run_slot]
            c.color = RUN_COLORS.color(entry.uid) if entry.uid in colors else None
            # Another look, another item: the pen and legend entry are set when it is made.
            c.key = f"cmp{c.color.name() if c.color is not None else ''}/{c.key}"
            c.extra["compare"] = True
            c.dash = SPLIT_DASHES.get(c.split, c.dash)
            c.extra.pop("color", None)
            if c.legend and entry.uid not in named:
                named.add(entry.uid)
                c.extra["legend_name"] = run_title(entry)
            else:
                c.legend = False
            out.append(c)
        return out

    compared_task = ""  # the task the last comparison drew

    def _set_compare_title(self, many: bool) -> None:
        state = (many, self.compared_task if many else "")
        if state == self._title_state:  # (a subclass may have set a title of its own)
            return
        self._title_state = state
        title = (f"{self.compare_title or self.title} \u2014 task {state[1]}"
                 if many and state[1] else self.title)
        if self.plot.titleLabel.text != title:
            self.plot.setTitle(title)

    _title_state: tuple[bool, str] = (False, "")

    def _sync_key(self, curves: list[Curve]) -> None:
        """The line-style key of a comparison (one sample per split shown), first in the
        legend so it is never behind the legend's "+N more"; none for a single run."""
        splits = [s for s in SPLIT_DASHES if any(c.split == s for c in curves)]
        if len(splits) == 1 and splits[0] == "train":
            splits = []  # solid lines only (weights): nothing to tell apart
        for split in [s for s in self._key_items if s not in splits]:
            self.legend.removeItem(self._key_items.pop(split))
        for split in splits:
            if split not in self._key_items:
                p = pen(KEY_COLOR, 2.0, 255, SPLIT_DASHES[split])
                item = pg.PlotDataItem(pen=p, symbol="o" if split == "val" else None,
                                       symbolSize=6, symbolPen=p, symbolBrush=p.color())
                self._key_items[split] = item
                self.legend.addItem(item, SPLIT_NAMES[split])
        if splits:
            self.legend.put_first([self._key_items[s] for s in splits])

    def _set_log(self, log: bool) -> None:
        self._log = log
        self.plot.setLogMode(x=False, y=log)
        # pyqtgraph's log switch autoscales x as well: put the shared span back on next apply.
        self.shared_x.span = None

    def _show_empty(self, runs: list[RunEntry]) -> None:
        """No point to draw (a run that failed before its first step, one still preparing):
        say so over the plot and drop the axes an earlier run left behind."""
        self.placeholder.setText(no_points_text(runs[-1]) if runs else EMPTY_TEXT)
        vb = self.plot.getViewBox()
        if x_span(runs, self.options.x_mode) is None:  # nothing holds x either
            self.shared_x.span = None
            vb.setXRange(0.0, 1.0, padding=0.0)
        if not self.fixed_y:
            vb.setYRange(0.0, 1.0, padding=0.0)
            vb.enableAutoRange(y=True)  # the next run's curves scale y again

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if watched is self.widget and event.type() == QEvent.Type.Resize:
            self.placeholder.setGeometry(self.widget.rect())  # centred over the plot
        return False

    def _fit_flat_y(self) -> None:
        """A flat series gets FLAT_PAD around its value; anything else autoscales as before."""
        if self.fixed_y or self.shared_x.user_y:
            return
        for vb, curves in self._y_groups():
            # The data itself: a smoothed curve stays within its raw one's range, and is
            # exactly constant where the data is (smoothing.py).
            ys = [np.asarray(c.y, dtype=np.float64) for c in curves]
            if self._log:
                with np.errstate(divide="ignore", invalid="ignore"):
                    ys = [np.log10(np.where(y > 0, y, np.nan)) for y in ys]
            span = flat_range(ys, self._log)
            if span is not None:
                self._flat_y.add(id(vb))
                vb.setYRange(*span, padding=0.0)
            elif id(vb) in self._flat_y:
                self._flat_y.discard(id(vb))
                vb.enableAutoRange(y=True)

    def _draw(self, curves: list[Curve]) -> None:
        keys = {c.key for c in curves}
        for key in [k for k in self._items if k not in keys]:
            self._remove_item(self._items.pop(key))
            raw = self._raw.pop(key, None)
            if raw is not None:
                self.plot.removeItem(raw)
            self._smoothers.pop(key, None)
        weight = self.options.smoothing
        for key in [k for k in self._sigs if k.rsplit("|", 1)[0] not in keys]:
            del self._sigs[key]
        for curve in curves:
            item = self._items.get(curve.key)
            if item is None:
                item = self._new_item(curve)
                self._sigs.pop(f"{curve.key}|", None)
            shown = curve.y
            if curve.smooth and weight > 0:
                raw = self._raw.get(curve.key)
                if raw is None:
                    raw = self.plot.plot(pen=pen(self._color(curve), 1.0, 60, curve.dash))
                    raw.setZValue(-1)
                    self._raw[curve.key] = raw
                    self._sigs.pop(f"{curve.key}|raw", None)
                self._set_data(f"{curve.key}|raw", raw, curve.x, curve.y)
                smoother = self._smoothers.setdefault(curve.key, SmoothedSeries())
                shown = smoother.update(curve.y, weight)
            elif curve.key in self._raw:
                self.plot.removeItem(self._raw.pop(curve.key))
            self._set_data(f"{curve.key}|", item, curve.x, shown)
            curve.extra["shown_y"] = shown
        self._shown = curves

    def _set_data(self, key: str, item: pg.PlotDataItem, x: np.ndarray, y: np.ndarray) -> None:
        """`item.setData(x, y)` unless the item already shows exactly these points.

        Histories only grow, so a curve of the same run with as many points, the same ends and
        the same options is the curve already drawn: the validation curves change once an
        epoch, but their markers (a ScatterPlotItem, rebuilt point by point in Python) were
        set again on every live redraw. A forced redraw always sets the data."""
        sig = (self.options.key(), data_signature(x), data_signature(y))
        if not self._forced and self._sigs.get(key) == sig:
            return
        self._sigs[key] = sig
        item.setData(x, y)

    def _remove_item(self, item: pg.PlotDataItem) -> None:
        self.plot.removeItem(item)

    def _y_groups(self) -> list[tuple[pg.ViewBox, list[Curve]]]:
        """Each view box with the curves it shows (one, unless a subclass adds a y axis)."""
        return [(self.plot.getViewBox(), self._shown)]

    def _new_item(self, c: Curve) -> pg.PlotDataItem:
        p = pen(self._color(c), 2.0, 255, c.dash)
        if "color" in c.extra:  # a curve that is no task's (the mean of all cosine pairs)
            p.setColor(pg.mkColor(c.extra["color"]))
            p.setWidthF(2.5)
        kw: dict[str, Any] = {"pen": p,
                              "name": c.extra.get("legend_name", c.name) if c.legend else None}
        if c.symbol:
            kw.update(symbol=c.symbol, symbolSize=6, symbolPen=p, symbolBrush=p.color())
        item = self.plot.plot(**kw)
        self._items[c.key] = item
        return item

    @staticmethod
    def _color(c: Curve) -> Any:
        return c.color if c.color is not None else c.task_index

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
        self.readout.setToolTip(text if parts else "")
        return text


def set_label(plot: pg.PlotItem, side: str, text: str) -> None:
    """An axis label, set only when it changes: pyqtgraph's setLabel re-lays the axis out and
    throws its cached picture away, so a label set again on every live redraw made every axis
    regenerate its ticks and text on every paint."""
    axis = plot.getAxis(side)
    if axis.labelText != text or not axis.label.isVisible():
        plot.setLabel(side, text)


def show_axis(plot: pg.PlotItem, side: str, show: bool) -> None:
    """Show or hide an axis only when that changes (a hide or show re-lays the plot out)."""
    if plot.getAxis(side).isVisible() != show:
        plot.showAxis(side, show)


def fit_title(plot: pg.PlotItem) -> None:
    """Let a plot be narrower than its title.

    pyqtgraph makes the title's text width the minimum width of the view box's column (on
    every setText), so a long title widened its PlotItem past the widget: the right part of
    the plot, axis and legend included, was cut off. Here the title spans the whole row and
    asks for no width; a title wider than the plot itself is clipped at the plot's edges."""
    label = plot.titleLabel
    plot.layout.removeItem(label)
    plot.layout.addItem(label, 0, 0, 1, plot.layout.columnCount())
    original = label.updateMin

    def update_min() -> None:
        original()
        label.setMinimumWidth(0)

    label.updateMin = update_min
    update_min()


def wrap_label(label: QLabel, lines: int, pt: float = 9.0) -> None:
    """A status line under a plot that wraps instead of widening its plot's column.

    An unwrapped label asks the layout for its whole text's width, so a read-out naming 14
    tasks squeezed the neighbouring plots to 68 px. Wrapped, it asks for nothing sideways and
    grows to at most `lines` lines of `pt` points (the full text stays in its tooltip)."""
    font = label.font()
    font.setPointSizeF(pt)
    label.setFont(font)
    label.setWordWrap(True)
    label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    label.setMaximumHeight(label.fontMetrics().height() * lines)  # whole lines only
