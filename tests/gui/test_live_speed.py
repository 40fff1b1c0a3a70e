"""What keeps a live run fast without changing what the plots show (issue 14, point 5): a redraw
only sets the data of curves that grew, yet every point reaches the screen once the timer fires;
every visible plot keeps one x range after each live redraw; axis labels are not set again on
every redraw; the worker shortens the GIL switch interval for the training thread."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from conftest import fake_events, replay

import mtl_engine.events as ev
from mtl_gui.history import RunHistory
from mtl_gui.plots.area import PlotArea
from mtl_gui.plots.base import X_PADDING, x_span
from mtl_gui.run_entry import RunEntry
from mtl_gui.smoothing import ema_debiased
from mtl_gui.worker import SWITCH_INTERVAL_S, RunWorker


def _live_area(qtbot, events: list[ev.Event], upto: int) -> tuple[PlotArea, RunEntry]:  # noqa: ANN001
    history = RunHistory()
    entry = RunEntry(1, {}, history)
    history.feed_all(events[:upto])
    area = PlotArea(lambda: [entry])
    area.timer.stop()  # ticks by hand: area.refresh() is what the timer calls
    qtbot.addWidget(area)
    area.resize(1000, 700)
    area.show()
    return area, entry


def _counting(item, calls: list[int]) -> None:  # noqa: ANN001
    plain = item.setData

    def counted(*args, **kwargs) -> None:  # noqa: ANN002, ANN003
        calls.append(1)
        plain(*args, **kwargs)

    item.setData = counted


def _steps_logged(events: list[ev.Event]) -> list[int]:
    return [i for i, e in enumerate(events) if isinstance(e, ev.StepsLogged)]


def test_a_live_redraw_draws_every_point_and_leaves_unchanged_curves_alone(qtbot) -> None:
    events = fake_events(epochs=3, steps_per_epoch=40, log_every=4, grads_every=0)
    at = _steps_logged(events)
    area, entry = _live_area(qtbot, events, at[3] + 1)  # steps 0..15, no epoch ended yet
    h = entry.history
    area.refresh()
    uid = entry.uid
    key = f"{uid}/train/left"
    train, raw = area.loss_plot._items[key], area.loss_plot._raw[key]
    val = area.loss_plot._items[f"{uid}/val/left"]
    x, y = raw.getOriginalDataset()
    assert x.tolist() == list(range(16)) and np.array_equal(y, h.loss["left"].view)
    val_calls: list[int] = []
    train_calls: list[int] = []
    _counting(val, val_calls)
    _counting(train, train_calls)
    h.feed_all(events[at[3] + 1: at[6] + 1])  # steps 16..27, still in epoch 0
    area.refresh()
    assert val_calls == [] and train_calls == [1]  # the validation curve did not change
    x, y = train.getOriginalDataset()
    assert x.tolist() == list(range(28))
    assert np.allclose(y, ema_debiased(h.loss["left"].view, area.options.smoothing))
    end = next(i for i, e in enumerate(events) if isinstance(e, ev.EpochEnded))
    h.feed_all(events[at[6] + 1: end + 1])  # to the end of epoch 0: a validation point
    area.refresh()
    assert val_calls == [1]
    vx, vy = val.getOriginalDataset()
    assert vx.tolist() == [40.0] and vy.tolist() == h.val_loss["left"].view.tolist()
    area.refresh()  # nothing new: nothing set
    assert val_calls == [1] and len(train_calls) == 2
    area.options.smoothing = 0.3  # an option changed: a forced redraw sets every curve again
    area.refresh(force=True)
    assert val_calls == [1, 1]
    _, y = train.getOriginalDataset()
    assert np.allclose(y, ema_debiased(h.loss["left"].view, 0.3))


@pytest.mark.parametrize("mode", ["step", "epoch", "time"])
def test_every_visible_plot_holds_one_x_range_after_each_live_redraw(qtbot, mode: str) -> None:
    events = fake_events(epochs=3, steps_per_epoch=30, log_every=3, grads_every=6)
    events = [e for e in events if not isinstance(e, ev.RunFinished)]  # live to the end
    at = _steps_logged(events)
    area, entry = _live_area(qtbot, events, at[0] + 1)
    area.x_combo.setCurrentText(mode)
    for tab in (0, 1):
        area.tabs.setCurrentIndex(tab)
        fed = at[0] + 1
        for k in range(1, len(at), 4):
            entry.history.feed_all(events[fed: at[k] + 1])
            fed = at[k] + 1
            area.refresh()
            plots = area._on_tab(tab)
            ranges = [tuple(x.vb.viewRange()[0]) for p in plots for x in p.x_holders()]
            lo, hi = x_span(area.frame(), mode)
            pad = X_PADDING * (hi - lo)
            assert len(ranges) >= 2
            for r in ranges:
                assert r == pytest.approx((lo - pad, hi + pad), rel=1e-9, abs=1e-9), (tab, k)


def test_live_redraws_leave_unchanged_axis_labels_alone(qtbot) -> None:
    """pyqtgraph's setLabel re-lays the axis out and drops its cached picture: only a changed
    label may be set (it was set on every redraw of every plot)."""
    events = fake_events(epochs=3, steps_per_epoch=40, log_every=4, grads_every=0)
    at = _steps_logged(events)
    end = next(i for i, e in enumerate(events) if isinstance(e, ev.EpochEnded))
    area, entry = _live_area(qtbot, events, end + 1)  # the metric axis has its name now
    area.refresh()
    axes = [p.plot.getAxis(side) for p in (area.loss_plot, area.weight_plot, area.metric_plot,
                                            area.share_plot) for side in ("bottom", "left")]
    calls: list[str] = []
    for axis in axes:
        plain = axis._updateLabel

        def counted(plain=plain, axis=axis) -> None:  # noqa: ANN001
            calls.append(axis.orientation)
            plain()

        axis._updateLabel = counted
    fed = end + 1
    for k in [k for k in range(len(at)) if at[k] > end][:16]:  # across the next epoch's end
        entry.history.feed_all(events[fed: at[k] + 1])
        fed = at[k] + 1
        area.refresh()
    assert len(entry.history.ep_index) == 2 and calls == []
    area.x_combo.setCurrentText("epoch")  # a label that changes is still set
    assert "bottom" in calls
    assert area.loss_plot.plot.getAxis("bottom").labelText == "epoch"


def test_a_run_shortens_the_gil_switch_interval(qtbot) -> None:
    """The training thread wants the GIL back after each torch op; with the default 5 ms interval
    a redraw on the GUI thread held it off for that long each time."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(0.005)
    try:
        worker = RunWorker(replay(fake_events()))
        with qtbot.waitSignal(worker.finished, timeout=20_000):
            worker.start()
        assert sys.getswitchinterval() == pytest.approx(SWITCH_INTERVAL_S)
        sys.setswitchinterval(0.0002)  # a shorter one chosen elsewhere is kept
        worker = RunWorker(replay(fake_events()))
        with qtbot.waitSignal(worker.finished, timeout=20_000):
            worker.start()
        assert sys.getswitchinterval() == pytest.approx(0.0002)
    finally:
        sys.setswitchinterval(before)
