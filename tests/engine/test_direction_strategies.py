"""Strategies that return an update direction built from their own state (DB-MTL, MoCo, GradDrop).

Each is checked against a reference written here from its paper's algorithm (independently of the
code under test) over several steps, then end to end: the training loop puts exactly the returned
direction on the shared parameters (back-propagated from the representation for GradDrop), the
2-D toy puts it on its point, and a direction that does not fit the step is refused by name.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import mtl_engine.strategies  # noqa: F401  (registers every strategy)
import mtl_engine.training as training
from mtl_engine import toy2d
from mtl_engine.errors import ConfigError
from mtl_engine.events import GradientsMeasured, RunFailed, RunFinished, StepsLogged, TaskInfo
from mtl_engine.gradients import diagnostics
from mtl_engine.registry import STRATEGIES, validate_params
from mtl_engine.strategies import driver
from mtl_engine.strategies.base import Combined, StepInfo, build_strategy
from mtl_engine.strategies.db_mtl import DBMTL
from mtl_engine.strategies.graddrop import GradDrop
from mtl_engine.strategies.moco import MoCo

from .conftest import tiny

EPS = 1e-8


def make(name: str, n: int, **params: object):
    entry = STRATEGIES.get(name)
    full = validate_params(entry.params, params, "strategy.params")
    tasks = tuple(TaskInfo(f"t{i}", "regression", 1, "mse", "mse", False) for i in range(n))
    return build_strategy(name, full, tasks, [1.0] * n, torch.device("cpu"))


def step(strategy, g: torch.Tensor, losses: torch.Tensor, rep: torch.Tensor | None = None,
         t: int = 0) -> Combined:
    losses = losses.double().clone().requires_grad_(True)
    comb = strategy.combine(losses, StepInfo(t, 0, grads=g, gramian=g @ g.T, representation=rep))
    applied = torch.autograd.grad(comb.total, losses)[0]  # the contract: weights = d total / d L
    torch.testing.assert_close(applied, comb.weights.double(), rtol=1e-12, atol=0)
    return comb


def hard_sequence(seed: int, n: int, p: int, steps: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per step (G, losses): norms spread over four decades, one nearly opposed pair."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(steps):
        g = rng.normal(size=(n, p)) * np.logspace(-2, 2, n)[:, None]
        g[1] = -g[0] * 0.3 + 1e-3 * rng.normal(size=p)  # nearly opposed to task 0
        losses = rng.uniform(0.05, 5.0, size=n)
        out.append((g, losses))
    return out


# --------------------------------------------------------------------------- DB-MTL


def db_mtl_reference(seq, beta: float, sigma: float):
    """Lin et al. 2023, Algorithm 1: h_i <- beta_t h_i + (1 - beta_t) grad log(L_i + eps), h = 0
    at first, beta_t = beta / t^sigma from t = 1; a_i = max_j |h_j| / |h_i|; d = sum a_i h_i."""
    h = None
    out = []
    for t, (g, losses) in enumerate(seq, start=1):
        grad_log = g / (losses + EPS)[:, None]
        h = np.zeros_like(g) if h is None else h
        bt = beta / t ** sigma
        h = bt * h + (1 - bt) * grad_log
        norms = np.linalg.norm(h, axis=1)
        a = norms.max() / (norms + EPS)
        out.append((a @ h, a, 1 / (losses + EPS)))
    return out


@pytest.mark.parametrize("beta,sigma", [(0.9, 0.0), (0.7, 0.5)])
def test_db_mtl_follows_algorithm_1_over_several_steps(beta: float, sigma: float) -> None:
    seq = hard_sequence(0, 4, 7, 6)
    s = make("db_mtl", 4, beta=beta, beta_sigma=sigma)
    for k, ((g, losses), (d, a, w)) in enumerate(zip(seq, db_mtl_reference(seq, beta, sigma))):
        comb = step(s, torch.tensor(g), torch.tensor(losses), t=k)
        np.testing.assert_allclose(comb.direction.numpy(), d, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(comb.shown.numpy(), a, rtol=1e-10)  # what the GUI plots
        np.testing.assert_allclose(comb.weights.numpy(), w, rtol=1e-12)  # heads: sum log L
        total = float(comb.total.detach())
        assert total == pytest.approx(float(np.log(losses + EPS).sum()), rel=1e-12)


def test_db_mtl_first_step_is_one_minus_beta_of_the_current_variant_then_momentum() -> None:
    g1 = torch.tensor([[1.0, 0.0], [0.0, 2.0]], dtype=torch.float64)
    losses = torch.tensor([1.0, 4.0], dtype=torch.float64)
    averages, current = make("db_mtl", 2), make("db_mtl", 2, direction="current")
    first = step(averages, g1, losses)
    cur = step(current, g1, losses)
    # by hand: h = 0.1 (g / L) = (0.1, 0), (0, 0.05); a = (1, 2); d = (0.1, 0.1)
    torch.testing.assert_close(first.direction, torch.tensor([0.1, 0.1], dtype=torch.float64))
    torch.testing.assert_close(cur.weights, torch.tensor([1.0, 0.5], dtype=torch.float64))
    assert cur.direction is None and cur.shown is None  # the variant: a weighted sum
    d_current = cur.weights @ g1
    torch.testing.assert_close(first.direction, 0.1 * d_current)  # (1 - beta) times as long
    # second step with the gradients swapped: the averages remember the first step
    g2 = g1.flip(0)
    second = step(averages, g2, losses)
    h1 = torch.tensor([[0.1, 0.0], [0.0, 0.05]], dtype=torch.float64)
    h = 0.9 * h1 + 0.1 * g2 / losses[:, None]
    norms = h.norm(dim=1)
    torch.testing.assert_close(second.direction, (norms.max() / (norms + EPS)) @ h)


# --------------------------------------------------------------------------- MoCo


def simplex_projection_by_bisection(v: np.ndarray) -> np.ndarray:
    """argmin_{x in simplex} |x - v|: x = max(v - tau, 0), tau found by bisection on sum = 1."""
    lo, hi = v.min() - 1.0, v.max()
    for _ in range(200):
        tau = 0.5 * (lo + hi)
        if np.maximum(v - tau, 0).sum() > 1:
            lo = tau
        else:
            hi = tau
    return np.maximum(v - 0.5 * (lo + hi), 0)


def moco_reference(seq, beta=0.5, beta_sigma=0.5, gamma=0.1, gamma_sigma=0.5, rho=0.0,
                   simplex="projection", gradients="raw"):
    """Fernando et al. 2023, Algorithm 1: y_i <- y_i - beta_t (y_i - h_i); lambda <- Pi(lambda -
    gamma_t (Y Y^T + rho I) lambda); d = Y^T lambda; y = 0 and lambda = 1/T at first."""
    n = seq[0][0].shape[0]
    y = np.zeros_like(seq[0][0])
    lam = np.full(n, 1.0 / n)
    out = []
    for t, (g, losses) in enumerate(seq, start=1):
        if gradients == "normalised":
            g = g / (np.linalg.norm(g, axis=1, keepdims=True) + 1e-8) * losses[:, None]
        y = y - beta / t ** beta_sigma * (y - g)
        v = lam - gamma / t ** gamma_sigma * (y @ y.T + rho * np.eye(n)) @ lam
        if simplex == "projection":
            lam = simplex_projection_by_bisection(v)
        else:
            e = np.exp(v - v.max())
            lam = e / e.sum()
        out.append((y.T @ lam, lam.copy()))
    return out


@pytest.mark.parametrize("options", [
    {}, {"rho": 0.5, "beta_sigma": 0.0, "gamma": 0.02},
    {"simplex": "softmax", "gradients": "normalised"}, {"gradients": "normalised"},
], ids=["paper", "ridge,no-decay", "libmtl", "normalised"])
def test_moco_follows_algorithm_1_over_several_steps(options: dict) -> None:
    seq = hard_sequence(1, 3, 5, 8)
    s = make("moco", 3, **options)
    clipped = False
    for k, ((g, losses), (d, lam)) in enumerate(zip(seq, moco_reference(seq, **options))):
        comb = step(s, torch.tensor(g), torch.tensor(losses), t=k)
        np.testing.assert_allclose(comb.shown.numpy(), lam, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(comb.direction.numpy(), d, rtol=1e-9, atol=1e-9)
        torch.testing.assert_close(comb.weights, torch.ones(3, dtype=torch.float64))
        clipped |= bool((lam == 0).any())
    if not options:
        assert clipped, "a hard case: the projection must put some weight at exactly 0"


def test_moco_first_step_by_hand() -> None:
    # y = 0.5 g; K = Y Y^T = 0.25 diag(1, 4); lambda = Pi((1/2, 1/2) - 0.1 K (1/2, 1/2))
    #   = Pi((0.4875, 0.45)) = (0.51875, 0.48125); d = Y^T lambda
    g = torch.tensor([[1.0, 0.0], [0.0, 2.0]], dtype=torch.float64)
    comb = step(make("moco", 2), g, torch.tensor([1.0, 1.0]))
    torch.testing.assert_close(comb.shown, torch.tensor([0.51875, 0.48125], dtype=torch.float64))
    torch.testing.assert_close(comb.direction,
                               torch.tensor([0.5 * 0.51875, 1.0 * 0.48125], dtype=torch.float64))


# --------------------------------------------------------------------------- GradDrop


def graddrop_reference(g: np.ndarray, rep: np.ndarray, u: np.ndarray, leak: float) -> np.ndarray:
    """Chen et al. 2020, Algorithm 1 with the batch rule: S_i = sum_b sign(A) g_i; P = (1 + sum
    S / sum |S|) / 2; M_i = [P > U][S_i > 0] + [P < U][S_i < 0]; leak; d = sum_i M_i g_i, per
    sample."""
    n, b = g.shape[0], rep.shape[0]
    per = g.reshape(n, b, -1)
    s = (per * np.sign(rep.reshape(1, b, -1))).sum(axis=1)
    p = np.full(s.shape[1], 0.5)
    nz = np.abs(s).sum(0) > 0
    p[nz] = 0.5 * (1 + s.sum(0)[nz] / np.abs(s).sum(0)[nz])
    m = ((p > u) & (s > 0)) | ((p < u) & (s < 0))
    m = leak + (1 - leak) * m
    return (per * m[:, None, :]).sum(0).reshape(-1)


def uniform_draws(seed: int, shapes: list[tuple[int, ...]]) -> list[np.ndarray]:
    """The U the strategy's private generator gives: torch's CPU generator seeded with `seed`."""
    gen = torch.Generator().manual_seed(seed)
    return [torch.rand(shape, generator=gen, dtype=torch.float64).numpy() for shape in shapes]


@pytest.mark.parametrize("leak", [0.0, 0.3])
def test_graddrop_follows_algorithm_1_over_several_steps(leak: float) -> None:
    rng = np.random.default_rng(2)
    n, b, e, steps = 3, 4, 6, 5
    s = make("graddrop", n, leak=leak, seed=11)
    draws = uniform_draws(11, [(e,)] * steps)
    for k in range(steps):
        g = rng.normal(size=(n, b * e)) * np.array([1.0, 10.0, 0.01])[:, None]
        rep = rng.normal(size=(b, e))
        rep[0, 0] = 0.0  # a zero activation: no sign, no signal
        comb = step(s, torch.tensor(g), torch.tensor(rng.uniform(0.1, 2, n)), torch.tensor(rep), k)
        np.testing.assert_allclose(comb.direction.numpy(),
                                   graddrop_reference(g, rep, draws[k], leak), rtol=1e-12,
                                   atol=1e-15)
        torch.testing.assert_close(comb.weights, torch.ones(n, dtype=torch.float64))


def test_graddrop_by_hand_pure_signs_and_the_sign_of_the_input() -> None:
    # one sample, two elements; rep = (1, -1): the second element's signal flips its sign.
    # element 0: g = (+1, +2) -> S = (1, 2), P = 1: both kept, d_0 = 3
    # element 1: g = (+1, +3) but sign(A) = -1 -> S = (-1, -3), P = 0: the negative S kept, both
    # tasks (their S are negative), d_1 = 1 + 3 = 4; a mixed element would depend on U
    g = torch.tensor([[1.0, 1.0], [2.0, 3.0]], dtype=torch.float64)
    rep = torch.tensor([[1.0, -1.0]], dtype=torch.float64)
    comb = step(make("graddrop", 2), g, torch.ones(2), rep)
    torch.testing.assert_close(comb.direction, torch.tensor([3.0, 4.0], dtype=torch.float64))
    # opposed signals of equal size: P = 1/2 and one of the two survives, whatever U
    opposed = torch.tensor([[1.0], [-1.0]], dtype=torch.float64)
    d = step(make("graddrop", 2), opposed, torch.ones(2), torch.ones(1, 1, dtype=torch.float64))
    assert float(d.direction.abs()) == 1.0


def test_graddrop_draws_repeat_for_a_seed_and_leave_the_global_stream_alone() -> None:
    g = torch.randn(3, 40, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    rep = torch.ones(4, 10, dtype=torch.float64)
    state = torch.get_rng_state()
    runs = [[step(s, g, torch.ones(3), rep, k).direction for k in range(3)]
            for s in (make("graddrop", 3, seed=5), make("graddrop", 3, seed=5),
                      make("graddrop", 3, seed=6))]
    assert torch.equal(torch.get_rng_state(), state)
    assert all(torch.equal(a, b) for a, b in zip(runs[0], runs[1]))
    assert not all(torch.equal(a, b) for a, b in zip(runs[0], runs[2]))


# --------------------------------------------------------------------------- the loop, end to end


CASES = [("db_mtl", "shared", {}), ("db_mtl", "shared", {"direction": "current"}),
         ("moco", "shared", {}), ("graddrop", "representation", {})]


@pytest.fixture
def watched(monkeypatch):
    """Records, per training step, the direction the strategy returned and the shared
    parameters' gradient the optimiser stepped with (expected: the direction, or its
    back-propagation from the representation, plus the l2 penalty's gradient)."""
    seen: list[dict] = []
    real_combine = {cls: cls.combine for cls in (DBMTL, MoCo, GradDrop)}
    real_backward = training.backward_along
    real_finish = driver.finish

    def combine(self, losses, info):
        comb = real_combine[type(self)](self, losses, info)
        seen.append({"comb": comb, "grads": info.grads})
        return comb

    def backward_along(total, direction, shared, others, shared_extra=None, rep=None):
        if rep is None:
            expected = direction.clone()
        else:
            expected = torch.cat([g.reshape(-1) for g in torch.autograd.grad(
                rep, shared, direction.view_as(rep), retain_graph=True)])
        if shared_extra is not None:
            expected = expected + torch.cat([g.reshape(-1) for g in torch.autograd.grad(
                shared_extra, shared, retain_graph=True)])
        seen[-1].update(direction=direction, expected=expected)
        real_backward(total, direction, shared, others, shared_extra, rep)

    def finish(strategy, wants, info, inputs):
        shared = inputs.loop.setup.shared_params
        seen[-1]["applied"] = torch.cat([p.grad.reshape(-1) for p in shared])
        real_finish(strategy, wants, info, inputs)

    for cls in real_combine:
        monkeypatch.setattr(cls, "combine", combine)
    monkeypatch.setattr(training, "backward_along", backward_along)
    monkeypatch.setattr(driver, "finish", finish)
    return seen


@pytest.mark.parametrize("name,mode,params", CASES,
                         ids=["db_mtl", "db_mtl-current", "moco", "graddrop"])
def test_the_loop_applies_the_direction_exactly(watched, name, mode, params) -> None:
    config = tiny(strategy={"name": name, "grad_mode": mode, "params": params},
                  optimizer={"name": "sgd", "lr": 0.05, "l2": 0.01},
                  training={"epochs": 1, "max_steps_per_epoch": 6, "log_every": 3})
    events = list(training.run(config))
    assert isinstance(events[-1], RunFinished) and events[-1].status == "completed", events[-1]
    assert len(watched) == 6
    logged = [w for e in events if isinstance(e, StepsLogged) for w in zip(*e.weights.values())]
    for record, plotted in zip(watched, logged):
        comb = record["comb"]
        if comb.direction is None:  # the weighted-sum variant: d = w^T G, as any weights method
            torch.testing.assert_close(record["direction"], comb.weights @ record["grads"])
        else:
            assert record["direction"] is not None
            assert torch.equal(record["direction"], comb.direction)
        tol = 0 if mode == "shared" else 1e-6  # the representation's route: two autograd calls
        torch.testing.assert_close(record["applied"], record["expected"], rtol=tol, atol=tol)
        assert plotted == pytest.approx(comb.plotted.tolist())  # the GUI gets `shown`


def test_the_loop_clips_a_direction_like_any_update(watched) -> None:
    config = tiny(strategy={"name": "moco"}, optimizer={"name": "sgd", "lr": 0.05,
                                                        "clip_grad_norm": 1e-3},
                  training={"epochs": 1, "max_steps_per_epoch": 2})
    assert isinstance(list(training.run(config))[-1], RunFinished)
    for record in watched:
        expected = record["expected"]
        assert float(expected.norm()) > 1e-3  # clipping matters here
        # the model's other parameters are clipped with it: the shared part keeps its direction
        cos = torch.nn.functional.cosine_similarity(record["applied"], expected, dim=0)
        assert float(cos) == pytest.approx(1.0, abs=1e-6)
        assert float(record["applied"].norm()) <= 1e-3 * (1 + 1e-5)


def test_the_update_cosine_is_the_applied_directions(watched) -> None:
    config = tiny(strategy={"name": "db_mtl"},
                  training={"epochs": 1, "max_steps_per_epoch": 3, "diagnostics_every": 1})
    measured = [e for e in training.run(config) if isinstance(e, GradientsMeasured)]
    assert len(measured) == 3
    for event, record in zip(measured, watched):
        g, d = record["grads"].double(), record["comb"].direction.double()
        by_hand = (g @ d) / (g.norm(dim=1) * d.norm())
        assert list(event.update_cosine.values()) == pytest.approx(by_hand.tolist(), abs=1e-5)
        # not what weights^T G would have given: DB-MTL's direction is no such combination
    w = watched[-1]["comb"].weights.double()
    g = watched[-1]["grads"].double()
    naive = (g @ (w @ g)) / (g.norm(dim=1) * (w @ g).norm())
    assert not np.allclose(naive.tolist(), list(measured[-1].update_cosine.values()), atol=1e-3)


def test_diagnostics_with_a_direction_by_hand() -> None:
    g = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    out = diagnostics(g, torch.tensor([5.0, 5.0]), torch.tensor([1.0, 1.0]))
    torch.testing.assert_close(out["update_cosine"], torch.tensor([1, 1]) / math.sqrt(2))
    torch.testing.assert_close(out["norms"], torch.tensor([1.0, 2.0]))
    zero = diagnostics(g, torch.ones(2), torch.zeros(2))["update_cosine"]
    torch.testing.assert_close(zero, torch.zeros(2))


def test_the_loop_refuses_a_direction_of_the_wrong_length(monkeypatch) -> None:
    def short(self, losses, info):
        return Combined(total=losses.sum(), weights=torch.ones_like(losses.detach()),
                        direction=torch.zeros(3))

    monkeypatch.setattr(MoCo, "combine", short)
    last = list(training.run(tiny(strategy={"name": "moco"})))[-1]
    assert isinstance(last, RunFailed) and last.error_type == "ConfigError"
    assert last.message.startswith("strategy.grad_mode: strategy 'moco' returned a direction of "
                                   "shape (3,), but its gradients in grad_mode 'shared' have ")
    assert "\n" not in last.message


@pytest.mark.parametrize("name", ["db_mtl", "moco"])
def test_a_config_asking_a_direction_method_for_representation_is_refused(name: str) -> None:
    with pytest.raises(ConfigError) as err:
        tiny(strategy={"name": name, "grad_mode": "representation"})
    assert err.value.path == "strategy.grad_mode" and "'shared'" in str(err.value)
    with pytest.raises(ConfigError) as err:
        tiny(strategy={"name": "graddrop", "grad_mode": "shared"})
    assert err.value.path == "strategy.grad_mode" and "'representation'" in str(err.value)


# --------------------------------------------------------------------------- the 2-D toy


class RecordingAdam(torch.optim.Adam):
    grads: list[torch.Tensor] = []

    def step(self, closure=None):  # type: ignore[override]
        RecordingAdam.grads.append(self.param_groups[0]["params"][0].grad.detach().clone())
        return super().step(closure)


def test_the_toy_puts_db_mtl_and_moco_directions_on_the_points(monkeypatch) -> None:
    monkeypatch.setattr(torch.optim, "Adam", RecordingAdam)
    for name, reference in (("db_mtl", lambda seq: [d for d, _, _ in db_mtl_reference(
            seq, 0.9, 0.0)]), ("moco", lambda seq: [d for d, _ in moco_reference(seq)])):
        RecordingAdam.grads = []
        chunks = list(toy2d.run(name, steps=12, record_every=1, chunk_steps=1000))
        points = np.concatenate([c.points for c in chunks])[:12]  # (steps, starts, 2)
        for start in range(points.shape[1]):
            x = torch.tensor(points[:, start], dtype=torch.float64)
            seq = [(toy2d.jacobian(p).numpy(), (toy2d.losses(p) + torch.tensor(
                [toy2d.OFFSET, toy2d.OFFSET], dtype=torch.float64)).numpy()) for p in x]
            expected = reference(seq)
            for k in range(12):
                np.testing.assert_allclose(RecordingAdam.grads[k][start].numpy(), expected[k],
                                           rtol=1e-9, atol=1e-12, err_msg=f"{name} start {start}")


def test_the_toy_refuses_graddrop_by_name() -> None:
    assert "graddrop" not in toy2d.toy_strategies()
    assert {"db_mtl", "moco"} <= set(toy2d.toy_strategies())
    with pytest.raises(ConfigError) as err:
        next(toy2d.run("graddrop", steps=2))
    assert err.value.path == "strategy.grad_mode" and "'graddrop'" in str(err.value)
    assert "\n" not in str(err.value)
