"""The training loop: event order, determinism, stop/pause, NaN handling, diagnostics."""

from __future__ import annotations

import math
import threading

import torch

from mtl_engine.control import RunControl
from mtl_engine.events import (
    EpochEnded,
    GradientsMeasured,
    RunFailed,
    RunFinished,
    RunStarted,
    StepsLogged,
)
from mtl_engine.export import load_bundle
from mtl_engine.registry import LOSSES
from mtl_engine.training import run

from .conftest import tiny


def kinds(events: list) -> list[str]:
    return [e.kind for e in events]


def test_event_order_and_contents() -> None:
    events = list(run(tiny()))
    assert isinstance(events[0], RunStarted)
    assert isinstance(events[-1], RunFinished) and events[-1].status == "completed"
    started = events[0]
    assert [t.name for t in started.tasks] == ["digit", "parity", "ge5"]
    assert started.steps_per_epoch == 10 and started.total_steps == 20
    assert started.param_counts["total"] == sum(
        v for k, v in started.param_counts.items() if k != "total")
    epochs = [e for e in events if isinstance(e, EpochEnded)]
    assert [e.epoch for e in epochs] == [1, 2]
    steps = [s for e in events if isinstance(e, StepsLogged) for s in e.steps]
    assert steps == list(range(20))  # every step logged exactly once, in order
    # the epoch-1 EpochEnded comes after all of epoch 1's steps and before epoch 2's
    i = kinds(events).index("EpochEnded")
    assert max(s for e in events[:i] if isinstance(e, StepsLogged) for s in e.steps) == 9
    first = next(e for e in events if isinstance(e, StepsLogged))
    assert len(first.steps) == 5  # log_every
    for t in ("digit", "parity", "ge5"):
        assert first.weights[t] == (1.0,) * 5  # equal weighting
        for loss, weight, weighted in zip(first.losses[t], first.weights[t], first.weighted[t]):
            assert weighted == loss * weight
    total = [sum(first.losses[t][k] for t in first.losses) for k in range(5)]
    assert all(math.isclose(a, b, rel_tol=1e-5) for a, b in zip(total, first.total))
    m = epochs[-1].val_metrics
    assert set(m["digit"]) >= {"accuracy", "macro_f1", "recall"}
    assert 0.0 <= m["digit"]["accuracy"] <= 1.0
    assert events[-1].final_metrics == m


def test_learns_something() -> None:
    events = list(run(tiny(training={"epochs": 3, "max_steps_per_epoch": None})))
    last = [e for e in events if isinstance(e, EpochEnded)][-1]
    assert last.val_metrics["digit"]["accuracy"] > 0.6  # chance is 0.1
    assert last.val_metrics["parity"]["accuracy"] > 0.7  # chance is about 0.5


def test_same_seed_same_numbers_on_cpu() -> None:
    a = [e for e in run(tiny()) if isinstance(e, (StepsLogged, EpochEnded))]
    b = [e for e in run(tiny()) if isinstance(e, (StepsLogged, EpochEnded))]
    assert [e.losses for e in a if isinstance(e, StepsLogged)] == \
        [e.losses for e in b if isinstance(e, StepsLogged)]
    assert a[-1].val_metrics == b[-1].val_metrics
    c = [e for e in run(tiny(training={"seed": 4})) if isinstance(e, StepsLogged)]
    assert c[0].losses != a[0].losses


def test_stop_is_honoured_within_one_step() -> None:
    control = RunControl()
    seen = []
    for event in run(tiny(training={"log_every": 1}), control):
        seen.append(event)
        if isinstance(event, StepsLogged) and event.steps[-1] == 3:
            control.stop()
    last = seen[-1]
    assert isinstance(last, RunFinished) and last.status == "stopped"
    assert last.step == 4  # steps 0..3 ran; the request was seen before step 4


def test_pause_blocks_until_resume() -> None:
    control = RunControl()
    gen = run(tiny(training={"log_every": 1}), control)
    next(gen)  # RunStarted
    next(gen)  # step 0 logged
    control.pause()
    result: list = []
    t = threading.Thread(target=lambda: result.append(next(gen)))
    t.start()
    t.join(0.5)
    assert t.is_alive(), "a paused run must not make progress"
    control.resume()
    t.join(10)
    assert not t.is_alive() and isinstance(result[0], StepsLogged) and result[0].steps == (1,)
    gen.close()


def _nan_after(n: int):
    calls = {"n": 0}

    def loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        calls["n"] += 1
        value = torch.nn.functional.binary_cross_entropy_with_logits(pred, target.float())
        return value * float("nan") if calls["n"] > n else value

    return loss


def test_nan_loss_names_task_and_step_and_keeps_good_weights(tmp_path) -> None:
    name = "_test_nan_after_6"
    if name not in LOSSES:
        LOSSES.register(name, "test-only: NaN from the 7th call", task_types=("binary",))(
            _nan_after(6))
    cfg = tiny(training={"log_every": 5, "max_steps_per_epoch": 10})
    d = cfg.to_dict()
    d["tasks"][1]["loss"] = name
    from mtl_engine.config import from_dict

    events = list(run(from_dict(d), out_dir=tmp_path))
    fail = events[-1]
    assert isinstance(fail, RunFailed)
    assert fail.task == "parity" and fail.step == 6
    # step 6 is in the interval [5, 9]; its first step's losses were finite, so the weights
    # at step 5 are checked ones (see test_divergence.py for every position)
    assert fail.restored_step == 5
    assert "parity" in fail.message and "step 6" in fail.message
    loaded = load_bundle(tmp_path / "model.pt")
    assert all(torch.isfinite(p).all() for p in loaded.model.parameters())
    assert loaded.status == "failed"


def test_diagnostics_events_every_n_steps() -> None:
    events = list(run(tiny(training={"diagnostics_every": 4})))
    grads = [e for e in events if isinstance(e, GradientsMeasured)]
    assert [g.step for g in grads] == [0, 4, 8, 12, 16]
    g = grads[0]
    assert g.tasks == ("digit", "parity", "ge5")
    for i in range(3):
        assert math.isclose(g.cosine[i][i], 1.0, rel_tol=1e-4)
        for j in range(3):
            assert math.isclose(g.cosine[i][j], g.cosine[j][i], rel_tol=1e-4, abs_tol=1e-6)
    assert all(v > 0 for v in g.norms.values())


def test_bad_dataset_task_fails_as_an_event_not_a_traceback() -> None:
    d = tiny().to_dict()
    d["tasks"][0]["name"] = "digt"
    from mtl_engine.config import from_dict

    events = list(run(from_dict(d)))
    assert len(events) == 1 and isinstance(events[0], RunFailed)
    assert events[0].message.startswith("tasks[0].name: unknown task of dataset 'digits' 'digt'")
