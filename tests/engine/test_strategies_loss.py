"""The loss-based strategies against hand-computed numbers (formulas in docs of each module)."""

from __future__ import annotations

import math

import pytest
import torch

import mtl_engine.strategies  # noqa: F401  (registers every strategy)
from mtl_engine.errors import ConfigError
from mtl_engine.events import TaskInfo
from mtl_engine.registry import STRATEGIES, validate_params
from mtl_engine.strategies.base import (
    GRADS,
    LAST_SHARED_GRADS,
    MC_OUTPUTS,
    EpochStats,
    StepInfo,
    Strategy,
)

LOSS_METHODS = STRATEGIES.where("family", "loss")


def task(name: str, kind: str = "classification", classes: int = 3) -> TaskInfo:
    metric, hib = ("mse", False) if kind == "regression" else ("accuracy", True)
    return TaskInfo(name, kind, classes if kind == "classification" else 1, "loss", metric, hib)


def make(name: str, tasks: list[TaskInfo] | int = 2, static: tuple[float, ...] = (),
         **params: object) -> Strategy:
    if isinstance(tasks, int):
        tasks = [task(f"t{i}") for i in range(tasks)]
    full = validate_params(STRATEGIES.get(name).params, params, "strategy.params")
    return STRATEGIES.get(name).obj(tasks, full, static, "cpu")


def L(*values: float) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float32, requires_grad=True)


def info(step: int = 0, **kw: object) -> StepInfo:
    return StepInfo(step=step, epoch=0, **kw)


def stats(epoch: int, train: list[float], headline: list[float | None] | None = None,
          metrics: list[dict[str, float]] | None = None) -> EpochStats:
    n = len(train)
    return EpochStats(epoch, train, train, metrics or [{} for _ in range(n)],
                      headline if headline is not None else [None] * n)


def grad_wrt(total: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return torch.autograd.grad(total, x, retain_graph=True)[0]


def close(a: torch.Tensor, b: list[float], tol: float = 1e-5) -> None:
    expected = torch.tensor(b, dtype=torch.float32)
    torch.testing.assert_close(a.detach().float(), expected, atol=tol, rtol=tol)


def test_loss_methods_read_no_gradients_so_take_any_grad_mode() -> None:
    # the family a picker groups a method under agrees with what the method asks for
    assert LOSS_METHODS, "no strategy of the loss family is registered"
    for name in LOSS_METHODS:
        entry = STRATEGIES.get(name)
        assert not entry.obj.requires & {GRADS, LAST_SHARED_GRADS}, name
        assert entry.meta["grad_modes"] == (), f"{name}: a loss method works in every grad_mode"


# ----------------------------------------------------------------- static, equal


def test_equal_sums_the_losses_with_unit_weights() -> None:
    losses = L(1.5, 2.0, 0.5)
    c = make("equal", 3).combine(losses, info())
    assert c.total.item() == pytest.approx(4.0)
    close(c.weights, [1, 1, 1])


def test_static_uses_the_configured_task_weights() -> None:
    losses = L(1.0, 4.0)
    c = make("static", 2, static=(2.0, 0.5)).combine(losses, info())
    assert c.total.item() == pytest.approx(2 * 1 + 0.5 * 4)
    close(c.weights, [2.0, 0.5])
    close(grad_wrt(c.total, losses), [2.0, 0.5])


# ----------------------------------------------------------------- uncertainty, IMTL-L


def test_uncertainty_total_weights_and_gradient_wrt_log_variance() -> None:
    s = make("uncertainty", 2, init_s=0.5)
    losses = L(2.0, 3.0)
    c = s.combine(losses, info())
    e = math.exp(-0.5)
    assert c.total.item() == pytest.approx(e * 2 + 0.5 + e * 3 + 0.5, rel=1e-6)
    close(c.weights, [e, e])
    # d/ds_i [exp(-s_i) L_i + s_i] = 1 - exp(-s_i) L_i
    close(grad_wrt(c.total, s.parameters()[0]), [1 - 2 * e, 1 - 3 * e])
    close(grad_wrt(c.total, losses), [e, e])


def test_uncertainty_half_regression_variant_halves_only_regression_terms() -> None:
    s = make("uncertainty", [task("depth", "regression"), task("seg")], half_regression=True)
    losses = L(4.0, 2.0)
    c = s.combine(losses, info())
    assert c.total.item() == pytest.approx(0.5 * 4.0 + 2.0)  # s = 0: the s-terms vanish
    close(c.weights, [0.5, 1.0])
    close(grad_wrt(c.total, s.parameters()[0]), [0.5 - 0.5 * 4.0, 1.0 - 2.0])


def test_uncertainty_learns_the_log_variance_that_balances_a_fixed_loss() -> None:
    # The minimiser of exp(-s) L + s is s = log L: a task with loss 4 ends at weight 1/4.
    s = make("uncertainty", 1)
    opt = torch.optim.SGD(s.parameters(), lr=0.1)
    for _ in range(300):
        opt.zero_grad()
        s.combine(torch.tensor([4.0]), info()).total.backward()
        opt.step()
    assert s.parameters()[0].item() == pytest.approx(math.log(4.0), abs=1e-3)


def test_imtl_l_total_weights_and_gradient_wrt_scale() -> None:
    s = make("imtl_l", 2, init_s=math.log(2.0))
    losses = L(1.0, 3.0)
    c = s.combine(losses, info())
    assert c.total.item() == pytest.approx(2 * 1 + 2 * 3 - 2 * math.log(2.0), rel=1e-6)
    close(c.weights, [2.0, 2.0])
    # d/ds_i [exp(s_i) L_i - s_i] = exp(s_i) L_i - 1
    close(grad_wrt(c.total, s.parameters()[0]), [2 * 1 - 1, 2 * 3 - 1])


# ----------------------------------------------------------------- DWA


def test_dwa_weights_from_epoch_means_with_temperature_2() -> None:
    s = make("dwa", 2, temp=2.0)
    losses = L(1.0, 1.0)
    close(s.combine(losses, info()).weights, [1, 1])
    s.end_epoch(stats(1, [1.0, 2.0]))
    close(s.combine(losses, info()).weights, [1, 1])  # still only one epoch mean
    s.end_epoch(stats(2, [0.5, 1.8]))
    # r = (0.5/1.0, 1.8/2.0) = (0.5, 0.9); w = 2 exp(r/2) / sum exp(r/2)
    e1, e2 = math.exp(0.25), math.exp(0.45)
    c = s.combine(L(3.0, 1.0), info())
    close(c.weights, [2 * e1 / (e1 + e2), 2 * e2 / (e1 + e2)])
    assert c.total.item() == pytest.approx(3 * 2 * e1 / (e1 + e2) + 2 * e2 / (e1 + e2), rel=1e-6)
    # the next epoch uses the last two means only: r = (0.5/0.5, 0.9/1.8)
    s.end_epoch(stats(3, [0.5, 0.9]))
    e1, e2 = math.exp(0.5), math.exp(0.25)
    close(s.combine(losses, info()).weights, [2 * e1 / (e1 + e2), 2 * e2 / (e1 + e2)])


# ----------------------------------------------------------------- RLW


def test_rlw_is_a_softmax_of_normal_draws_reproducible_for_a_seed() -> None:
    a, b, other = make("rlw", 3, seed=42), make("rlw", 3, seed=42), make("rlw", 3, seed=43)
    gen = torch.Generator().manual_seed(42)
    losses = L(1.0, 2.0, 3.0)
    seen = []
    for step in range(4):
        wa = a.combine(losses, info(step)).weights
        expected = torch.softmax(torch.randn(3, generator=gen), dim=0)
        torch.testing.assert_close(wa, expected)
        torch.testing.assert_close(b.combine(losses, info(step)).weights, wa)
        assert wa.sum().item() == pytest.approx(1.0, abs=1e-6)
        seen.append(wa)
    assert not torch.allclose(seen[0], seen[1])  # a fresh draw every step
    assert not torch.allclose(other.combine(losses, info()).weights, seen[0])


def test_rlw_without_seed_follows_the_run_seed() -> None:
    losses = L(1.0, 2.0)
    torch.manual_seed(7)
    first = make("rlw", 2).combine(losses, info()).weights
    torch.manual_seed(7)
    again = make("rlw", 2).combine(losses, info()).weights
    torch.manual_seed(8)
    other = make("rlw", 2).combine(losses, info()).weights
    torch.testing.assert_close(first, again)
    assert not torch.allclose(first, other)


# ----------------------------------------------------------------- GLS


def test_gls_is_the_geometric_mean_with_effective_weights() -> None:
    losses = L(2.0, 8.0)
    c = make("gls", 2).combine(losses, info())
    assert c.total.item() == pytest.approx(4.0, rel=1e-6)  # sqrt(2 * 8)
    # d/dL_i (L1 L2)^(1/2) = total / (2 L_i)
    close(c.weights, [4.0 / 4.0, 4.0 / 16.0])
    close(grad_wrt(c.total, losses), [1.0, 0.25])


def test_gls_of_three_tasks() -> None:
    losses = L(1.0, 8.0, 27.0)
    c = make("gls", 3).combine(losses, info())
    assert c.total.item() == pytest.approx(6.0, rel=1e-5)  # (1 * 8 * 27)^(1/3)
    close(c.weights, [6 / 3, 6 / 24, 6 / 81])


# ----------------------------------------------------------------- FAMO


def test_famo_weights_total_and_two_xi_updates_by_hand() -> None:
    famo = make("famo", 2, w_lr=0.025, gamma=1e-3)
    losses = L(1.0, 4.0)
    comb = famo.combine(losses, info())
    # z = (1/2, 1/2); c = sum z_i / L_i = 0.5 + 0.125; weights = (z_i / L_i) / c
    assert comb.total.item() == pytest.approx(0.5 * math.log(4.0) / 0.625, rel=1e-6)
    close(comb.weights, [0.8, 0.2])
    close(grad_wrt(comb.total, losses), [0.8, 0.2])

    # step 1: delta = log L_old - log L_new; grad_xi = z * (delta - z . delta) (+ gamma xi = 0)
    famo.after_step(torch.tensor([0.5, 3.0]), info())
    d1 = [math.log(2.0), math.log(4.0 / 3.0)]
    g1 = [0.5 * (d1[0] - sum(d1) / 2), 0.5 * (d1[1] - sum(d1) / 2)]
    b1, b2, lr, eps = 0.9, 0.999, 0.025, 1e-8
    m = [(1 - b1) * g for g in g1]
    v = [(1 - b2) * g * g for g in g1]
    xi = [-lr * (mi / (1 - b1)) / (math.sqrt(vi / (1 - b2)) + eps) for mi, vi in zip(m, v)]
    close(famo.xi, xi, tol=1e-7)
    assert xi[0] == pytest.approx(-0.025) and xi[1] == pytest.approx(0.025)  # Adam's first step
    # task 2's loss fell less (log 4/3 < log 2), so it now weighs more
    z = [math.exp(x) / (math.exp(xi[0]) + math.exp(xi[1])) for x in xi]
    close(famo.combine(L(1.0, 1.0), info(1)).weights, z)  # equal losses: weights = z

    # step 2, weight decay now acts on xi != 0
    famo.after_step(torch.tensor([0.9, 0.8]), info(1))
    d2 = [-math.log(0.9), -math.log(0.8)]
    zd = z[0] * d2[0] + z[1] * d2[1]
    g2 = [z[i] * (d2[i] - zd) + 1e-3 * xi[i] for i in range(2)]
    m = [b1 * m[i] + (1 - b1) * g2[i] for i in range(2)]
    v = [b2 * v[i] + (1 - b2) * g2[i] ** 2 for i in range(2)]
    xi = [xi[i] - lr * (m[i] / (1 - b1**2)) / (math.sqrt(v[i] / (1 - b2**2)) + eps)
          for i in range(2)]
    close(famo.xi, xi, tol=1e-7)


def test_famo_asks_for_the_losses_after_the_step() -> None:
    s = make("famo", 2)
    assert "losses_after" in s.wants(0)
    s.combine(L(1.0, 2.0), info())
    with pytest.raises(ValueError, match="losses after"):
        s.after_step(None, info())


# ----------------------------------------------------------------- STCH


def test_stch_warms_up_on_log_losses_records_z_for_one_epoch_then_smooth_tchebycheff() -> None:
    # the authors' code (Xi-L/STCH): epochs 0..W-1 and the recording epoch W train on
    # sum log L_i; z is the mean of epoch W's batch losses; STCH from epoch W + 1
    s = make("stch", 2, mu=1.0, warmup_epochs=2)
    for epoch, batches in ((0, [(5.0, 5.0)]), (1, [(4.0, 2.0), (3.0, 1.0)]),
                           (2, [(3.0, 1.0), (1.0, 0.0)])):
        for values in batches:
            losses = L(values[0], max(values[1], 1.0))  # keep the logs finite
            c = s.combine(losses, StepInfo(step=0, epoch=epoch))
            assert c.total.item() == pytest.approx(sum(math.log(v) for v in losses.tolist()))
            close(c.weights, [1 / v for v in losses.tolist()])  # d sum log L / d L_i
            close(grad_wrt(c.total, losses), [1 / v for v in losses.tolist()])
        s.end_epoch(stats(epoch + 1, [9.0, 9.0]))  # the epoch means play no part
        assert s.z is None
    # z = mean of the recording epoch's batches (3, 1) and (1, 1) = (2, 1)
    losses = L(1.0, 2.0)
    c = s.combine(losses, StepInfo(step=0, epoch=3))
    close(s.z, [2.0, 1.0])
    # log(L/z) = (-log 2, log 2): total = 2 log(1/2 + 2)
    assert c.total.item() == pytest.approx(2 * math.log(2.5), rel=1e-6)
    # weights T softmax_i / L_i with softmax = (0.5, 2) / 2.5
    close(c.weights, [2 * 0.2 / 1.0, 2 * 0.8 / 2.0])
    close(grad_wrt(c.total, losses), [0.4, 0.8])
    s.combine(L(7.0, 7.0), StepInfo(step=0, epoch=4))
    close(s.z, [2.0, 1.0])  # z is fixed once recorded


def test_stch_small_mu_sharpens_towards_the_worst_task() -> None:
    s = make("stch", 2, mu=0.5, warmup_epochs=0)  # W = 0: the first epoch records z
    for values in ((3.0, 0.5), (1.0, 0.5)):
        s.combine(L(*values), StepInfo(step=0, epoch=0))
    losses = L(1.0, 2.0)
    c = s.combine(losses, StepInfo(step=0, epoch=1))  # z = (2, 0.5)
    # log(L/z)/mu = 2 log(0.5, 4): exp terms (0.25, 16)
    assert c.total.item() == pytest.approx(2 * 0.5 * math.log(16.25), rel=1e-6)
    p = [0.25 / 16.25, 16 / 16.25]
    close(c.weights, [2 * p[0] / 1.0, 2 * p[1] / 2.0])
    close(grad_wrt(c.total, losses), [2 * p[0] / 1.0, 2 * p[1] / 2.0])


# ----------------------------------------------------------------- performance weighting


def test_performance_weights_from_validation_scores() -> None:
    tasks = [task("cls"), task("reg_r2", "regression"), task("reg_mse", "regression")]
    s = make("performance", tasks)
    losses = L(1.0, 1.0, 1.0)
    close(s.combine(losses, info()).weights, [1, 1, 1])  # before any validation
    s.end_epoch(stats(1, [1, 1, 1], headline=[0.8, 0.3, 1.0],
                      metrics=[{"accuracy": 0.8}, {"mse": 0.3, "r2": 0.4}, {"mse": 1.0}]))
    # scores: accuracy 0.8; R^2 0.4; 1 / (1 + 1.0) = 0.5; w = 3 a / sum a
    close(s.combine(losses, info()).weights, [3 * 0.8 / 1.7, 3 * 0.4 / 1.7, 3 * 0.5 / 1.7])


def test_performance_clips_negative_r2_and_fills_missing_scores() -> None:
    tasks = [task("a"), task("b"), task("r", "regression")]
    s = make("performance", tasks)
    s.end_epoch(stats(1, [1, 1, 1], headline=[0.9, None, 2.0],
                      metrics=[{"accuracy": 0.9}, {}, {"mse": 2.0, "r2": -0.5}]))
    # a = (0.9, mean of the known (0.9, 0) = 0.45, 0)
    close(s.combine(L(1, 1, 1), info()).weights, [3 * 0.9 / 1.35, 3 * 0.45 / 1.35, 0.0])
    s.end_epoch(stats(2, [1, 1, 1], headline=[None, None, None]))
    close(s.combine(L(1, 1, 1), info()).weights, [2.0, 1.0, 0.0])  # nothing measured: kept


# ----------------------------------------------------------------- max entropy


H_BIN_09 = -(0.9 * math.log(0.9) + 0.1 * math.log(0.1))
H_721 = -(0.7 * math.log(0.7) + 0.2 * math.log(0.2) + 0.1 * math.log(0.1))


def test_max_entropy_weights_from_known_probability_vectors() -> None:
    tasks = [task("four", classes=4), task("bin", "binary"), task("three")]
    s = make("max_entropy", tasks)
    outputs = {
        "four": torch.zeros(2, 4),  # uniform: log 4
        "bin": torch.tensor([math.log(9.0), -math.log(9.0)]),  # p = 0.9 and 0.1
        "three": torch.log(torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.2, 0.7]])),
    }
    c = s.combine(L(1.0, 2.0, 3.0), info(outputs=outputs))
    h = [math.log(4.0), H_BIN_09, H_721]
    w = [3 * x / sum(h) for x in h]
    close(c.weights, w)
    assert c.total.item() == pytest.approx(w[0] + 2 * w[1] + 3 * w[2], rel=1e-5)


def test_max_entropy_regression_stand_in_is_the_mean_entropy_of_the_others() -> None:
    tasks = [task("four", classes=4), task("bin", "binary"), task("reg", "regression")]
    s = make("max_entropy", tasks)
    outputs = {"four": torch.zeros(3, 4), "bin": torch.zeros(3), "reg": torch.randn(3)}
    c = s.combine(L(1.0, 1.0, 1.0), info(outputs=outputs))
    # H = (2 log 2, log 2, 1.5 log 2) -> 3 H / (4.5 log 2)
    close(c.weights, [4 / 3, 2 / 3, 1.0])


def test_max_entropy_refuses_regression_only_runs_naming_the_tasks() -> None:
    with pytest.raises(ConfigError) as exc:
        make("max_entropy", [task("price", "regression"), task("age", "regression")])
    assert exc.value.path == "strategy.name"
    assert "'price'" in str(exc.value) and "'age'" in str(exc.value)


# ----------------------------------------------------------------- Bayesian uncertainty


def mc_passes() -> list[dict[str, torch.Tensor]]:
    third = torch.log(torch.tensor([[0.5, 0.25, 0.25], [0.2, 0.3, 0.5]]))
    other = torch.log(torch.tensor([[0.25, 0.5, 0.25], [0.2, 0.3, 0.5]]))
    return [
        {"r": torch.tensor([1.0, 3.0]), "b": torch.tensor([0.0, 0.0]), "c": third},
        {"r": torch.tensor([3.0, 3.0]), "b": torch.tensor([math.log(3.0), 0.0]), "c": other},
    ]


def test_bayesian_weights_are_normalised_mc_variances_refreshed_every_n_steps() -> None:
    tasks = [task("r", "regression"), task("b", "binary"), task("c")]
    s = make("bayesian_uncertainty", tasks, passes=2, every=3)
    assert MC_OUTPUTS in s.wants(0)
    c = s.combine(L(1.0, 1.0, 1.0), info(0, mc_outputs=mc_passes(), mc_passes=2))
    # r: per-sample variances (1, 0) -> 0.5
    # b: p = (0.5, 0.75) on sample 1: var 0.015625 per class, 2 classes, / 2 samples -> 0.015625
    # c: two classes move by 0.125: 2 * 0.015625, / 2 samples -> 0.015625
    v = [0.5, 0.015625, 0.015625]
    w = [3 * x / sum(v) for x in v]
    close(c.weights, w)
    assert not s.wants(1) and not s.wants(2)
    close(s.combine(L(1.0, 1.0, 1.0), info(1)).weights, w)  # reused between measurements
    assert MC_OUTPUTS in s.wants(3)


def test_bayesian_without_dropout_raises_a_config_error() -> None:
    s = make("bayesian_uncertainty", [task("a"), task("r", "regression")], passes=3)
    same = {"a": torch.zeros(4, 3), "r": torch.ones(4)}
    with pytest.raises(ConfigError, match="dropout") as exc:
        s.combine(L(1.0, 1.0), info(0, mc_outputs=[same, same, same], mc_passes=3))
    assert exc.value.path == "strategy.name"
