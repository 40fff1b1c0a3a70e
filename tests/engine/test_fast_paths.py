"""The step's fast paths change nothing but the time: fused losses where no target is missing,
one optimiser group (and torch's multi-tensor update) where the settings allow, and no per-step
strategy calls for constant weights. Each is compared against the engine with it turned off."""

from __future__ import annotations

import functools
import math
from dataclasses import fields

import pytest
import torch

from mtl_engine import optim, training
from mtl_engine.config import ExperimentConfig, from_dict
from mtl_engine.events import EpochEnded, RunFinished, StepsLogged
from mtl_engine.losses import missing_targets, task_loss
from mtl_engine.presets import load
from mtl_engine.registry import LOSSES
from mtl_engine.task_losses import BatchLosses

from .conftest import tiny

B = 33


def _case(loss: str, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """pred (with grad), target with no missing value, and the class or positive weight."""
    if loss == "cross_entropy":
        pred = torch.randn(B, 4, generator=gen) * 3
        target = torch.randint(0, 4, (B,), generator=gen)
        return pred, target, torch.tensor([0.5, 2.0, 1.0, 3.5])
    if loss == "bce":
        pred = torch.randn(B, 1, generator=gen) * 3  # a (B, 1) head, as the loss accepts
        return pred, torch.randint(0, 2, (B,), generator=gen), torch.tensor(2.7)
    pred = torch.randn(B, generator=gen)
    target = torch.randn(B, generator=gen) * 2
    if loss == "poisson":
        target = torch.poisson(torch.full((B,), 2.0), generator=gen)
    elif loss == "huber":
        target = pred.detach() + torch.randn(B, generator=gen) * 1.5  # both sides of delta 1
    return pred, target, torch.tensor(1.0)


def _value_and_grad(fn, pred: torch.Tensor, target: torch.Tensor
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    p = pred.clone().requires_grad_(True)
    value = fn(p, target)
    (grad,) = torch.autograd.grad(value, p)
    return value.detach(), grad


# every loss unweighted, and each that takes class or positive weights with them too
_CASES = [(name, False) for name in LOSSES.names()] + [
    (name, True) for name in LOSSES.names() if LOSSES.get(name).meta["weighting"] is not None]


@pytest.mark.parametrize(("loss", "weighted"), _CASES)
def test_every_fused_loss_equals_the_masked_one_on_complete_targets(loss: str,
                                                                    weighted: bool) -> None:
    entry = LOSSES.get(loss)
    assert entry.meta["fused"] is not None, f"{loss} has no fused form"
    gen = torch.Generator().manual_seed(7)
    pred, target, weight = _case(loss, gen)
    w = weight if weighted else None
    masked, fused = task_loss(loss, w), task_loss(loss, w, fused=True)
    assert masked is not fused
    a, ga = _value_and_grad(masked, pred, target)
    b, gb = _value_and_grad(fused, pred, target)
    torch.testing.assert_close(b, a, rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(gb, ga, rtol=1e-5, atol=1e-8)
    if weighted:  # the weights really enter: the unweighted value differs
        assert not torch.isclose(task_loss(loss, fused=True)(pred, target), b)


def test_weighted_cross_entropy_by_hand() -> None:
    # two rows, classes 0 and 1 with weights 1 and 3: (1 * l0 + 3 * l1) / (1 + 3)
    pred = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    target = torch.tensor([0, 1])
    l0, l1 = math.log(1 + math.exp(-2.0)), math.log(1 + math.exp(-1.0))
    fused = task_loss("cross_entropy", torch.tensor([1.0, 3.0]), fused=True)
    assert float(fused(pred, target)) == pytest.approx((l0 + 3 * l1) / 4, rel=1e-6)


def test_missing_targets_by_loss() -> None:
    assert missing_targets("cross_entropy", torch.tensor([2, -1, 0])).tolist() == [False, True,
                                                                                   False]
    assert missing_targets("bce", torch.tensor([1.0, math.nan, -1.0, 0.0])).tolist() == [
        False, True, True, False]
    # a regression target may be negative: only NaN is missing
    assert missing_targets("mse", torch.tensor([-3.0, math.nan])).tolist() == [False, True]


def _batch_losses(columns: dict[str, torch.Tensor], kinds: list[tuple[str, str, str]]
                  ) -> BatchLosses:
    """A BatchLosses over the given columns; `kinds` are (task name, type, loss)."""
    from types import SimpleNamespace

    tasks = tuple(SimpleNamespace(name=n, source=n, type=t, loss=loss) for n, t, loss in kinds)
    config = SimpleNamespace(tasks=[SimpleNamespace(enabled=True, class_weight="none")
                                    for _ in kinds])
    masked = [task_loss(loss) for _, _, loss in kinds]
    return BatchLosses(config, tasks, columns, masked, torch.float32)  # type: ignore[arg-type]


def test_batch_forms_take_the_masked_loss_only_where_a_target_is_missing() -> None:
    # 10 rows; task "b" misses rows 3 and 8. Order = identity, batches of 4: rows 0-3, 4-7, 8-9
    cols = {"a": torch.arange(10) % 3, "b": torch.tensor([0, 1, 1, -1, 0, 0, 1, 0, -1, 1]),
            "c": torch.linspace(-1, 1, 10)}
    bl = _batch_losses(cols, [("a", "classification", "cross_entropy"), ("b", "binary", "bce"),
                              ("c", "regression", "mse")])
    forms = bl.forms(torch.arange(10), 4, 3)
    fused, masked = bl.fused, bl.masked
    assert [f[1] is masked[1] for f in forms] == [True, False, True]
    assert all(f[0] is fused[0] and f[2] is fused[2] for f in forms)
    # shuffled: rows 3 and 8 both land in the middle batch
    order = torch.tensor([0, 1, 2, 4, 3, 8, 5, 6, 7, 9])
    assert [f[1] is masked[1] for f in bl.forms(order, 4, 3)] == [False, True, False]
    # fewer batches than the rows make (max_steps_per_epoch)
    assert len(bl.forms(torch.arange(10), 4, 2)) == 2


def test_batch_targets_are_the_columns_at_the_rows() -> None:
    cols = {"a": torch.tensor([3, 1, 2, 0, 1]), "b": torch.tensor([1, -1, 0, 1, 0]),
            "c": torch.tensor([0.5, math.nan, -2.0, 1.0, 4.0], dtype=torch.float64)}
    bl = _batch_losses(cols, [("a", "classification", "cross_entropy"), ("b", "binary", "bce"),
                              ("c", "regression", "mse")])
    idx = torch.tensor([4, 0, 1])
    a, b, c = bl.targets(idx)
    assert a.dtype == torch.int64 and a.tolist() == [1, 3, 1]
    assert b.dtype == torch.float32 and b.tolist() == [0.0, 1.0, -1.0]
    assert c.dtype == torch.float32 and c[:2].tolist() == [4.0, 0.5] and math.isnan(c[2])


# ---------------------------------------------------------------------------- whole runs
def _run(config: ExperimentConfig) -> list:
    events = list(training.run(config))
    assert isinstance(events[-1], RunFinished), events[-1]
    return events


_TIMING = {"wall", "samples_per_sec", "seconds", "started_at"}


def _numbers(events: list) -> list[tuple]:
    """Every field of the logged events except the timings."""
    out = []
    for e in events:
        if isinstance(e, (StepsLogged, EpochEnded, RunFinished)):
            out.append((type(e).__name__, *(getattr(e, f.name) for f in fields(e)
                                            if f.name not in _TIMING)))
    return out


@pytest.mark.parametrize("strategy", [
    {"name": "equal"},
    {"name": "static"},
])
def test_constant_weights_fast_path_logs_exactly_the_same(monkeypatch, strategy) -> None:
    tasks = [{"name": "digit", "weight": 0.7}, {"name": "parity", "weight": 1.9},
             {"name": "ge5", "weight": 0.3}]
    config = tiny(strategy=strategy, tasks=tasks,
                  optimizer={"name": "adam", "lr": 0.01, "l2": 1e-3},
                  training={"epochs": 2, "max_steps_per_epoch": 7, "log_every": 3})
    calls: list[int] = []
    real = training._Loop._constant_step

    def counted(self, *a):
        calls.append(self.step)
        return real(self, *a)

    monkeypatch.setattr(training._Loop, "_constant_step", counted)
    fast = _run(config)
    assert calls == list(range(1, 14))  # every step after the first took the fast path
    monkeypatch.setattr(training, "CONSTANT_WEIGHT_STRATEGIES", ())
    calls.clear()
    slow = _run(config)
    assert calls == []
    assert _numbers(fast) == _numbers(slow)
    logged = [e for e in fast if isinstance(e, StepsLogged)]
    assert sum(len(e.steps) for e in logged) == 14 and set(logged[0].extra) == {"l2"}
    expected = (0.7, 1.9, 0.3) if strategy["name"] == "static" else (1.0, 1.0, 1.0)
    for e in logged:
        for name, w in zip(("digit", "parity", "ge5"), expected):
            assert e.weights[name] == pytest.approx((w,) * len(e.steps))


def test_a_strategy_with_changing_weights_never_takes_the_fast_path(monkeypatch) -> None:
    taken: list[int] = []
    monkeypatch.setattr(training._Loop, "_constant_step",
                        lambda self, *a: taken.append(1))  # would break the run if called
    _run(tiny(strategy={"name": "dwa"}, training={"epochs": 2, "max_steps_per_epoch": 4}))
    assert taken == []


def test_one_optimiser_group_and_foreach_give_the_same_run(monkeypatch) -> None:
    config = tiny(optimizer={"name": "adam", "lr": 0.01, "weight_decay": 1e-3},
                  training={"epochs": 2, "max_steps_per_epoch": 6})
    merged = _run(config)
    monkeypatch.setattr(optim, "MERGE_GROUPS", False)
    monkeypatch.setattr(optim, "FOREACH", False)
    separate = _run(config)
    assert _numbers(merged) == _numbers(separate)


@pytest.mark.parametrize("name", ["sgd", "adam", "adamw"])
def test_merged_groups_update_every_parameter_the_same(monkeypatch, name: str) -> None:
    def steps(merge: bool, foreach: bool) -> tuple[list[torch.Tensor], int]:
        monkeypatch.setattr(optim, "MERGE_GROUPS", merge)
        monkeypatch.setattr(optim, "FOREACH", foreach)
        gen = torch.Generator().manual_seed(1)
        shared = [torch.nn.Parameter(torch.randn(5, 4, generator=gen))]
        heads = [torch.nn.Parameter(torch.randn(3, generator=gen)),
                 torch.nn.Parameter(torch.randn(2, 2, generator=gen))]
        groups = [{"params": shared, "lr": 0.05, "name": "shared"},
                  {"params": heads, "lr": 0.05, "name": "tasks"},
                  {"params": [], "lr": 0.05, "name": "strategy", "weight_decay": 0.0}]
        opt = optim.make_optimizer(name, groups, {}, 1e-2)
        for k in range(5):
            for p in shared + heads:
                p.grad = torch.sin(p.detach() * (k + 1))
            opt.step()
        return [p.detach() for p in shared + heads], len(opt.param_groups)

    one, n_one = steps(True, True)
    two, n_two = steps(False, False)
    assert (n_one, n_two) == (1, 2)
    assert all(torch.equal(a, b) for a, b in zip(one, two))


def test_groups_with_different_rates_stay_apart() -> None:
    groups = [{"params": [torch.nn.Parameter(torch.zeros(2))], "lr": 0.1, "name": "shared"},
              {"params": [torch.nn.Parameter(torch.zeros(2))], "lr": 0.2, "name": "tasks"},
              {"params": [torch.nn.Parameter(torch.zeros(2))], "lr": 0.2, "name": "strategy",
               "weight_decay": 0.0}]
    assert [g["name"] for g in optim.merge_groups(groups)] == ["shared", "tasks", "strategy"]
    same = [dict(g, lr=0.1) for g in groups[:2]] + groups[2:]
    merged = optim.merge_groups(same)
    assert [g["name"] for g in merged] == ["shared+tasks", "strategy"]
    assert [len(g["params"]) for g in merged] == [2, 1]


def _penguins(epochs: int = 2) -> ExperimentConfig:
    d = load("penguins_mixed").to_dict()
    d["strategy"] = {"name": "equal", "params": {}, "grad_mode": "shared"}
    d["training"].update(epochs=epochs, diagnostics_every=0)
    return from_dict(d)


def test_fused_losses_on_a_table_with_missing_labels(monkeypatch) -> None:
    """penguins_mixed misses some sex and body-mass labels: the batches holding one take the
    masked loss, the others the fused one; the run is the masked run to round-off."""
    config = _penguins()
    seen: list[tuple] = []
    real = training._Loop._step

    def spy(self, idx, fns):
        seen.append(tuple(f is g for f, g in zip(fns, self.batches.fused)))
        return real(self, idx, fns)

    monkeypatch.setattr(training._Loop, "_step", spy)
    fused = _run(config)
    assert (True, True, True) in seen  # batches with every label present
    assert (True, False, True) in seen or (True, True, False) in seen  # and some with a hole
    assert all(k[0] for k in seen)  # species is never missing
    monkeypatch.setattr(training, "FUSED_LOSSES", False)
    seen.clear()
    masked = _run(config)
    a = [e for e in fused if isinstance(e, StepsLogged)]
    b = [e for e in masked if isinstance(e, StepsLogged)]
    assert [e.steps for e in a] == [e.steps for e in b]
    for x, y in zip(a, b):
        for name in x.losses:
            assert x.losses[name] == pytest.approx(y.losses[name], rel=1e-4, abs=1e-6)


def test_the_fused_form_keeps_its_bound_weight() -> None:
    fn = task_loss("bce", torch.tensor(3.0), fused=True)
    assert isinstance(fn, functools.partial) and float(fn.keywords["pos_weight"]) == 3.0
