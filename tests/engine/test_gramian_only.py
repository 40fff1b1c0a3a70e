"""The Gramian-only route (input kind GRAMIAN): the same K and the same update as the full route,
without the T x P matrix G."""

from __future__ import annotations

import pytest
import torch

import mtl_engine.gradients as gradients
import mtl_engine.training as training
from mtl_engine.events import StepsLogged
from mtl_engine.gradients import task_gradients, task_gramian
from mtl_engine.registry import STRATEGIES
from mtl_engine.strategies.base import GRADS, GRAMIAN
from mtl_engine.training import run

from .conftest import tiny


def _two_task_net(conv: bool) -> tuple[torch.Tensor, list[torch.Tensor]]:
    torch.manual_seed(0)
    nn = torch.nn
    if conv:
        trunk = nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 6 * 6, 5))
        x = torch.randn(4, 1, 8, 8)
    else:
        trunk = nn.Sequential(nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 5))
        x = torch.randn(4, 6)
    unused = nn.Parameter(torch.randn(3))  # no loss reaches it: zero columns
    heads = [nn.Linear(5, 1) for _ in range(3)]
    rep = trunk(x)
    losses = torch.stack([(h(rep) ** 2).mean() for h in heads])
    return losses, [*trunk.parameters(), unused]


@pytest.mark.parametrize("blocks_from", [0, 2 ** 40], ids=["blocks", "one block"])
@pytest.mark.parametrize("conv", [False, True], ids=["vmapped", "per-task (conv on CPU)"])
def test_gramian_and_update_equal_those_of_the_full_matrix(monkeypatch, conv: bool,
                                                           blocks_from: int) -> None:
    monkeypatch.setattr(gradients, "BLOCKS_FROM", blocks_from)
    losses, shared = _two_task_net(conv)
    g = task_gradients(losses, shared)
    gram = task_gramian(losses, shared)
    assert gram.width == g.shape[1] == sum(p.numel() for p in shared)
    torch.testing.assert_close(gram.gramian, g @ g.T, rtol=1e-6, atol=1e-7)
    w = torch.tensor([0.2, -1.5, 3.0])
    torch.testing.assert_close(gram.direction(w), w @ g, rtol=1e-6, atol=1e-7)
    # the unused parameter's columns (the last 3) are zero in the update too
    assert torch.equal(gram.direction(w)[-3:], torch.zeros(3))


def test_the_vmapped_route_keeps_a_large_g_as_blocks_without_concatenating(monkeypatch) -> None:
    losses, shared = _two_task_net(False)
    width = sum(p.numel() for p in shared)
    monkeypatch.setattr(gradients, "BLOCKS_FROM", 3 * width)  # G has 3 x width values: blocks
    gram = task_gramian(losses, shared)
    assert [tuple(b.shape) for b in gram.blocks] == [(3, p.numel()) for p in shared]
    monkeypatch.setattr(gradients, "BLOCKS_FROM", 3 * width + 1)  # just below: one block
    assert [tuple(b.shape) for b in task_gramian(losses, shared).blocks] == [(3, width)]


def _losses(config) -> list[tuple[float, ...]]:
    return [v for e in run(config) if isinstance(e, StepsLogged) for v in e.losses.values()]


# every method whose weights are a function of K alone (GramianStrategy's default input)
GRAMIAN_METHODS = ["upgrad", "dualproj", "mgda", "pcgrad", "cagrad", "nash_mtl", "imtl_g",
                   "aligned_mtl", "fairgrad", "gradvac"]


def test_the_methods_that_read_only_k_ask_for_k_alone() -> None:
    asking = sorted(n for n in STRATEGIES.names()
                    if GRAMIAN in getattr(STRATEGIES.get(n).obj, "requires", ()))
    assert asking == sorted(GRAMIAN_METHODS)
    assert STRATEGIES.get("config").obj.requires == frozenset({GRADS})  # reads G itself


@pytest.mark.parametrize("name", GRAMIAN_METHODS)
def test_training_on_the_gramian_alone_equals_training_on_the_gradients(monkeypatch, name: str
                                                                        ) -> None:
    cls = STRATEGIES.get(name).obj
    assert cls.requires == frozenset({GRAMIAN})
    config = tiny(strategy={"name": name}, optimizer={"name": "sgd", "lr": 0.05},
                  training={"epochs": 1, "max_steps_per_epoch": 8, "log_every": 2})
    used: list[bool] = []
    real = training.step_gramian

    def spy(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        used.append(True)
        return real(*args, **kwargs)

    monkeypatch.setattr(training, "step_gramian", spy)
    gramian_only = _losses(config)
    assert used, "the loop did not take the Gramian-only route"
    monkeypatch.setattr(cls, "requires", frozenset({GRADS}))
    used.clear()
    full = _losses(config)
    assert not used
    assert len(gramian_only) == len(full) > 0
    for a, b in zip(gramian_only, full):
        assert a == pytest.approx(b, rel=1e-5, abs=1e-7)
    assert gramian_only[0] != gramian_only[-1]  # it trained


def test_diagnostics_steps_still_measure_from_the_full_gradients() -> None:
    config = tiny(strategy={"name": "upgrad"},
                  training={"epochs": 1, "max_steps_per_epoch": 4, "diagnostics_every": 2})
    from mtl_engine.events import GradientsMeasured, RunFinished

    events = list(run(config))
    assert isinstance(events[-1], RunFinished)
    assert [e.step for e in events if isinstance(e, GradientsMeasured)] == [0, 2]
