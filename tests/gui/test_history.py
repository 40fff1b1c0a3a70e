"""The numbers the plots draw: buffers filled from events, and TensorBoard-style smoothing."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import fake_events

import mtl_engine.events as ev
from mtl_gui.history import Buffer, history_from_events
from mtl_gui.smoothing import SmoothedSeries, ema_debiased


def test_buffer_grows_past_capacity_and_keeps_order() -> None:
    b = Buffer(capacity=4)
    b.extend(range(10))
    b.append(10)
    assert b.view.tolist() == list(range(11))


def test_history_collects_every_step_epoch_and_gradient() -> None:
    h = history_from_events(fake_events(epochs=3, steps_per_epoch=20, log_every=5,
                                        grads_every=10))
    assert h.tasks == ["left", "right"]
    assert h.step.view.tolist() == list(range(60))
    # loss of task k at step s is 2.3 exp(-s / (15 (k + 1))) + 0.1
    assert h.loss["right"].view[9] == pytest.approx(2.3 * math.exp(-9 / 30) + 0.1)
    assert h.weighted["left"].view[-1] == pytest.approx(h.loss["left"].view[-1] * 1.0)
    assert h.ep_index.view.tolist() == [1, 2, 3]
    assert h.ep_step.view.tolist() == [20, 40, 60]
    assert h.val_metrics["right"]["accuracy"].view.tolist() == pytest.approx([0.55, 0.65, 0.75])
    assert h.g_step.view.tolist() == [9, 19, 29, 39, 49, 59]
    # cosine = 0.5 - step / 40: turns negative after step 20
    assert h.cosine_series(0, 1).tolist() == pytest.approx([0.25, 0.0, -0.25, -0.5, -0.75, -1.0])
    assert h.status == "completed"
    assert h.progress() == 1.0


def test_history_reorders_cosine_to_run_task_order() -> None:
    events = fake_events(tasks=("a", "b", "c"), epochs=1, steps_per_epoch=10)
    h = history_from_events(events[:1])
    h.feed(ev.GradientsMeasured(1, 0, "shared", {"a": 1.0, "b": 2.0, "c": 3.0},
                                ((1.0, 0.1, 0.2), (0.1, 1.0, 0.3), (0.2, 0.3, 1.0)), {},
                                ("c", "a", "b")))
    # given in order (c, a, b): cos(c, a) = 0.1, cos(c, b) = 0.2, cos(a, b) = 0.3
    m = h.g_cosine[-1]
    assert m[0, 1] == pytest.approx(0.3) and m[0, 2] == pytest.approx(0.1)
    assert m[1, 2] == pytest.approx(0.2)


def test_time_left_extrapolates_linearly() -> None:
    events = fake_events(epochs=2, steps_per_epoch=20, seconds_per_step=0.5)
    h = history_from_events(events[:3])  # started + two step batches: steps 0..9, 5 s
    assert h.steps_done == 10
    assert h.seconds_left() == pytest.approx(5.0 * 30 / 10)


def _tensorboard(x: np.ndarray, w: float) -> np.ndarray:
    last, n, out = 0.0, 0, []
    for v in x:
        if not math.isfinite(v):
            out.append(float("nan"))
            continue
        last = last * w + (1 - w) * v
        n += 1
        out.append(last / (1 - w**n))
    return np.array(out)


def test_smoothing_hand_values() -> None:
    # w = 0.5 on [1, 3]: m1 = 0.5, m2 = 0.25 + 1.5 = 1.75; debiased 0.5/0.5 = 1, 1.75/0.75
    assert ema_debiased(np.array([1.0, 3.0]), 0.5).tolist() == pytest.approx([1.0, 7 / 3])


@pytest.mark.parametrize("w", [0.0, 0.2, 0.6, 0.9, 0.99, 0.999])
def test_smoothing_matches_tensorboard_loop(w: float) -> None:
    x = np.random.default_rng(1).normal(size=5000)
    x[[3, 700]] = np.nan
    got = ema_debiased(x, w)
    want = _tensorboard(x, w)
    assert np.array_equal(np.isnan(got), np.isnan(want))
    assert np.nanmax(np.abs(got - want)) < 1e-9


@pytest.mark.parametrize("w", [0.3, 0.95, 0.99])
def test_incremental_smoothing_equals_whole_series(w: float) -> None:
    # Tails of 7 points: the debias correction spans many updates for w = 0.99.
    x = np.random.default_rng(2).normal(size=3000)
    x[[5, 400]] = np.nan
    s = SmoothedSeries()
    for end in range(7, 3000, 7):
        s.update(x[:end], w)
    got = s.update(x, w)
    want = _tensorboard(x, w)
    assert np.array_equal(np.isnan(got), np.isnan(want))
    assert np.nanmax(np.abs(got - want)) < 1e-9


def test_smoothing_a_new_weight_recomputes_from_scratch() -> None:
    x = np.random.default_rng(2).normal(size=3000)
    s = SmoothedSeries()
    s.update(x, 0.95)
    # a new weight recomputes from scratch
    assert np.allclose(s.update(x, 0.5), _tensorboard(x, 0.5))


def test_the_runs_table_says_which_epoch_was_kept_and_the_test_metrics() -> None:
    from dataclasses import replace

    from mtl_gui.panels.runs import metrics_text
    from mtl_gui.run_entry import RunEntry

    events = fake_events(epochs=3)
    plain = RunEntry(1, {}, history_from_events(events))
    assert metrics_text(plain) == "left accuracy 0.800, right accuracy 0.750"
    kept = replace(events[-1], selected_epoch=2,
                   final_metrics={"left": {"accuracy": 0.7}, "right": {"accuracy": 0.65}},
                   test_metrics={"left": {"accuracy": 0.69}, "right": {"accuracy": 0.61}})
    entry = RunEntry(2, {}, history_from_events([*events[:-1], kept]))
    assert entry.history.selected_epoch == 2
    assert metrics_text(entry) == ("epoch 2 kept: left accuracy 0.700, right accuracy 0.650; "
                                   "test: left accuracy 0.690, right accuracy 0.610")
