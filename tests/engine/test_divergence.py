"""After a NaN or inf, the weights kept are those of a step whose losses were checked finite,
for every `log_every` and every position of the bad step in its logging interval; the message's
step numbers are true.

"The weights at step k" are the weights step k's losses were computed from: those after k
updates, which a run stopped before step k also ends with. A loss that turns infinite at a
chosen step (a test loss, below) poisons that step's update, so without the rollback the saved
model would be NaN.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from mtl_engine.config import ExperimentConfig, from_dict
from mtl_engine.control import RunControl
from mtl_engine.events import RunFailed, RunFinished, StepsLogged
from mtl_engine.export import load_bundle
from mtl_engine.registry import LOSSES
from mtl_engine.training import run

from .conftest import tiny

STEPS = 12  # one epoch of this many steps: no validation (which also calls the loss) before it

_BAD = {"step": None, "calls": 0}  # the training step whose loss is infinite; None: never


def _inf_at_step(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    call = _BAD["calls"]
    _BAD["calls"] += 1
    value = torch.nn.functional.binary_cross_entropy_with_logits(pred, target.float())
    return value * math.inf if call == _BAD["step"] else value


LOSS = "_test_inf_at_chosen_step"


@pytest.fixture(scope="module", autouse=True)
def _test_loss():
    """Registered while this module runs, not at import: the registry contract tests
    parametrise over every loss at collection and must not meet this one."""
    LOSSES.register(LOSS, "test only: infinite at the step _BAD names", task_types=("binary",))(
        _inf_at_step)
    yield
    LOSSES._entries.pop(LOSS, None)  # noqa: SLF001 - no public unregister: tests only


def _config(log_every: int) -> ExperimentConfig:
    d = tiny(training={"epochs": 1, "max_steps_per_epoch": STEPS, "log_every": log_every,
                       "diagnostics_every": 0}).to_dict()
    d["tasks"][1]["loss"] = LOSS  # parity
    return from_dict(d)


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    return load_bundle(folder / "model.pt").model.state_dict()


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The weights at step k, from a run with the same loss (never infinite) stopped before
    step k."""
    cache: dict[int, dict[str, torch.Tensor]] = {}

    def weights_at(k: int) -> dict[str, torch.Tensor]:
        if k not in cache:
            _BAD.update(step=None, calls=0)
            control = RunControl()
            if k == 0:
                control.stop()
            out = tmp_path_factory.mktemp(f"reference{k}")
            for event in run(_config(1), control, out_dir=out):
                if isinstance(event, StepsLogged) and event.steps[-1] == k - 1:
                    control.stop()  # seen before step k: the run ends after k updates
            assert isinstance(event, RunFinished) and event.step == k
            cache[k] = _weights(out)
        return cache[k]

    return weights_at


def _expected_restore(bad: int, log_every: int) -> int | None:
    """What the two-snapshot scheme keeps (see training._StepBuffer): the first step of the bad
    step's interval if that step was checked finite, else the first step of the interval before;
    nothing was checked when the very first step is bad."""
    start = bad - bad % log_every
    if bad > start:
        return start
    return start - log_every if start else None


CASES = [(every, bad) for every in (1, 3, 5) for bad in range(2 * every + 1)]


@pytest.mark.parametrize(("log_every", "bad"), CASES)
def test_weights_come_from_a_step_checked_finite(tmp_path, reference, log_every: int,
                                                 bad: int) -> None:
    _BAD.update(step=bad, calls=0)
    events = list(run(_config(log_every), out_dir=tmp_path))
    fail = events[-1]
    assert isinstance(fail, RunFailed) and fail.error_type == "DivergedError"
    assert fail.task == "parity" and fail.step == bad
    kept = _expected_restore(bad, log_every)
    assert fail.restored_step == kept
    # every step before the bad one is logged (finite), the bad one and later ones are not
    logged = [s for e in events if isinstance(e, StepsLogged) for s in e.steps]
    assert logged == list(range(bad))
    assert all(math.isfinite(v) for e in events if isinstance(e, StepsLogged)
               for series in e.losses.values() for v in series)
    got = _weights(tmp_path)
    want = reference(0 if kept is None else kept)
    assert got.keys() == want.keys()
    for name in got:
        assert torch.equal(got[name], want[name]), name
    if kept is None:
        assert fail.message == ("loss of task 'parity' became inf at step 0; no step was "
                                "checked finite, so the model keeps its initial weights")
    else:
        assert kept < bad and kept in logged  # a step whose losses were checked, and finite
        assert fail.message == (f"loss of task 'parity' became inf at step {bad}; weights "
                                f"restored to step {kept}, whose losses were checked finite")


def test_log_every_one_keeps_the_step_before_the_bad_one(tmp_path, reference) -> None:
    # the case of the report: "became inf at step 2; weights restored to step 2" was false
    _BAD.update(step=2, calls=0)
    fail = list(run(_config(1), out_dir=tmp_path))[-1]
    assert isinstance(fail, RunFailed) and (fail.step, fail.restored_step) == (2, 1)
    assert "became inf at step 2; weights restored to step 1," in fail.message
    for name, t in _weights(tmp_path).items():
        assert torch.equal(t, reference(1)[name])
