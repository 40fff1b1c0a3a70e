"""Contract tests run against EVERY registered strategy (loss- and gradient-based alike).

A tiny hand-made two-layer model with dropout drives each strategy through a few epochs with the
training loop's driver (strategies.driver: wants -> inputs -> combine -> backward -> step ->
after_step; then end_epoch), so a new registry entry is checked here without anyone writing a test
for it.

A strategy that returns an update direction (DB-MTL, MoCo, GradDrop) is driven in the first grad
mode it supports, and the loop's backward (gradients.backward_along) must put exactly that
direction on the shared layer (back-propagated from the representation in grad_mode
"representation") and train the heads with the total alone.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from typing import Any

import pytest
import torch
import torch.nn.functional as F

import mtl_engine.strategies  # noqa: F401  (registers every strategy)
from mtl_engine.config import GRAD_MODES
from mtl_engine.errors import ConfigError, SolverError
from mtl_engine.events import TaskInfo
from mtl_engine.gradients import backward_along
from mtl_engine.registry import STRATEGIES, Param, parse_params, schema_of, validate_params
from mtl_engine.strategies import driver
from mtl_engine.strategies.base import REQUESTS, Combined, EpochStats, build_strategy

NAMES = STRATEGIES.names()
TYPES = ("classification", "binary", "regression")
EPOCHS, STEPS = 5, 2  # past STCH's default 4 warm-up epochs and DWA's two epochs of history


def make_tasks(n: int, types: tuple[str, ...] = TYPES) -> tuple[TaskInfo, ...]:
    out = []
    for i in range(n):
        kind = types[i % len(types)]
        metric, hib = ("mse", False) if kind == "regression" else ("accuracy", True)
        out.append(TaskInfo(f"task{i}", kind, 3 if kind == "classification" else 1,
                            "mse" if kind == "regression" else "cross_entropy", metric, hib))
    return tuple(out)


class TinyModel(torch.nn.Module):
    def __init__(self, tasks: tuple[TaskInfo, ...]) -> None:
        super().__init__()
        self.tasks = tasks
        self.shared = torch.nn.Linear(6, 8)
        self.heads = torch.nn.ModuleList(
            torch.nn.Linear(8, 3 if t.type == "classification" else 1) for t in tasks)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        h = torch.tanh(F.dropout(self.shared(x), p=0.3, training=True))
        self.rep = h  # the shared representation the heads read (grad_mode "representation")
        outs = {}
        for t, head in zip(self.tasks, self.heads):
            o = head(h)
            outs[t.name] = o if t.type == "classification" else o.squeeze(-1)
        return outs


def task_losses(outs: dict[str, torch.Tensor], tasks: tuple[TaskInfo, ...],
                ys: list[torch.Tensor]) -> torch.Tensor:
    fns = {"classification": F.cross_entropy, "binary": F.binary_cross_entropy_with_logits,
           "regression": F.mse_loss}
    return torch.stack([fns[t.type](outs[t.name], y) for t, y in zip(tasks, ys)])


def targets(tasks: tuple[TaskInfo, ...], n: int, gen: torch.Generator) -> list[torch.Tensor]:
    ys = []
    for t in tasks:
        if t.type == "classification":
            ys.append(torch.randint(0, 3, (n,), generator=gen))
        elif t.type == "binary":
            ys.append(torch.randint(0, 2, (n,), generator=gen).float())
        else:
            ys.append(torch.randn(n, generator=gen))
    return ys


class TinyInputs(driver.StepInputs):
    """Everything a strategy may want, computed on the tiny model (all kinds: it refuses none)."""

    source = "the contract test"

    def __init__(self, model: TinyModel, x: torch.Tensor, losses: torch.Tensor,
                 outs: dict[str, torch.Tensor], tasks: tuple[TaskInfo, ...],
                 ys: list[torch.Tensor], grad_mode: str = "shared") -> None:
        self.model, self.x, self.losses, self.outs = model, x, losses, outs
        self.tasks, self.ys, self.grad_mode = tasks, ys, grad_mode

    def grads(self) -> torch.Tensor:
        wrt = ([self.model.rep] if self.grad_mode == "representation"
               else list(self.model.shared.parameters()))
        return torch.stack([torch.cat([g.reshape(-1) for g in torch.autograd.grad(
            li, wrt, retain_graph=True)]) for li in self.losses])

    def representation(self) -> torch.Tensor | None:
        return self.model.rep.detach() if self.grad_mode == "representation" else None

    def last_shared_grads(self) -> torch.Tensor:  # the one shared layer is the last one
        return self.grads()

    def outputs(self) -> dict[str, torch.Tensor]:
        return {k: v.detach() for k, v in self.outs.items()}

    @torch.no_grad()
    def mc_outputs(self, passes: int) -> list[dict[str, torch.Tensor]]:
        return [self.model(self.x) for _ in range(passes)]

    @torch.no_grad()
    def losses_after(self) -> torch.Tensor:
        return task_losses(self.model(self.x), self.tasks, self.ys)


def drive(name: str, tasks: tuple[TaskInfo, ...]) -> list[Combined]:
    """Train the tiny model with strategy `name` for a few epochs; check every step's answer."""
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    entry = STRATEGIES.get(name)
    params = validate_params(entry.params, {}, "strategy.params")
    strategy = build_strategy(name, params, tasks, [1.0] * len(tasks), torch.device("cpu"))
    model = TinyModel(tasks)
    for own in strategy.parameters():
        assert isinstance(own, torch.Tensor) and own.is_leaf and own.requires_grad, \
            f"{name}: parameters() must be leaf tensors that require grad"
    opt = torch.optim.SGD([*model.parameters(), *strategy.parameters()], lr=0.05)
    modes = entry.meta["grad_modes"]
    mode = "shared" if not modes or "shared" in modes else modes[0]
    batch = torch.randn(16, 6, generator=gen)
    ys = targets(tasks, 16, gen)
    answers, step = [], 0
    for epoch in range(EPOCHS):
        sums = torch.zeros(len(tasks))
        for _ in range(STEPS):
            outs = model(batch)
            losses = task_losses(outs, tasks, ys)
            inputs = TinyInputs(model, batch, losses, outs, tasks, ys, mode)
            wants = driver.wanted(strategy, step)
            info = driver.prepare(strategy, wants, step, epoch, inputs)
            comb = strategy.combine(losses, info)
            check_answer(name, comb, len(tasks))
            # the reported weights are the effective ones: d total / d L_i
            applied = torch.autograd.grad(comb.total, losses, retain_graph=True)[0]
            assert torch.allclose(applied, comb.weights.to(applied.dtype), rtol=1e-4,
                                  atol=1e-6), \
                f"{name}: weights {comb.weights} are not d total / d L_i = {applied} (step {step})"
            total = comb.total if comb.aux is None else comb.total + comb.aux
            opt.zero_grad()
            width = None if info.grads is None else int(info.grads.shape[1])
            direction = driver.direction_of(strategy, comb, width, mode)
            if direction is None:
                total.backward()
            else:
                check_direction(name, model, strategy.parameters(), total, direction, mode)
            grads = [p.grad for p in model.shared.parameters()]
            assert all(g is not None and torch.isfinite(g).all() for g in grads), \
                f"{name}: the total must back-propagate finite gradients to the shared layer"
            opt.step()
            driver.finish(strategy, wants, info, inputs)
            sums += losses.detach()
            answers.append(comb)
            step += 1
        means = (sums / STEPS).tolist()
        metrics = [{"mse": m, "r2": 0.1} if t.type == "regression" else {"accuracy": 0.5 + 0.05 * i}
                   for i, (t, m) in enumerate(zip(tasks, means))]
        headline = [m[t.metric] for t, m in zip(tasks, metrics)]
        strategy.end_epoch(EpochStats(epoch + 1, means, means, metrics, headline))
    json.dumps(strategy.state())  # plain data only: it goes into a model bundle
    return answers


def check_direction(name: str, model: TinyModel, own: list[torch.Tensor], total: torch.Tensor,
                    direction: torch.Tensor, mode: str) -> None:
    """The loop's backward with a direction: the shared layer gets exactly the direction (or its
    back-propagation from the representation), the heads and own parameters d total / d them."""
    assert not direction.requires_grad
    shared = list(model.shared.parameters())
    rest = [*model.heads.parameters(), *own]
    rep = model.rep if mode == "representation" else None
    expected_rest = torch.autograd.grad(total, rest, retain_graph=True, allow_unused=True)
    expected = direction if rep is None else torch.cat([g.reshape(-1) for g in torch.autograd.grad(
        rep, shared, direction.view_as(rep), retain_graph=True)])
    backward_along(total, direction, shared, rest, None, rep)
    got = torch.cat([p.grad.reshape(-1) for p in shared])
    if rep is None:
        assert torch.equal(got, expected.to(got.dtype)), \
            f"{name}: the shared gradient is not the direction"
    else:
        torch.testing.assert_close(got, expected, rtol=1e-6, atol=1e-7)
    for p, want in zip(rest, expected_rest):
        if want is None:
            assert p.grad is None or not p.grad.any()
        else:
            torch.testing.assert_close(p.grad, want, rtol=1e-6, atol=1e-7)


def check_answer(name: str, comb: Combined, n: int) -> None:
    assert isinstance(comb, Combined)
    assert comb.total.dim() == 0, f"{name}: total must be a scalar"
    assert torch.isfinite(comb.total), f"{name}: total not finite"
    assert comb.total.requires_grad, f"{name}: the total must back-propagate"
    w = comb.weights
    assert tuple(w.shape) == (n,), f"{name}: weights of shape {tuple(w.shape)}, expected ({n},)"
    assert torch.isfinite(w).all(), f"{name}: weights not finite: {w}"
    assert not w.requires_grad, f"{name}: weights must be detached"
    if comb.aux is not None:
        assert comb.aux.dim() == 0 and torch.isfinite(comb.aux)
    if comb.direction is not None:
        assert comb.direction.dim() == 1 and torch.isfinite(comb.direction).all()
    if comb.shown is not None:
        assert tuple(comb.shown.shape) == (n,) and not comb.shown.requires_grad
        assert torch.isfinite(comb.shown).all()


def build_or_skip(name: str, tasks: tuple[TaskInfo, ...]) -> list[Combined]:
    try:
        return drive(name, tasks)
    except SolverError as exc:  # an optional solver that is not installed must say so
        assert str(exc), f"{name}: a SolverError must say which package is missing"
        pytest.skip(f"{name}: {exc}")


@pytest.mark.parametrize("n_tasks", [1, 2, 5])
@pytest.mark.parametrize("name", NAMES)
def test_strategy_runs_and_reports_finite_weights(name: str, n_tasks: int) -> None:
    answers = build_or_skip(name, make_tasks(n_tasks))
    assert len(answers) == EPOCHS * STEPS


@pytest.mark.parametrize("name", NAMES)
def test_regression_only_tasks_work_or_are_refused_by_name(name: str) -> None:
    tasks = make_tasks(2, ("regression",))
    try:
        build_or_skip(name, tasks)
    except ConfigError as exc:
        assert exc.path.startswith("strategy"), exc.path
        assert "task0" in str(exc) or "task1" in str(exc), f"{name}: error names no task: {exc}"


@pytest.mark.parametrize("name", NAMES)
def test_registry_entry_is_complete(name: str) -> None:
    entry = STRATEGIES.get(name)
    assert entry.summary.strip() and "\n" not in entry.summary
    assert entry.paper.strip(), f"{name}: cite the paper (or the seed) it comes from"
    assert entry.meta.get("family") in ("loss", "gradient")
    assert entry.obj.requires <= REQUESTS
    for p in entry.params:
        assert isinstance(p, Param) and p.help.strip(), f"{name}.{p.name}: needs help text"
        if p.type in ("int", "float") and p.default is not None:
            assert not math.isnan(float(p.default))
    filled = validate_params(entry.params, {}, f"strategy.params[{name}]")
    assert filled == entry.defaults()


@pytest.mark.parametrize("name", NAMES)
def test_parameters_are_a_frozen_dataclass_whose_defaults_pass_its_schema(name: str) -> None:
    entry = STRATEGIES.get(name)
    cls = entry.params_type
    assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen, \
        f"{name}: declare the parameters as a nested @dataclass(frozen=True) class Params"
    assert entry.obj.Params is cls and entry.params == schema_of(cls)
    defaults = cls()
    as_given = {p.name: getattr(defaults, f.name)  # keyed as a preset names them
                for f, p in zip(dataclasses.fields(cls), entry.params)}
    assert parse_params(cls, as_given, f"strategy.params[{name}]") == defaults
    strategy = build_strategy(name, {}, make_tasks(2), [1.0, 1.0], torch.device("cpu"))
    assert strategy.p == defaults  # what the code reads: the defaults, typed
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(strategy.p, "x", 1)  # noqa: B010 - the attribute is the point


def same_kind(value: Any, default: Any) -> bool:
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, (int, float)):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(default, Mapping):
        return isinstance(value, Mapping)
    return isinstance(value, type(default))


@pytest.mark.parametrize("name", NAMES)
def test_every_declared_fact_has_a_value_of_its_defaults_kind(name: str) -> None:
    entry = STRATEGIES.get(name)
    assert set(entry.meta) == set(STRATEGIES.facts)
    for fact, default in STRATEGIES.facts.items():
        assert default is not None, f"fact {fact!r}: its default must show its kind"
        value = entry.meta[fact]
        assert same_kind(value, default), \
            f"{name}: fact {fact}={value!r} is not a {type(default).__name__} like its default"
    # what the kind alone does not say
    assert set(entry.meta["grad_modes"]) <= set(GRAD_MODES), entry.meta["grad_modes"]
    assert entry.meta["toy_scale_l1"] > 0
    entry.parse(entry.meta["toy_params"], f"{name}.toy_params")  # the toy's values are valid
    assert entry.meta["conflict_tol"] >= 0
    if not entry.meta["order_invariant"]:  # random draws must be reproducible
        assert "seed" in {p.name for p in entry.params}, f"{name}: random, but takes no seed"
