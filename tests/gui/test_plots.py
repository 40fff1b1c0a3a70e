"""The plots as a user reads them: axes modes, smoothing with the raw curve kept, log y, hover,
stacked shares, conflict markers; and the live-run budget that keeps the GUI thread light."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import fake_events

from mtl_gui.history import history_from_events
from mtl_gui.plots.area import PlotArea
from mtl_gui.plots.budget import Budget
from mtl_gui.plots.gradients import negative_turns
from mtl_gui.plots.shares import bin_means, shares
from mtl_gui.run_entry import RunEntry
from mtl_gui.smoothing import ema_debiased


@pytest.fixture
def area(qtbot):  # noqa: ANN001, ANN201
    entry = RunEntry(1, {}, history_from_events(fake_events(epochs=4, steps_per_epoch=50,
                                                            log_every=5, grads_every=10,
                                                            seconds_per_step=0.02)))
    a = PlotArea(lambda: [entry])
    a.timer.stop()
    qtbot.addWidget(a)
    a.resize(1000, 700)
    a.show()
    a.refresh(force=True)
    a.entry = entry
    return a


def test_train_curve_is_smoothed_and_the_raw_one_kept_faint(area) -> None:
    h = area.entry.history
    key = f"{area.entry.uid}/train/left"
    x, y = area.loss_plot._items[key].getOriginalDataset()
    assert np.allclose(y, ema_debiased(h.loss["left"].view, 0.6))
    raw_x, raw_y = area.loss_plot._raw[key].getOriginalDataset()
    assert np.allclose(raw_y, h.loss["left"].view)
    assert area.loss_plot._raw[key].opts["pen"].color().alpha() < 100
    area.smooth_slider.setValue(0)  # no smoothing: the curve is the raw data, no faint copy
    _, y0 = area.loss_plot._items[key].getOriginalDataset()
    assert np.allclose(y0, h.loss["left"].view) and key not in area.loss_plot._raw


def test_x_axis_by_step_epoch_or_wall_time(area) -> None:
    key = f"{area.entry.uid}/train/left"
    x, _ = area.loss_plot._items[key].getOriginalDataset()
    assert x[-1] == 199  # the last step index
    area.x_combo.setCurrentText("epoch")
    x, _ = area.loss_plot._items[key].getOriginalDataset()
    assert x[-1] == pytest.approx(199 / 50)
    val_x, _ = area.loss_plot._items[f"{area.entry.uid}/val/left"].getOriginalDataset()
    assert val_x.tolist() == [1.0, 2.0, 3.0, 4.0]  # validation after each epoch
    area.x_combo.setCurrentText("time")
    x, _ = area.loss_plot._items[key].getOriginalDataset()
    assert x[-1] == pytest.approx(200 * 0.02)  # seconds since the start
    assert area.loss_plot.plot.getAxis("bottom").labelText == "wall time (s)"


def test_log_y_and_hover_read_out(area) -> None:
    area.log_box.setChecked(True)
    assert area.loss_plot.plot.getViewBox().state["logMode"][1]
    assert area.metric_plot.plot.getViewBox().state["logMode"][1]  # mse may span decades
    assert not area.grad_panel.cosine.plot.getViewBox().state["logMode"][1]  # -1 .. 1 stays
    text = area.loss_plot.show_values_at(100.0)
    assert text.startswith("step 100:")
    # the read-out gives the value, not its logarithm
    y = ema_debiased(area.entry.history.loss["right"].view, 0.6)[100]
    assert f"right train {y:.4g}" in text
    assert area.loss_plot.vline.isVisible()


def test_metric_picker_and_legends_name_the_tasks(area) -> None:
    names = [area.metric_plot.metric_combo.itemText(i)
             for i in range(area.metric_plot.metric_combo.count())]
    assert names == ["headline metric", "accuracy", "f1"]
    area.metric_plot.metric_combo.setCurrentText("f1")
    labels = sorted(label.text for _, label in area.metric_plot.legend.items)
    assert labels == ["left", "right"]  # one metric: the axis names it, the legend the tasks
    assert area.metric_plot.plot.getAxis("left").labelText == "f1 (higher is better)"
    _, y = next(iter(area.metric_plot._items.values())).getOriginalDataset()
    assert y.tolist() == pytest.approx([0.58, 0.68, 0.78, 0.88])


def test_stacked_shares_sum_to_one(area) -> None:
    s = area.share_plot.last_shares
    assert s.shape[0] == 2
    assert np.allclose(s.sum(axis=0), 1.0)
    assert shares([np.array([1.0, -3.0]), np.array([3.0, 1.0])]).tolist() == [[0.25, 0.75],
                                                                              [0.75, 0.25]]
    assert bin_means(np.arange(10.0), 5).tolist() == [0.5, 2.5, 4.5, 6.5, 8.5]


def test_conflict_map_and_negative_markers(area) -> None:
    area.tabs.setCurrentIndex(1)
    area.refresh(force=True)
    heat = area.grad_panel.heat
    assert heat.matrix[0, 1] == pytest.approx(-1.0)  # cosine at the last measurement
    mx, my = area.grad_panel.cosine.markers.getData()
    # cosine 0.5 - s/40 at s = 10, 20, 30...: first negative at s = 30 (index 29)
    assert mx.tolist() == [29.0] and my.tolist() == pytest.approx([-0.25])
    assert negative_turns(np.array([-0.1, 0.2, -0.3, -0.2, 0.1, -0.5])).tolist() == [0, 2, 5]


def test_live_budget_spaces_redraws_by_their_cost() -> None:
    b = Budget()
    b.add(3.0)
    b.add(2.0)  # a redraw that cost 5 ms in all, at 2 % duty: wait 250 ms
    assert b.next_interval_ms() == 250
    assert b.next_interval_ms() == 40  # nothing drawn: the fastest rate
    b.add(500.0)
    assert b.next_interval_ms() == 1600  # never slower than one redraw (of all plots) in 1.6 s
