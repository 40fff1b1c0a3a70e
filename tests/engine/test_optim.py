"""Optimisers built from their entries' typed parameters, and the learning-rate schedules."""

from __future__ import annotations

import math

import pytest
import torch

from mtl_engine.errors import ConfigError, UnknownNameError
from mtl_engine.optim import lr_factor, make_optimizer
from mtl_engine.registry import OPTIMIZERS, SCHEDULES


def groups(*lrs: float) -> list[dict]:
    return [{"params": [torch.nn.Parameter(torch.zeros(2))], "lr": lr, "name": f"g{i}"}
            for i, lr in enumerate(lrs)]


@pytest.mark.parametrize("name", OPTIMIZERS.names())
def test_every_optimiser_builds_from_its_defaults(name: str) -> None:
    entry = OPTIMIZERS.get(name)
    opt = make_optimizer(name, groups(0.1, 0.01), entry.defaults(), 1e-4)
    assert isinstance(opt, entry.obj)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.01]
    assert all(g["weight_decay"] == 1e-4 for g in opt.param_groups)


def test_sgd_and_adam_get_their_parameters_as_torch_arguments() -> None:
    sgd = make_optimizer("sgd", groups(0.1), {"momentum": 0.5, "nesterov": True}, 0.0)
    assert (sgd.defaults["momentum"], sgd.defaults["nesterov"]) == (0.5, True)
    # torch refuses Nesterov without momentum: it is simply off then
    flat = make_optimizer("sgd", groups(0.1), {"momentum": 0.0, "nesterov": True}, 0.0)
    assert flat.defaults["nesterov"] is False
    adam = make_optimizer("adamw", groups(0.1), {"beta1": 0.8, "beta2": 0.99}, 0.0)
    assert isinstance(adam, torch.optim.AdamW) and adam.defaults["betas"] == (0.8, 0.99)
    assert make_optimizer("adam", groups(0.1), {}, 0.0).defaults["betas"] == (0.9, 0.999)


def test_empty_groups_are_dropped_and_the_first_rate_is_the_default() -> None:
    empty = {"params": [], "lr": 5.0, "name": "strategy"}
    opt = make_optimizer("adam", [*groups(0.3), empty], {}, 0.0)
    assert len(opt.param_groups) == 1 and opt.defaults["lr"] == 0.3


def test_bad_parameters_are_named() -> None:
    with pytest.raises(UnknownNameError, match=r"^optimizer\.params\.beta: unknown parameter"):
        make_optimizer("adam", groups(0.1), {"beta": 0.5}, 0.0)
    with pytest.raises(ConfigError, match=r"^optimizer\.params\.momentum: must be a number in"):
        make_optimizer("sgd", groups(0.1), {"momentum": 2.0}, 0.0)
    with pytest.raises(ConfigError, match=r"^optimizer\.schedule\.params\.gamma"):
        lr_factor("step", 0, 10, {"gamma": -1.0})


def test_schedules_by_hand() -> None:
    assert lr_factor("constant", 7, 10, {}) == 1.0
    # step: gamma ** (epoch // step_size) = 0.5 ** 2 at epoch 25
    assert lr_factor("step", 25, 100, {"step_size": 10, "gamma": 0.5}) == 0.25
    assert lr_factor("step", 9, 100, {}) == 1.0  # defaults: step_size 10
    # cosine at the half-way point: 0.2 + 0.8 * 0.5 * (1 + cos(pi / 2)) = 0.6
    assert lr_factor("cosine", 5, 10, {"min_factor": 0.2}) == pytest.approx(0.6)
    assert lr_factor("cosine", 0, 10, {}) == pytest.approx(1.0)
    assert lr_factor("cosine", 10, 10, {}) == pytest.approx(0.5 * (1 + math.cos(math.pi)))


@pytest.mark.parametrize("name", SCHEDULES.names())
def test_every_schedule_starts_at_the_set_rate(name: str) -> None:
    assert lr_factor(name, 0, 10, SCHEDULES.get(name).defaults()) == pytest.approx(1.0)
