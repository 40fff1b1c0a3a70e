"""Per-task gradients (every route gives the same G) and the diagnostics, against hand values."""

from __future__ import annotations

import math
import warnings

import pytest
import torch

from mtl_engine import gradients
from mtl_engine.gradients import (
    GradientFallbackWarning,
    diagnostics,
    diagnostics_from_gramian,
    task_gradients,
)


def by_hand_losses() -> tuple[torch.Tensor, torch.Tensor]:
    theta = torch.tensor([1.0, 2.0], requires_grad=True)  # a = 1, b = 2
    a, b = theta[0], theta[1]
    return torch.stack([a * a + 3 * b, a * b]), theta  # gradients (2a, 3) and (b, a)


def test_gradients_of_two_losses_by_hand() -> None:
    losses, theta = by_hand_losses()
    g = task_gradients(losses, [theta])
    torch.testing.assert_close(g, torch.tensor([[2.0, 3.0], [2.0, 1.0]]))
    losses.sum().backward()  # the graph is still there for the combined loss
    torch.testing.assert_close(theta.grad, torch.tensor([4.0, 4.0]))


def test_representation_gradients_by_hand() -> None:
    theta = torch.tensor([1.0, 2.0], requires_grad=True)
    rep = 3 * theta  # non-leaf: the representation route (one backward per task)
    losses = torch.stack([rep[0] * rep[1], rep[1] ** 2])
    g = task_gradients(losses, [rep])
    torch.testing.assert_close(g, torch.tensor([[6.0, 3.0], [0.0, 12.0]]))


class Net(torch.nn.Module):
    def __init__(self, n_tasks: int) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.trunk = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(),
                                         torch.nn.Linear(8, 6), torch.nn.ReLU())
        self.heads = torch.nn.ModuleList(torch.nn.Sequential(torch.nn.Linear(6, 4),
                                                             torch.nn.Tanh(), torch.nn.Linear(4, 3))
                                         for _ in range(n_tasks))
        self.unused = torch.nn.Parameter(torch.ones(2))  # a shared tensor no loss reaches

    def losses(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        rep = self.trunk(x)
        return torch.stack([torch.nn.functional.cross_entropy(h(rep), y) for h in self.heads]), rep


def one_by_one(losses: torch.Tensor, wrt: list[torch.Tensor]) -> torch.Tensor:
    rows = []
    for li in losses:
        grads = torch.autograd.grad(li, wrt, retain_graph=True, allow_unused=True)
        rows.append(torch.cat([(g if g is not None else torch.zeros_like(t)).reshape(-1)
                               for g, t in zip(grads, wrt)]))
    return torch.stack(rows)


def test_batched_and_one_by_one_agree_on_a_network() -> None:
    net = Net(4)
    x, y = torch.randn(16, 5), torch.randint(0, 3, (16,))
    losses, rep = net.losses(x, y)
    wrt = [*net.trunk.parameters(), net.unused]
    expected = one_by_one(losses, wrt)
    assert expected[:, -2:].abs().sum() == 0
    torch.testing.assert_close(task_gradients(losses, wrt), expected)
    torch.testing.assert_close(task_gradients(losses, [rep]), one_by_one(losses, [rep]))
    assert task_gradients(losses, [rep]).shape == (4, 16 * 6)  # P = batch x features


class TimesTwo(torch.autograd.Function):
    """A backward that reads a value on the host, which a vmapped backward cannot do."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return 2 * x

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return grad * (2.0 if math.isfinite(grad.sum().item()) else 0.0)


def test_unbatchable_graph_falls_back_once_with_a_warning_and_the_same_numbers() -> None:
    net = Net(3)
    x, y = torch.randn(8, 5), torch.randint(0, 3, (8,))
    wrt = list(net.trunk.parameters())
    rep = TimesTwo.apply(net.trunk(x))
    losses = torch.stack([torch.nn.functional.cross_entropy(h(rep), y) for h in net.heads])
    with pytest.warns(GradientFallbackWarning, match="one backward pass per task"):
        g = task_gradients(losses, wrt)
    torch.testing.assert_close(g, one_by_one(losses, wrt))
    assert any("aten::item" in note or "item" in note for note in gradients.fallback_notes())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the decision is remembered: no second attempt, no warning
        torch.testing.assert_close(task_gradients(losses, wrt), g)


def test_convolution_kernels_on_the_cpu_take_the_per_task_route() -> None:
    torch.manual_seed(1)
    conv = torch.nn.Conv2d(1, 3, 3)
    heads = [torch.nn.Linear(3 * 4 * 4, 1) for _ in range(3)]
    rep = TimesTwo.apply(torch.relu(conv(torch.randn(4, 1, 6, 6)))).flatten(1)
    losses = torch.stack([h(rep).pow(2).mean() for h in heads])
    wrt = list(conv.parameters())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no vmapped attempt, so nothing to fall back from
        g = task_gradients(losses, wrt)
    torch.testing.assert_close(g, one_by_one(losses, wrt))


def test_losses_without_a_graph_give_zero_gradients() -> None:
    w = torch.nn.Parameter(torch.ones(3))
    g = task_gradients(torch.tensor([1.0, 2.0]), [w])
    assert torch.equal(g, torch.zeros(2, 3))


def test_diagnostics_by_hand() -> None:
    g = torch.tensor([[1.0, 0.0], [0.0, 2.0], [-1.0, 1.0]])
    out = diagnostics(g, torch.tensor([1.0, 0.5, 0.0]))  # update d = (1, 1)
    torch.testing.assert_close(out["norms"], torch.tensor([1.0, 2.0, math.sqrt(2)]))
    c = 1 / math.sqrt(2)
    torch.testing.assert_close(out["cosine"], torch.tensor([[1.0, 0.0, -c], [0.0, 1.0, c],
                                                            [-c, c, 1.0]]))
    torch.testing.assert_close(out["update_cosine"], torch.tensor([c, c, 0.0]))


def test_diagnostics_of_a_zero_gradient_are_zeros_not_nan() -> None:
    g = torch.tensor([[0.0, 0.0], [3.0, 4.0]])
    out = diagnostics(g, torch.tensor([1.0, 1.0]))
    assert torch.isfinite(out["cosine"]).all() and torch.isfinite(out["update_cosine"]).all()
    torch.testing.assert_close(out["cosine"], torch.tensor([[0.0, 0.0], [0.0, 1.0]]))
    torch.testing.assert_close(out["update_cosine"], torch.tensor([0.0, 1.0]))
    zero_update = diagnostics(g, torch.tensor([1.0, 0.0]))["update_cosine"]
    torch.testing.assert_close(zero_update, torch.zeros(2))


def test_diagnostics_from_the_gramian_equal_those_from_the_gradients() -> None:
    g = torch.randn(4, 7, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    w = torch.tensor([0.2, 1.0, 0.5, 0.0], dtype=torch.float64)
    a, b = diagnostics(g, w), diagnostics_from_gramian(g @ g.T, w)
    for key in ("norms", "cosine", "update_cosine"):
        torch.testing.assert_close(a[key], b[key])
    unit = g / g.norm(dim=1, keepdim=True)
    d = w @ g
    torch.testing.assert_close(a["update_cosine"], unit @ d / d.norm())
