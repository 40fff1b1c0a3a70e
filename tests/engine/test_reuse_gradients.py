"""Reusing the per-task gradients for the update gives the same training as a plain backward."""

from __future__ import annotations

import pytest

import mtl_engine.training as training
from mtl_engine.events import StepsLogged
from mtl_engine.training import run

from .conftest import tiny

# SGD, not Adam: Adam's update barely changes when a gradient is scaled, which would hide a
# wrong shared gradient.
SGD = {"name": "sgd", "lr": 0.05}


def _losses(config) -> list[tuple[float, ...]]:
    return [v for e in run(config) if isinstance(e, StepsLogged) for v in e.losses.values()]


@pytest.mark.parametrize(
    "changes",
    [
        {"strategy": {"name": "pcgrad"}},
        {"strategy": {"name": "mgda"}, "optimizer": {**SGD, "l2": 0.01, "l1": 0.001}},
        {"strategy": {"name": "nash_mtl"}, "sharing": {"scheme": "soft"}},
        {"strategy": {"name": "uncertainty"}, "training": {"diagnostics_every": 1}},
        {"strategy": {"name": "db_mtl", "params": {"direction": "current"}}},
        # a direction method: its own update on the shared parameters either way
        {"strategy": {"name": "moco"}, "optimizer": {**SGD, "l2": 0.01}},
    ],
    ids=["pcgrad", "mgda+l1/l2", "nash+soft-penalty", "uncertainty+diagnostics",
         "db_mtl-current", "moco+l2"],
)
def test_same_numbers_with_and_without_reuse(monkeypatch, changes) -> None:
    training_changes = {"epochs": 1, "max_steps_per_epoch": 8, "log_every": 2,
                        **changes.get("training", {})}
    config = tiny(**{"optimizer": SGD, **changes, "training": training_changes})
    reused = _losses(config)
    monkeypatch.setattr(training, "REUSE_TASK_GRADIENTS", False)
    plain = _losses(config)
    assert len(reused) == len(plain) > 0
    for a, b in zip(reused, plain):
        assert a == pytest.approx(b, rel=1e-4, abs=1e-6)
    # the runs really trained: the last losses differ from the first
    assert reused[0] != reused[-1]
