"""Plots during a live run and on the axes users pick: every plot at the same step at every
instant, log y on the metric plot, legend swatches, readable gradient plots with many tasks."""

from __future__ import annotations

import dataclasses

import numpy as np
import pyqtgraph as pg
import pytest
from conftest import fake_events
from PySide6.QtCore import QTimer
from PySide6.QtGui import QColor, QImage, QPainter

import mtl_engine.events as ev
from mtl_gui.history import RunHistory, history_from_events
from mtl_gui.plots.area import PlotArea
from mtl_gui.plots.legend import LegendRow
from mtl_gui.run_entry import RunEntry


def _last_x(item) -> float | None:  # noqa: ANN001
    x, _ = item.getOriginalDataset()
    return None if x is None or len(x) == 0 else float(x[-1])


def _drawn(area: PlotArea, uid: int) -> dict[str, float | None]:
    """The last x every training plot has drawn (metric: its last validation point)."""
    metric = [i for k, i in area.metric_plot._items.items() if k.startswith(f"{uid}/m/left/")]
    return {"loss": _last_x(area.loss_plot._items[f"{uid}/train/left"]),
            "weights": _last_x(area.weight_plot._items[f"{uid}/w/left"]),
            "shares": _last_x(area.share_plot._edges[0]),
            "metric": _last_x(metric[0]) if metric else None}


def test_every_plot_shows_the_same_step_at_every_instant_of_a_live_run(qtbot) -> None:
    """A fake stream feeds a running history while the plot area's own timer redraws it; after
    every redraw tick, and at the stream's ticks in between, every plot must have drawn the same
    frame: the same last step in the loss, weight and share plots, and the metric plot the last
    epoch of that frame. (Drawing one plot per tick left the share plot a frame behind.)"""
    events = fake_events(epochs=6, steps_per_epoch=40, log_every=4, grads_every=20)
    history = RunHistory()
    entry = RunEntry(1, {}, history)
    history.feed_all(events[:3])  # started, steps 0..7
    area = PlotArea(lambda: [entry])
    qtbot.addWidget(area)
    area.resize(1000, 700)
    area.show()
    pending = list(events[3:])
    seen: list[tuple[str, dict[str, float | None], int, float | None]] = []

    def check(tag: str) -> None:
        frame = area.frame()
        if not frame or not area.loss_plot._stamp:
            return  # nothing drawn yet
        snap = frame[0].history
        want_metric = float(snap.ep_step.view[-1]) if len(snap.ep_step) else None
        seen.append((tag, _drawn(area, entry.uid), snap.last_step, want_metric))

    fed = [0]  # events fed since the last redraw tick: the stream waits for the plots

    def feed() -> None:
        check("stream")
        if pending and fed[0] < 3:
            history.feed(pending.pop(0))
            fed[0] += 1

    def redrawn() -> None:
        check("redraw")
        fed[0] = 0

    area.timer.timeout.connect(redrawn)  # runs after the area's own slot
    feeder = QTimer()
    feeder.setInterval(7)  # out of step with the redraw timer: arbitrary instants
    feeder.timeout.connect(feed)
    feeder.start()
    qtbot.waitUntil(lambda: not pending and history.status == "completed", timeout=60_000)
    feeder.stop()
    final = {"loss": 239.0, "weights": 239.0, "shares": 239.0, "metric": 240.0}
    qtbot.waitUntil(lambda: _drawn(area, entry.uid) == final, timeout=10_000)
    check("end")
    for tag, drawn, last, metric in seen:
        step = float(last)
        assert drawn == {"loss": step, "weights": step, "shares": step, "metric": metric}, tag
    redraws = [s for s in seen if s[0] == "redraw"]
    assert len({s[2] for s in redraws}) >= 20  # many frames were drawn during the run
    assert seen[-1][1] == final


def test_a_stale_frame_is_never_mixed_with_a_new_one_tick_by_tick(qtbot) -> None:
    """Driven by hand: each tick that finds new steps draws all four plots from one frame."""
    events = fake_events(epochs=2, steps_per_epoch=50, log_every=5, grads_every=10)
    steps = [i for i, e in enumerate(events) if isinstance(e, ev.StepsLogged)]
    history = RunHistory()
    entry = RunEntry(1, {}, history)
    history.feed_all(events[: steps[1] + 1])  # steps 0..9
    area = PlotArea(lambda: [entry])
    area.timer.stop()
    qtbot.addWidget(area)
    area.resize(1000, 700)
    area.show()
    area.refresh()
    assert set(_drawn(area, entry.uid).values()) - {None} == {9.0}
    for k in range(2, 8):
        history.feed_all(events[steps[k - 1] + 1: steps[k] + 1])
        area.refresh()  # one tick
        want = float(history.last_step)
        drawn = _drawn(area, entry.uid)
        assert (drawn["loss"], drawn["weights"], drawn["shares"]) == (want, want, want), k
        area.refresh()  # nothing new: nothing changes
        assert _drawn(area, entry.uid) == drawn


@pytest.mark.parametrize("mode", ["step", "epoch"])
def test_log_y_keeps_the_shared_x_range(qtbot, mode: str) -> None:
    """Switching log y re-autoscaled x (pyqtgraph's setLogMode does): the plot left the x range
    the others hold (the planned end of a live run)."""
    events = fake_events(epochs=4, steps_per_epoch=50, log_every=5, grads_every=10)
    history = RunHistory()
    history.feed_all(events[: len(events) // 2])
    area = PlotArea(lambda: [RunEntry(1, {}, history)])
    area.timer.stop()
    qtbot.addWidget(area)
    area.resize(1000, 700)
    area.show()
    area.set_options(mode, 0.6, False)
    area.set_options(mode, 0.6, True)
    qtbot.wait(50)  # view boxes autoscale lazily, when they next lay out and paint
    end = 200.0 if mode == "step" else 4.0
    for plot in (area.loss_plot, area.metric_plot, area.weight_plot, area.share_plot):
        lo, hi = plot.plot.getViewBox().viewRange()[0]
        assert (lo, hi) == pytest.approx((-0.02 * end, 1.02 * end)), type(plot).__name__
    assert np.isfinite(area.loss_plot.plot.getViewBox().viewRange()[1]).all()


def _mse_decades() -> list[ev.Event]:
    """Three regression tasks whose validation mse differ by a factor 100 each (1, 100, 1e4),
    halving every epoch, plus a classification task (accuracy) in mixed runs."""
    tasks = ("t1", "t2", "t3", "digit")
    out = []
    for e in fake_events(tasks=tasks, epochs=4, steps_per_epoch=20):
        if isinstance(e, ev.RunStarted):
            reg = tuple(ev.TaskInfo(t, "regression", 1, "mse", "mse", False, ("mse",))
                        for t in tasks[:3])
            e = dataclasses.replace(e, tasks=(*reg, e.tasks[3]))
        elif isinstance(e, ev.EpochEnded):
            mse = {t: {"mse": 100.0 ** k / 2 ** e.epoch} for k, t in enumerate(tasks[:3])}
            e = dataclasses.replace(e, val_metrics={**e.val_metrics, **mse})
        out.append(e)
    return out


def test_the_metric_plot_follows_log_y_on_both_of_its_axes(qtbot) -> None:
    entry = RunEntry(1, {}, history_from_events(_mse_decades()))
    area = PlotArea(lambda: [entry])
    area.timer.stop()
    qtbot.addWidget(area)
    area.resize(1000, 700)
    area.show()
    mp = area.metric_plot
    area.set_options("step", 0.6, True)
    # mixed directions: accuracy on the left, the three mse on the right view box
    assert mp.plot.getAxis("left").labelText == "accuracy (higher is better)"
    assert mp.plot.getAxis("right").labelText == "mse (lower is better)"
    assert mp.plot.getAxis("right").logMode and mp.plot.getAxis("left").logMode
    t3 = mp._items[f"{entry.uid}/m/t3/mse/right"]
    assert t3.opts["logMode"] == [False, True]
    _, y = t3.getData()  # what is drawn: log10 of 1e4 / 2**epoch
    assert y.tolist() == pytest.approx([4 - k * np.log10(2) for k in range(1, 5)])
    qtbot.wait(20)  # view boxes autoscale when they next lay out
    lo, hi = mp.low_vb.viewRange()[1]  # the right axis spans the decades, in log10 units
    assert lo <= -np.log10(16) and 4 - np.log10(2) <= hi < 5
    mp.metric_combo.setCurrentText("mse")  # one direction: all on the left axis, log too
    t1 = mp._items[f"{entry.uid}/m/t1/mse"]
    assert t1.opts["logMode"] == [False, True]
    _, y = t1.getData()
    assert y.tolist() == pytest.approx([-k * np.log10(2) for k in range(1, 5)])
    assert "( " not in mp.plot.getAxis("left").labelText
    area.set_options("step", 0.6, False)  # and back to linear
    _, y = t1.getData()
    assert y.tolist() == pytest.approx([0.5, 0.25, 0.125, 0.0625])
    assert not mp.plot.getAxis("left").logMode


def _painted(sample) -> QImage:  # noqa: ANN001
    image = QImage(20, 20, QImage.Format.Format_ARGB32)
    image.fill(QColor(0, 0, 0, 0))
    painter = QPainter(image)
    sample.paint(painter, None, None)
    painter.end()
    return image


def test_share_legend_swatches_are_filled_rectangles(qtbot) -> None:
    entry = RunEntry(1, {}, history_from_events(fake_events(epochs=2)))
    area = PlotArea(lambda: [entry])
    area.timer.stop()
    qtbot.addWidget(area)
    area.resize(1000, 700)
    area.show()
    area.refresh(force=True)
    items = area.share_plot.legend.items
    assert [label.text for _, label in items] == ["left", "right"]
    for k, (sample, _) in enumerate(items):
        fill = area.share_plot._edges[k].opts["fillBrush"].color().getRgb()
        image = _painted(sample)
        inside = [(x, y) for x in range(4, 17) for y in range(7, 16)]  # the swatch less its edge
        assert all(image.pixelColor(x, y).getRgb() == fill for x, y in inside), k
        outside = [(x, y) for x in range(20) for y in (0, 1, 2, 19)]
        assert all(image.pixelColor(x, y).alpha() == 0 for x, y in outside), k
    # the line plots keep pyqtgraph's line sample
    line = _painted(area.loss_plot.legend.items[0][0])
    assert line.pixelColor(10, 11).alpha() > 0 and line.pixelColor(4, 7).alpha() == 0


T14 = tuple(f"t{k + 1}" for k in range(14))


def _pair_cosines(tasks: tuple[str, ...] = T14) -> list[ev.Event]:
    """Every pair (i, j), i < j, numbered n in row order, has the cosine
    0.9 - 1.8 * ((37 n) mod P) / (P - 1) + 0.01 m at the m-th measurement (P pairs)."""
    n_t = len(tasks)
    pairs = [(i, j) for i in range(n_t) for j in range(i + 1, n_t)]
    total = len(pairs)
    out, m = [], 0
    for e in fake_events(tasks=tasks, epochs=2, steps_per_epoch=20, grads_every=10):
        if isinstance(e, ev.GradientsMeasured):
            mat = np.eye(n_t)
            for n, (i, j) in enumerate(pairs):
                mat[i, j] = mat[j, i] = 0.9 - 1.8 * ((37 * n) % total) / (total - 1) + 0.01 * m
            e = dataclasses.replace(e, cosine=tuple(map(tuple, mat)))
            m += 1
        out.append(e)
    return out


def _gradient_area(qtbot, entry: RunEntry, size: tuple[int, int] = (1200, 700)) -> PlotArea:  # noqa: ANN001
    area = PlotArea(lambda: [entry])
    area.timer.stop()
    qtbot.addWidget(area)
    area.resize(*size)
    area.show()
    area.tabs.setCurrentIndex(1)
    area.refresh(force=True)
    qtbot.wait(20)
    return area


def test_with_91_pairs_the_cosine_plot_shows_the_8_most_conflicting_and_the_mean(qtbot) -> None:
    entry = RunEntry(1, {}, history_from_events(_pair_cosines()))
    area = _gradient_area(qtbot, entry)
    cos = area.grad_panel.cosine
    pairs = [(i, j) for i in range(14) for j in range(i + 1, 14)]
    # lowest cosine = highest (37 n) mod 91: n with residues 90, 89, ..., 83
    by_residue = {(37 * n) % 91: n for n in range(91)}
    want = [f"t{pairs[by_residue[r]][0] + 1}\u2013t{pairs[by_residue[r]][1] + 1}"
            for r in range(90, 82, -1)]
    names = [label.text for _, label in cos.legend.items]
    assert names == ["mean of all 91", *want]
    assert all(label.isVisible() for _, label in cos.legend.items)  # no "+N more" at this size
    assert len(cos._items) == 9
    assert cos.plot.titleLabel.text.startswith("Cosine: the 8 most conflicting of 91 task pairs")
    mean = cos._items[f"{entry.uid}/cos/mean"]
    _, y = mean.getOriginalDataset()
    base = np.mean([0.9 - 1.8 * r / 90 for r in range(91)])  # every residue once: 0.0
    assert y.tolist() == pytest.approx([base + 0.01 * m for m in range(4)])
    # markers: only the drawn pairs' turns below 0 (all 8 start below 0: one marker each)
    mx, _ = cos.markers.getData()
    assert len(mx) == 8
    area.grad_panel.all_pairs.setChecked(True)  # every pair, by request
    assert len(cos._items) == 91 and cos.plot.titleLabel.text.startswith("Cosine between")
    area.grad_panel.all_pairs.setChecked(False)
    assert len(cos._items) == 9


def test_few_pairs_are_all_drawn_without_a_mean(qtbot) -> None:
    entry = RunEntry(1, {}, history_from_events(_pair_cosines(("a", "b", "c", "d"))))
    area = _gradient_area(qtbot, entry)
    cos = area.grad_panel.cosine
    assert [label.text for _, label in cos.legend.items] == [
        "a\u2013b", "a\u2013c", "a\u2013d", "b\u2013c", "b\u2013d", "c\u2013d"]
    assert not area.grad_panel.all_pairs.isVisible()
    assert cos.plot.titleLabel.text.startswith("Cosine between task gradients")


@pytest.mark.parametrize("width", [400, 700, 1000])
def test_the_legends_more_note_is_never_cut_off(qtbot, width: int) -> None:
    widget = pg.PlotWidget()
    qtbot.addWidget(widget)
    legend = LegendRow(widget.getPlotItem())
    names = [f"t{i}\u2013t{j}" for i in range(1, 15) for j in range(i + 1, 15)]  # 91 pairs
    for k, name in enumerate(names):
        widget.plot([0, 1], [k, k], name=name)
    widget.resize(width, 500)
    widget.show()
    qtbot.wait(20)
    note = legend._more
    assert note.isVisible() and note.text.startswith("+")
    hidden = int(note.text[1:].split()[0])
    assert hidden == 91 - sum(label.isVisible() for _, label in legend.items) > 0
    text_w = note.item.boundingRect().width()
    assert text_w <= note.geometry().width() + 0.5, (note.text, note.geometry().width())
    assert note.geometry().right() <= legend.geometry().width() + 0.5
    assert legend.geometry().width() <= widget.getPlotItem().geometry().width() + 0.5


def test_numbered_heat_map_columns_need_no_second_key_for_numbered_names(qtbot) -> None:
    entry = RunEntry(1, {}, history_from_events(_pair_cosines()))
    area = _gradient_area(qtbot, entry, (700, 700))  # cells too narrow for "t14"
    heat = area.grad_panel.heat
    assert heat.tick_labels[:3] == ["1", "2", "3"], heat.cell_px()
    assert heat.left_labels == list(T14)  # not "1 t1": the names are their own key
    assert "t1;" not in heat.caption.text()


def test_the_colour_bar_has_tick_labels_when_the_app_starts_dark(qtbot) -> None:
    from mtl_gui.plots.style import THEMES, apply_theme

    apply_theme("dark")  # as the window does before it builds its plots
    try:
        entry = RunEntry(1, {}, history_from_events(_pair_cosines()))
        area = PlotArea(lambda: [entry])
        area.timer.stop()
        qtbot.addWidget(area)
        area.set_theme("dark")
        area.resize(1200, 700)
        area.show()
        area.tabs.setCurrentIndex(1)
        area.refresh(force=True)
        qtbot.wait(20)
        bar = area.grad_panel.heat.bar
        axis = bar.getAxis("right")
        fg = QColor(THEMES["dark"]["foreground"])
        assert axis.isVisible() and axis.style["showValues"] and axis.textPen().color() == fg
        # the tick labels are painted: pixels of the text colour right of the colour bar
        image = area.grad_panel.heat.widget.grab().toImage()
        rect = axis.sceneBoundingRect().toAlignedRect()
        lit = sum(image.pixelColor(x, y).lightness() > 150
                  for x in range(rect.left(), rect.right())
                  for y in range(rect.top(), rect.bottom()))
        assert lit > 50, rect
    finally:
        apply_theme("light")
