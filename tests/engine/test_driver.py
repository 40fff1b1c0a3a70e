"""The strategy driver: each kind of input reaches the strategy exactly as the caller computed it,
only when wanted, and what a caller cannot give is refused by name."""

from __future__ import annotations

import pytest
import torch

import mtl_engine.strategies  # noqa: F401  (registers every strategy)
from mtl_engine.errors import ConfigError
from mtl_engine.events import TaskInfo
from mtl_engine.registry import STRATEGIES, validate_params
from mtl_engine.strategies import driver
from mtl_engine.strategies.base import (
    GRADS,
    GRADS_SPLIT,
    LAST_SHARED_GRADS,
    LOSSES_AFTER,
    MC_OUTPUTS,
    OUTPUTS,
    Combined,
    StepInfo,
    Strategy,
    build_strategy,
)

TASKS = (TaskInfo("a", "regression", 1, "mse", "mse", False),
         TaskInfo("b", "regression", 1, "mse", "mse", False))
G = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
GRAMIAN = torch.tensor([[5.0, 11.0], [11.0, 25.0]])  # G G^T by hand


class Recorder(Strategy):
    """Wants what it is told; keeps what `combine` and `after_step` were handed."""

    def __init__(self, wants: frozenset[str], passes: int = 3) -> None:
        self.requires = wants  # type: ignore[misc]  (the base class wants `requires` every step)
        self._passes = passes
        self.seen: StepInfo | None = None
        self.after: object = "not called"
        super().__init__(TASKS)

    def mc_passes(self) -> int:
        return self._passes

    def combine(self, losses: torch.Tensor, info: StepInfo) -> Combined:
        self.seen = info
        return self.weighted_sum(losses, self.ones())

    def after_step(self, losses_after: torch.Tensor | None, info: StepInfo) -> None:
        self.after = losses_after


class Everything(driver.StepInputs):
    """Gives every kind of input, as fixed objects, and counts what was asked."""

    source = "the test provider"

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.outs = {"a": torch.tensor([0.5]), "b": torch.tensor([1.5])}
        self.mc = [{"a": torch.tensor([float(i)])} for i in range(3)]
        self.after = torch.tensor([0.25, 0.75])
        self.last = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
        self.asked_passes: int | None = None

    def grads(self) -> torch.Tensor:
        self.calls.append(GRADS)
        return G

    def last_shared_grads(self) -> torch.Tensor:
        self.calls.append(LAST_SHARED_GRADS)
        return self.last

    def outputs(self) -> dict[str, torch.Tensor]:
        self.calls.append(OUTPUTS)
        return self.outs

    def mc_outputs(self, passes: int) -> list[dict[str, torch.Tensor]]:
        self.calls.append(MC_OUTPUTS)
        self.asked_passes = passes
        return self.mc

    def losses_after(self) -> torch.Tensor:
        self.calls.append(LOSSES_AFTER)
        return self.after

    def grads_split(self, parts: int = 2) -> torch.Tensor:
        self.calls.append(GRADS_SPLIT)
        return torch.stack([G, 2 * G])


class GradsOnly(driver.StepInputs):
    source = "the test provider"

    def grads(self) -> torch.Tensor:
        return G


def drive(strategy: Strategy, inputs: driver.StepInputs, step: int = 4,
          epoch: int = 1) -> StepInfo:
    wants = driver.wanted(strategy, step)
    info = driver.prepare(strategy, wants, step, epoch, inputs)
    strategy.combine(torch.ones(2, requires_grad=True), info)
    driver.finish(strategy, wants, info, inputs)
    return info


def test_grads_are_handed_over_with_their_gramian() -> None:
    s, given = Recorder(frozenset({GRADS})), Everything()
    info = drive(s, given)
    assert s.seen is info and (info.step, info.epoch) == (4, 1)
    assert info.grads is G and torch.equal(info.gramian, GRAMIAN)
    assert given.calls == [GRADS] and s.after is None


def test_last_shared_grads_fill_the_grads_and_gramian() -> None:
    s, given = Recorder(frozenset({LAST_SHARED_GRADS})), Everything()
    info = drive(s, given)
    assert info.grads is given.last
    assert torch.equal(info.gramian, torch.tensor([[4.0, 0.0], [0.0, 1.0]]))
    assert given.calls == [LAST_SHARED_GRADS]


def test_outputs_are_handed_over() -> None:
    s, given = Recorder(frozenset({OUTPUTS})), Everything()
    info = drive(s, given)
    assert info.outputs is given.outs and info.grads is None and info.mc_outputs is None
    assert given.calls == [OUTPUTS]


def test_mc_outputs_are_asked_for_as_many_passes_as_the_strategy_says() -> None:
    s, given = Recorder(frozenset({MC_OUTPUTS}), passes=3), Everything()
    info = drive(s, given)
    assert given.asked_passes == 3 and info.mc_passes == 3 and info.mc_outputs is given.mc
    assert given.calls == [MC_OUTPUTS]


def test_bayesian_uncertainty_says_its_passes_itself() -> None:
    entry = STRATEGIES.get("bayesian_uncertainty")
    params = validate_params(entry.params, {"passes": 5}, "strategy.params")
    s = build_strategy("bayesian_uncertainty", params, TASKS, (1.0, 1.0), torch.device("cpu"))
    assert s.mc_passes() == 5
    given = Everything()
    info = driver.prepare(s, driver.wanted(s, 0), 0, 0, given)
    assert given.asked_passes == 5 and info.mc_passes == 5


def test_losses_after_reach_after_step_only_when_wanted() -> None:
    s, given = Recorder(frozenset({LOSSES_AFTER})), Everything()
    info = drive(s, given)
    assert s.after is given.after and info.grads is None and info.outputs is None
    assert given.calls == [LOSSES_AFTER]
    quiet, untouched = Recorder(frozenset()), Everything()
    drive(quiet, untouched)
    assert quiet.after is None and untouched.calls == []


def test_inputs_are_computed_in_the_driver_order() -> None:
    s, given = Recorder(frozenset({MC_OUTPUTS, OUTPUTS, LOSSES_AFTER, GRADS})), Everything()
    drive(s, given)
    assert given.calls == [GRADS, OUTPUTS, MC_OUTPUTS, LOSSES_AFTER]


def test_an_input_the_caller_cannot_give_is_refused_by_name() -> None:
    entry = STRATEGIES.get("max_entropy")
    params = validate_params(entry.params, {}, "strategy.params")
    tasks = (TaskInfo("a", "binary", 1, "bce", "accuracy", True),) + TASKS[1:]
    s = build_strategy("max_entropy", params, tasks, (1.0, 1.0), torch.device("cpu"))
    with pytest.raises(ConfigError) as err:
        driver.prepare(s, driver.wanted(s, 0), 0, 0, GradsOnly())
    assert err.value.path == "strategy.name"
    assert str(err.value) == ("strategy.name: the test provider cannot give 'outputs', which "
                              "strategy 'max_entropy' wants")


def test_losses_after_the_caller_cannot_give_are_refused_by_name() -> None:
    s = Recorder(frozenset({GRADS, LOSSES_AFTER}))
    wants = driver.wanted(s, 0)
    info = driver.prepare(s, wants, 0, 0, GradsOnly())  # grads: given
    with pytest.raises(ConfigError, match="cannot give 'losses_after', which strategy 'Recorder'"):
        driver.finish(s, wants, info, GradsOnly())


def test_an_unknown_input_is_refused_by_name() -> None:
    with pytest.raises(ConfigError, match="strategy 'Recorder' wants 'hessian'"):
        driver.wanted(Recorder(frozenset({"hessian"})), 0)


def test_provides_lists_the_overridden_methods() -> None:
    # the Gramian is formed from the gradients by default, so a caller giving GRADS gives it too
    assert driver.provides(GradsOnly) == frozenset({GRADS, "gramian"})
    assert driver.provides(Everything) == frozenset(driver.INPUTS)
    assert driver.provides(driver.StepInputs) == frozenset()


class WithRepresentation(GradsOnly):
    rep = torch.tensor([[1.0], [-2.0]])

    def representation(self) -> torch.Tensor | None:
        return self.rep


def test_the_representation_comes_with_the_grads_where_the_caller_has_one() -> None:
    s = Recorder(frozenset({GRADS}))
    assert drive(s, WithRepresentation()).representation is WithRepresentation.rep
    assert drive(Recorder(frozenset({GRADS})), GradsOnly()).representation is None
    assert drive(Recorder(frozenset({OUTPUTS})), Everything()).representation is None


def direction(strategy: Strategy, d: torch.Tensor | None, width: int | None, mode: str):
    comb = Combined(total=torch.zeros(()), weights=torch.ones(2), direction=d)
    return driver.direction_of(strategy, comb, width, mode)


def test_a_direction_that_fits_is_handed_back_detached() -> None:
    moco = build_strategy("moco", {}, TASKS, (1.0, 1.0), torch.device("cpu"))
    d = torch.tensor([1.0, 2.0], requires_grad=True)
    out = direction(moco, d, 2, "shared")
    assert torch.equal(out, d) and not out.requires_grad
    assert direction(moco, None, None, "representation") is None  # no direction: nothing to check
    assert direction(Recorder(frozenset()), d, 2, "representation") is not None  # no grad_modes


@pytest.mark.parametrize("d,width,mode,message", [
    (torch.zeros(3), 2, "shared", "strategy 'moco' returned a direction of shape (3,), but its "
                                  "gradients in grad_mode 'shared' have 2 values"),
    (torch.zeros(2, 1), 2, "shared", "strategy 'moco' returned a direction of shape (2, 1), "
                                     "but its gradients in grad_mode 'shared' have 2 values"),
    (torch.zeros(2), 2, "representation", "strategy 'moco' returns an update direction for "
                                          "grad_mode 'shared' only, got 'representation'"),
    (torch.zeros(2), None, "shared", "strategy 'moco' returned an update direction at a step "
                                     "where it asked for no per-task gradients"),
])
def test_a_direction_that_does_not_fit_is_refused_by_name(d, width, mode, message) -> None:
    moco = build_strategy("moco", {}, TASKS, (1.0, 1.0), torch.device("cpu"))
    with pytest.raises(ConfigError) as err:
        direction(moco, d, width, mode)
    assert err.value.path == "strategy.grad_mode"
    assert str(err.value) == f"strategy.grad_mode: {message}"
