"""Plots that agree with each other: one x range and one snapshot of the run for every plot, flat
lines for constant series, metric directions on labelled axes, legends beside the data, and a
layout that stays legible with 14 tasks."""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
import pytest
from conftest import fake_events
from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor, QFontMetricsF

import mtl_engine.events as ev
from mtl_gui.history import RunHistory, history_from_events
from mtl_gui.plots.area import PlotArea
from mtl_gui.plots.base import X_PADDING, flat_range, x_span
from mtl_gui.plots.curves import higher_is_better
from mtl_gui.plots.style import TASK_COLORS, THEMES
from mtl_gui.run_entry import RunEntry
from mtl_gui.smoothing import SmoothedSeries, ema_debiased

TASKS14 = tuple(f"task_{chr(97 + k)}_segment" for k in range(14))
EPOCHS, SPE, SECONDS = 4, 50, 0.02  # 200 planned steps, 0.02 s each


def _events(tasks: tuple[str, ...] = ("left", "right")) -> list[ev.Event]:
    return fake_events(tasks=tasks, epochs=EPOCHS, steps_per_epoch=SPE, log_every=5,
                       grads_every=10, seconds_per_step=SECONDS)


def _area(qtbot, runs: list[RunEntry], size: tuple[int, int] = (1000, 700)) -> PlotArea:  # noqa: ANN001
    area = PlotArea(lambda: runs)
    area.timer.stop()  # the tests drive the ticks
    qtbot.addWidget(area)
    area.resize(*size)
    area.show()
    return area


def _curve_plots(area: PlotArea) -> dict[str, object]:
    """Every plot with an x axis shared with the others (all but the heat map)."""
    return {k: p for k, p in area.plots().items() if hasattr(p, "shared_x")}


def _x_range(plot) -> tuple[float, float]:  # noqa: ANN001
    lo, hi = plot.plot.getViewBox().viewRange()[0]
    return float(lo), float(hi)


def _last_x(item) -> float:  # noqa: ANN001
    x, _ = item.getOriginalDataset()
    return float(x[-1])


def _padded(lo: float, hi: float) -> tuple[float, float]:
    pad = (hi - lo) * X_PADDING
    return lo - pad, hi + pad


def _step_curves(area: PlotArea, uid: int) -> dict[str, float]:
    """The last x of each per-step curve: loss, weights, shares (all three plots)."""
    return {"loss": _last_x(area.loss_plot._items[f"{uid}/train/left"]),
            "weights": _last_x(area.weight_plot._items[f"{uid}/w/left"]),
            "shares": _last_x(area.share_plot._edges[0])}


# ---------------------------------------------------------------------- one x range


@pytest.mark.parametrize("mode", ["step", "epoch", "time"])
def test_every_plot_shows_one_x_range_live_and_after(qtbot, mode: str) -> None:
    events = _events()
    history = RunHistory()
    entry = RunEntry(1, {}, history)
    live_part = events[: len(events) // 2]  # half-way: 100 of 200 steps logged, 2 epochs done
    history.feed_all(live_part)
    area = _area(qtbot, [entry])
    area.set_options(mode, 0.6, False)
    area.refresh_all()
    last_step = history.last_step
    assert history.status == "running" and last_step < 199
    planned = {"step": 200.0, "epoch": 4.0, "time": None}[mode]
    data_end = {"step": float(history.ep_step.view[-1]), "epoch": float(history.ep_index.view[-1]),
                "time": float(history.wall.view[-1])}[mode]
    want = _padded(0.0, planned if planned is not None else max(data_end, history.seconds))
    for name, plot in _curve_plots(area).items():
        assert _x_range(plot) == pytest.approx(want), name
    # Every per-step curve ends at the same x, the last logged step in this mode's units.
    step_end = {"step": last_step, "epoch": last_step / SPE,
                "time": (last_step + 1) * SECONDS}[mode]
    assert _step_curves(area, entry.uid) == pytest.approx(dict.fromkeys(
        ("loss", "weights", "shares"), step_end))

    history.feed_all(events[len(live_part):])  # the run completes
    assert history.status == "completed"
    area.refresh_all()
    end = {"step": 200.0, "epoch": 4.0, "time": 200 * SECONDS}[mode]
    for name, plot in _curve_plots(area).items():
        # after the run too: from 0 (not from the first epoch's point) to the end of the data
        assert _x_range(plot) == pytest.approx(_padded(0.0, end)), name
    metric_x = _last_x(next(iter(area.metric_plot._items.values())))
    assert metric_x == pytest.approx(end)  # the last validation point closes the range
    step_end = {"step": 199.0, "epoch": 199 / SPE, "time": 200 * SECONDS}[mode]
    assert _step_curves(area, entry.uid) == pytest.approx(dict.fromkeys(
        ("loss", "weights", "shares"), step_end))


def test_shares_keep_the_planned_length_while_live(qtbot) -> None:
    history = RunHistory()
    events = _events()
    history.feed_all(events[:5])  # RunStarted and the first 20 steps
    area = _area(qtbot, [RunEntry(1, {}, history)])
    area.refresh(force=True)
    for plot in (area.share_plot, area.loss_plot, area.weight_plot, area.metric_plot):
        assert _x_range(plot) == pytest.approx(_padded(0.0, 200.0))


def test_x_span_by_hand() -> None:
    h = history_from_events(_events()[:10])  # steps 0..29, the gradient at step 29 measured
    r = RunEntry(1, {}, h)
    assert h.last_step == 29 and h.status == "running"
    assert x_span([r], "step") == (0.0, 200.0)  # the planned end, while live
    assert x_span([r], "epoch") == (0.0, 4.0)
    assert x_span([r], "time") == pytest.approx((0.0, 30 * SECONDS))  # no planned end in time
    h.feed(ev.RunFinished("stopped", 30, 0, 0.6, {}))
    assert x_span([r], "step") == (0.0, 29.0)  # stopped: the data's own end
    assert x_span([], "step") is None


def test_a_redraw_cycle_draws_every_plot_from_one_snapshot(qtbot) -> None:
    """Each tick that finds new data draws every plot from one snapshot: no plot shows more
    (or fewer) steps than another, whenever events arrive."""
    events = _events()
    steps = [i for i, e in enumerate(events) if isinstance(e, ev.StepsLogged)]
    history = RunHistory()
    entry = RunEntry(1, {}, history)
    history.feed_all(events[: steps[3] + 1])  # steps 0..19
    area = _area(qtbot, [entry])
    area.refresh(force=True)
    assert set(_step_curves(area, entry.uid).values()) == {19.0}
    history.feed_all(events[steps[3] + 1: steps[4] + 1])  # step 24 arrives
    area.refresh()  # a tick: a new frame (up to step 24), drawn by every plot
    assert _step_curves(area, entry.uid) == {"loss": 24.0, "weights": 24.0, "shares": 24.0}
    history.feed_all(events[steps[4] + 1: steps[6] + 1])  # steps 25..34 arrive
    area.refresh()  # the next tick: a new frame with step 34, again in every plot
    assert set(_step_curves(area, entry.uid).values()) == {34.0}
    for _ in range(3):  # nothing new: nothing moves
        area.refresh()
    assert set(_step_curves(area, entry.uid).values()) == {34.0}
    # the snapshot is read-only and shares the live buffers' data without copying it
    snap = area.frame()[0].history
    assert snap.last_step == 34 and history.last_step == 34
    with pytest.raises(TypeError):
        snap.step.append(1)


# ---------------------------------------------------------------------- constant series


def _equal_weights(events: list[ev.Event]) -> list[ev.Event]:
    """Equal weighting: every task's weight is exactly 1.0 at every step."""
    out = []
    for e in events:
        if isinstance(e, ev.StepsLogged):
            ones = {t: (1.0,) * len(e.steps) for t in e.weights}
            weighted = {t: e.losses[t] for t in e.losses}
            e = dataclasses.replace(e, weights=ones, weighted=weighted)
        out.append(e)
    return out


@pytest.mark.parametrize("w", [0.3, 0.6, 0.9, 0.99, 0.999])
def test_smoothing_a_constant_gives_exactly_the_constant(w: float) -> None:
    for c in (1.0, 0.7, 1e-3, 250.0):
        assert np.all(ema_debiased(np.full(3000, c), w) == c)
        s = SmoothedSeries()  # incremental tails give the same exact constant
        s.update(np.full(700, c), w)
        assert np.all(s.update(np.full(3000, c), w) == c)
    # and the smoothing itself is unchanged: hand-computed debiased EMA of 1, 2, 4
    m1 = (1 - w) * 1
    m2 = w * m1 + (1 - w) * 2
    m3 = w * m2 + (1 - w) * 4
    want = [m1 / (1 - w), m2 / (1 - w**2), m3 / (1 - w**3)]
    assert ema_debiased(np.array([1.0, 2.0, 4.0]), w) == pytest.approx(want, rel=1e-12)


def test_constant_weights_draw_flat_with_readable_ticks(qtbot) -> None:
    entry = RunEntry(1, {}, history_from_events(_equal_weights(_events())))
    area = _area(qtbot, [entry])
    area.refresh(force=True)
    plot = area.weight_plot
    for key, item in plot._items.items():
        _, y = item.getOriginalDataset()
        assert np.all(y == 1.0), key  # exactly 1.0: no 1.000000000000002, no zig-zag
        _, raw = plot._raw[key].getOriginalDataset()
        assert np.all(raw == 1.0)
    lo, hi = plot.plot.getViewBox().viewRange()[1]
    assert (lo, hi) == pytest.approx((0.9, 1.1))
    axis = plot.plot.getAxis("left")
    labels = [s for spacing, values in axis.tickValues(lo, hi, 200)
              for s in axis.tickStrings(values, 1.0, spacing)]
    assert len(labels) >= 3 and 1.0 in [float(s) for s in labels]
    for s in labels:
        assert len(s) <= 4 and 0.9 <= float(s) <= 1.1, s  # 0.90, 0.95, 1.00, 1.05 ...
    # the log axis pads in decades the same way, and a varying series still autoscales
    area.log_box.setChecked(True)
    lo, hi = plot.plot.getViewBox().viewRange()[1]
    assert (10**lo, 10**hi) == pytest.approx((0.9, 1.1))
    assert flat_range([np.array([1.0, 1.5])]) is None
    assert flat_range([np.array([0.0, 0.0])]) == (-0.1, 0.1)
    assert flat_range([np.array([np.nan, 2.0, 2.0])]) == pytest.approx((1.8, 2.2))  # gaps
    assert flat_range([np.array([1.0, np.inf])]) is None
    assert flat_range([np.full(3, np.nan)]) is None
    # a long series that varies only far from its start is still seen to vary
    late = np.ones(100_000)
    late[-1] = 2.0
    assert flat_range([late]) is None


# ---------------------------------------------------------------------- metric directions


def _mixed_directions() -> list[ev.Event]:
    """A classification task (accuracy, higher is better) and a regression one (MAE, lower)."""
    out = []
    for e in _events(("digit", "depth")):
        if isinstance(e, ev.RunStarted):
            depth = ev.TaskInfo("depth", "regression", 1, "mse", "mae", False, ("mae", "mse"))
            e = dataclasses.replace(e, tasks=(e.tasks[0], depth))
        elif isinstance(e, ev.EpochEnded):
            mae = 1.0 / e.epoch
            metrics = dict(e.val_metrics, depth={"mae": mae, "mse": mae * mae})
            e = dataclasses.replace(e, val_metrics=metrics)
        out.append(e)
    return out


def test_higher_and_lower_is_better_metrics_get_their_own_labelled_axes(qtbot) -> None:
    entry = RunEntry(1, {}, history_from_events(_mixed_directions()))
    area = _area(qtbot, [entry])
    area.refresh(force=True)
    mp = area.metric_plot
    assert higher_is_better(entry, "digit", "accuracy")
    assert not higher_is_better(entry, "depth", "mae")
    assert not higher_is_better(entry, "depth", "mse")  # not a headline: the engine's registry
    assert higher_is_better(entry, "digit", "f1")
    left = mp.plot.getAxis("left").labelText
    right = mp.plot.getAxis("right")
    assert "accuracy" in left and "higher is better" in left
    assert right.isVisible() and "mae" in right.labelText and "lower is better" in right.labelText
    acc = mp._items[f"{entry.uid}/m/digit/accuracy"]
    mae = mp._items[f"{entry.uid}/m/depth/mae/right"]
    assert acc.getViewBox() is mp.plot.getViewBox()
    assert mae.getViewBox() is mp.low_vb
    _, y = mae.getOriginalDataset()
    assert y.tolist() == pytest.approx([1.0, 1 / 2, 1 / 3, 1 / 4])
    labels = sorted(label.text for _, label in mp.legend.items)
    assert labels == ["depth mae \u2193", "digit accuracy \u2191"]
    # the second view box lies exactly over the first and follows its x range
    assert mp.low_vb.sceneBoundingRect() == mp.plot.getViewBox().sceneBoundingRect()
    assert mp.low_vb.viewRange()[0] == pytest.approx(mp.plot.getViewBox().viewRange()[0])
    # one metric picked: one direction, on the left axis, named there
    mp.metric_combo.setCurrentText("mse")
    assert not mp.plot.getAxis("right").isVisible() and not mp.low_vb.isVisible()
    assert mp.plot.getAxis("left").labelText == "mse (lower is better)"
    assert [label.text for _, label in mp.legend.items] == ["depth"]


# ---------------------------------------------------------------------- legends


def _data_items(plot) -> list:  # noqa: ANN001
    items = list(plot.plot.listDataItems())
    low = getattr(plot, "low_vb", None)
    if low is not None and low.isVisible():
        items += [i for i in low.addedItems if hasattr(i, "getOriginalDataset")]
    return items


@pytest.mark.parametrize("tasks", [("left", "right"), TASKS14])
def test_no_curve_point_lies_under_a_legend(qtbot, tasks: tuple[str, ...]) -> None:
    entry = RunEntry(1, {}, history_from_events(_events(tasks)))
    area = _area(qtbot, [entry], (1100, 800))
    area.refresh(force=True)
    area.tabs.setCurrentIndex(1)
    area.refresh(force=True)
    area.tabs.setCurrentIndex(0)
    qtbot.wait(10)
    for name, plot in _curve_plots(area).items():
        legend = plot.legend
        assert legend.items, name
        box = legend.sceneBoundingRect()
        assert box.height() > 0, name
        assert not box.intersects(plot.plot.getViewBox().sceneBoundingRect()), name
        points = 0
        for item in _data_items(plot):
            vb = item.getViewBox()
            x, y = (item.getOriginalDataset() if hasattr(item, "getOriginalDataset")
                    else item.getData())  # the cosine plot's markers
            for xi, yi in zip(x, y):
                if np.isfinite(yi):
                    assert not box.contains(vb.mapViewToScene(QPointF(xi, yi))), name
                    points += 1
        assert points > 0, name
    if len(tasks) == 2:  # a short legend shows every entry
        assert [lab.text for _, lab in area.loss_plot.legend.items] == ["left", "right"]
        assert not area.loss_plot.legend._more.isVisible()


# ---------------------------------------------------------------------- 14+ tasks


def _srgb_lab(hex_color: str) -> tuple[float, float, float]:
    c = QColor(hex_color)

    def lin(v: float) -> float:
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (lin(v) for v in (c.redF(), c.greenF(), c.blueF()))
    xyz = (0.4124 * r + 0.3576 * g + 0.1805 * b, 0.2126 * r + 0.7152 * g + 0.0722 * b,
           0.0193 * r + 0.1192 * g + 0.9505 * b)
    white = (0.95047, 1.0, 1.08883)

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 216 / 24389 else (24389 / 27 * t + 16) / 116

    fx, fy, fz = (f(v / n) for v, n in zip(xyz, white))
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


def ciede2000(lab1: tuple[float, float, float], lab2: tuple[float, float, float]) -> float:
    """The CIEDE2000 colour difference (Sharma, Wu & Dalal 2005)."""
    (l1, a1, b1), (l2, a2, b2) = lab1, lab2
    cbar = (math.hypot(a1, b1) + math.hypot(a2, b2)) / 2
    g = 0.5 * (1 - math.sqrt(cbar**7 / (cbar**7 + 25**7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = math.hypot(a1p, b1), math.hypot(a2p, b2)
    h1p = math.degrees(math.atan2(b1, a1p)) % 360
    h2p = math.degrees(math.atan2(b2, a2p)) % 360
    dh = h2p - h1p
    dh = dh - 360 if dh > 180 else dh + 360 if dh < -180 else dh
    if c1p * c2p == 0:
        dh = 0.0
    dhh = 2 * math.sqrt(c1p * c2p) * math.sin(math.radians(dh / 2))
    lbar, cbarp = (l1 + l2) / 2, (c1p + c2p) / 2
    if c1p * c2p == 0:
        hbar = h1p + h2p
    elif abs(h1p - h2p) <= 180:
        hbar = (h1p + h2p) / 2
    else:
        hbar = (h1p + h2p + 360) / 2 if h1p + h2p < 360 else (h1p + h2p - 360) / 2
    cos = [math.cos(math.radians(k * hbar + phase))
           for k, phase in ((1, -30), (2, 0), (3, 6), (4, -63))]
    t = 1 - 0.17 * cos[0] + 0.24 * cos[1] + 0.32 * cos[2] - 0.20 * cos[3]
    rc = 2 * math.sqrt(cbarp**7 / (cbarp**7 + 25**7))
    rt = -math.sin(math.radians(60 * math.exp(-(((hbar - 275) / 25) ** 2)))) * rc
    sl = 1 + 0.015 * (lbar - 50) ** 2 / math.sqrt(20 + (lbar - 50) ** 2)
    sc, sh = 1 + 0.045 * cbarp, 1 + 0.015 * cbarp * t
    dl, dc = (l2 - l1) / sl, (c2p - c1p) / sc
    return math.sqrt(dl**2 + dc**2 + (dhh / sh) ** 2 + rt * dc * (dhh / sh))


def _luminance(color: str) -> float:
    c = QColor(color)
    lin = [v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4
           for v in (c.redF(), c.greenF(), c.blueF())]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def test_palette_has_20_distinguishable_colours_readable_on_both_themes() -> None:
    # Reference pairs from Sharma et al.'s CIEDE2000 test data (pairs 1 and 17).
    assert ciede2000((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485)) == pytest.approx(2.0425,
                                                                                        abs=1e-4)
    assert ciede2000((50.0, 2.5, 0.0), (73.0, 25.0, -18.0)) == pytest.approx(27.1492, abs=1e-4)
    assert len(TASK_COLORS) >= 20
    labs = [_srgb_lab(c) for c in TASK_COLORS[:20]]
    worst = min(ciede2000(a, b) for a, b in itertools.combinations(labs, 2))
    assert worst >= 15.0  # a clearly visible difference between any two of the 20
    for theme, need in (("light", 2.0), ("dark", 3.0)):
        back = _luminance(QColor(THEMES[theme]["background"]).name())
        for c in TASK_COLORS:
            lum = _luminance(c)
            ratio = (max(lum, back) + 0.05) / (min(lum, back) + 0.05)
            assert ratio >= need, (theme, c, ratio)


def test_fourteen_tasks_keep_every_plot_a_sane_size(qtbot, window) -> None:
    """At the default window size: no plot squeezed by a long read-out or share note."""
    entry = RunEntry(1, {}, history_from_events(_events(TASKS14)))
    window.session.runs.append(entry)
    window.session.runs_changed.emit()
    plots = window.plots
    plots.refresh(force=True)
    qtbot.wait(20)
    training = [plots.loss_plot, plots.metric_plot, plots.weight_plot, plots.share_plot]
    plots.loss_plot.show_values_at(100.0)  # the longest read-out there is: 28 curves
    plots.weight_plot.show_values_at(100.0)
    qtbot.wait(20)
    widths = [p.width() for p in training]
    assert min(widths) >= 350 and max(widths) / min(widths) < 1.2, widths
    for p in training:
        assert p.plot.getViewBox().height() >= 120, (type(p).__name__, p.plot.vb.height())
    assert "task_n_segment" in plots.loss_plot.readout.text()  # the read-out names them all
    plots.tabs.setCurrentIndex(1)
    qtbot.wait(20)
    for name, p in plots.plots().items():  # no plot is wider than its widget (cut off)
        assert p.plot.geometry().width() <= p.widget.width() + 0.5, name
        assert p.plot.geometry().height() <= p.widget.height() + 0.5, name


NAMES8 = ("segmentation_semantic", "depth_estimation", "surface_normals", "edges", "saliency",
          "human_parts", "keypoints", "albedo")


@pytest.mark.parametrize("tasks", [("left", "right"), NAMES8, TASKS14])
def test_heat_map_labels_fit_their_cells(qtbot, tasks: tuple[str, ...]) -> None:
    entry = RunEntry(1, {}, history_from_events(_events(tasks)))
    area = _area(qtbot, [entry], (1000, 700))
    area.tabs.setCurrentIndex(1)
    area.refresh(force=True)
    qtbot.wait(20)
    heat = area.grad_panel.heat
    cell = heat.cell_px()
    assert cell > 10
    fm = QFontMetricsF(heat.tick_font)
    assert len(heat.tick_labels) == len(tasks)
    for label in heat.tick_labels:
        assert fm.horizontalAdvance(label) <= cell - 4 + 0.5, (label, cell)
    if len(tasks) == 2:
        assert heat.tick_labels == list(tasks)  # room enough: the full names
        assert heat.value_pt >= 8
    elif tasks == TASKS14:  # columns named by number
        assert heat.tick_labels[:3] == ["1", "2", "3"]
        assert heat.left_labels[13] == "14 task_n_segment"  # the left axis is the key
    if heat.value_pt:
        font = heat._labels[0].textItem.font()
        assert QFontMetricsF(font).horizontalAdvance("-0.00") <= 0.9 * cell


def test_a_theme_switch_recolours_the_conflict_maps_colour_bar(qtbot) -> None:
    area = _area(qtbot, [RunEntry(1, {}, history_from_events(_events()))])
    for theme in ("dark", "light", "dark"):
        area.set_theme(theme)
        want = QColor(THEMES[theme]["foreground"])
        axis = area.grad_panel.heat.bar.axis
        assert axis.textPen().color() == want and axis.pen().color() == want, theme


def test_zooming_one_plot_zooms_them_all_and_auto_range_brings_all_back(qtbot) -> None:
    history = RunHistory()
    events = _events()
    history.feed_all(events[:20])
    area = _area(qtbot, [RunEntry(1, {}, history)])
    area.refresh_all()
    vb = area.weight_plot.plot.getViewBox()
    vb.setXRange(50.0, 100.0, padding=0.0)  # what a mouse wheel or drag does, then says so:
    vb.sigRangeChangedManually.emit([True, False])
    for name, plot in _curve_plots(area).items():
        assert _x_range(plot) == pytest.approx((50.0, 100.0)), name
    history.feed_all(events[20:])  # new data and the end of the run: the zoom stays
    area.refresh_all()
    for name, plot in _curve_plots(area).items():
        assert _x_range(plot) == pytest.approx((50.0, 100.0)), name
    button = area.share_plot.plot.autoBtn
    button.clicked.emit(button)  # "A" on any plot: all back to the shared span
    for name, plot in _curve_plots(area).items():
        assert _x_range(plot) == pytest.approx(_padded(0.0, 200.0)), name


def test_a_tab_made_after_a_zoom_and_a_theme_switch_takes_both(qtbot) -> None:
    # Only the first tab's plots are made with the area (start-up time); the gradient tab's are
    # made when first shown. Made after the user zoomed and picked a theme, they must look as
    # if they had been there all along: the same x zoom, the theme's colours.
    history = RunHistory()
    history.feed_all(_events())
    area = _area(qtbot, [RunEntry(1, {}, history)])
    area.refresh(force=True)
    assert "gradient" not in area._plots  # not made yet
    area.set_theme("dark")
    vb = area.weight_plot.plot.getViewBox()
    vb.setXRange(50.0, 100.0, padding=0.0)
    vb.sigRangeChangedManually.emit([True, False])
    gradient_tab = next(i for i in range(area.tabs.count()) if "gradient" in
                        " ".join(area.tab_plots(i)) and i != 0)
    area.tabs.setCurrentIndex(gradient_tab)  # shown: made, then drawn from the frame
    assert "gradient" in area._plots
    made = {k: p for k, p in _curve_plots(area).items() if k.startswith("gradient")}
    assert made, list(area.plots())
    for name, plot in made.items():
        assert _x_range(plot) == pytest.approx((50.0, 100.0)), name
    want = QColor(THEMES["dark"]["foreground"])
    assert area.grad_panel.heat.bar.axis.textPen().color() == want
    button = area.loss_plot.plot.autoBtn
    button.clicked.emit(button)  # "A" on a first-tab plot brings the new ones back too
    for name, plot in made.items():
        assert _x_range(plot) == pytest.approx(_padded(0.0, float(EPOCHS * SPE))), name


def test_a_plots_attribute_or_name_makes_its_tab(qtbot) -> None:
    area = _area(qtbot, [RunEntry(1, {}, history_from_events(_events()))])
    assert "gradient" not in area._plots
    assert area.plot("gradient") is area.grad_panel  # asking by name makes the tab
    with pytest.raises(AttributeError, match="no_such_plot"):
        area.no_such_plot  # noqa: B018 - the attribute lookup is the test


def test_a_snapshot_keeps_its_values_while_the_history_grows_past_its_buffers() -> None:
    events = fake_events(epochs=2, steps_per_epoch=400, log_every=10, grads_every=50)
    history = RunHistory()
    history.feed_all(events[:6])
    snap = history.snapshot()
    steps, loss = snap.step.view.copy(), snap.loss["left"].view.copy()
    version, status = snap.version, snap.status
    history.feed_all(events[6:])  # 800 steps: every buffer outgrows its 256 first slots
    assert history.n_steps == 800 and history.status == "completed"
    assert np.array_equal(snap.step.view, steps) and np.array_equal(snap.loss["left"].view, loss)
    assert (snap.version, snap.status, snap.n_steps) == (version, status, len(steps))
    assert len(snap.ep_index) == 0 and history.ep_index.view.tolist() == [1, 2]


def test_heat_map_tick_marks_stay_out_of_the_cells(qtbot) -> None:
    """Inward tick marks (pyqtgraph's default) drew a dash over the first column's left edge,
    so a cell's "1.00" read as "-1.00": the pixels just inside each cell are the cell's colour."""
    entry = RunEntry(1, {}, history_from_events(_events(("left", "right", "depth"))))
    area = _area(qtbot, [entry], (1000, 700))
    area.tabs.setCurrentIndex(1)
    area.refresh(force=True)
    qtbot.wait(20)
    heat = area.grad_panel.heat
    image = heat.widget.grab().toImage()
    vb = heat.plot.getViewBox()
    n = len(heat.tasks)
    for row in range(n):
        centre = heat.widget.mapFromScene(vb.mapViewToScene(QPointF(0.5, row + 0.5)))
        edge = heat.widget.mapFromScene(vb.mapViewToScene(QPointF(0.0, row + 0.5)))
        cell = image.pixelColor(int(centre.x() - 12), int(centre.y() + 4))  # clear of the text
        inner = image.pixelColor(int(edge.x()) + 2, int(edge.y()))  # 2 px inside the left edge
        assert max(abs(cell.red() - inner.red()), abs(cell.green() - inner.green()),
                   abs(cell.blue() - inner.blue())) < 40, (row, cell.name(), inner.name())
