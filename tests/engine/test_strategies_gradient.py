"""Gradient-based strategies: properties over every one of them, and weights worked out by hand.

Each strategy is fed hand-made per-task gradients G (T x P) and their Gramian, exactly as the
training loop passes them, and its weights alpha (d = sum_i alpha_i g_i) are checked.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import mtl_engine.strategies  # noqa: F401  (registers every strategy)
from mtl_engine.errors import ConfigError, SolverError
from mtl_engine.events import TaskInfo
from mtl_engine.registry import STRATEGIES, validate_params
from mtl_engine.strategies import driver
from mtl_engine.strategies.base import GRAMIAN, StepInfo, build_strategy

GRADIENT = STRATEGIES.where("family", "gradient")
# the entries' test properties (declared in mtl_engine/strategies/__init__.py)
ORDER_INVARIANT = [n for n in GRADIENT if STRATEGIES.get(n).meta["order_invariant"]]
RANDOM_ORDER = [n for n in GRADIENT if not STRATEGIES.get(n).meta["order_invariant"]]
NEVER_CONFLICT = {e.name: e.meta["conflict_tol"] for e in STRATEGIES
                  if math.isfinite(e.meta["conflict_tol"])}  # tolerance on d.g_i / max|g|^2


def make(name: str, n: int, **params: object):
    entry = STRATEGIES.get(name)
    full = validate_params(entry.params, params, "strategy.params")
    tasks = tuple(TaskInfo(f"t{i}", "regression", 1, "mse", "mse", False) for i in range(n))
    return build_strategy(name, full, tasks, [1.0] * n, torch.device("cpu"))


def weigh(strategy, g: torch.Tensor, losses: torch.Tensor | None = None, step: int = 0
          ) -> torch.Tensor:
    g = g.double()
    n = g.shape[0]
    losses = (torch.ones(n, dtype=torch.float64) if losses is None else losses.double())
    losses = losses.clone().requires_grad_(True)
    inputs = GivenGrads(g)
    wants = driver.wanted(strategy, step)
    info = driver.prepare(strategy, wants, step, 0, inputs)
    comb = strategy.combine(losses, info)
    driver.finish(strategy, wants, info, inputs)
    return comb.weights


class GivenGrads(driver.StepInputs):
    """Hand-made per-task gradients, as the only input (for the shared and last shared layer)."""

    source = "the gradient tests"

    def __init__(self, g: torch.Tensor) -> None:
        self.g = g

    def grads(self) -> torch.Tensor:
        return self.g

    def last_shared_grads(self) -> torch.Tensor:
        return self.g


def random_grads(seed: int, n: int, p: int = 9) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, p, generator=gen, dtype=torch.float64)


T = torch.tensor


# --------------------------------------------------------------------------- properties


@pytest.mark.parametrize("name", GRADIENT)
def test_weights_are_finite_with_one_per_task_on_awkward_gradients(name: str) -> None:
    cases = {
        "random": random_grads(0, 4),
        "identical": T([[1.0, 2.0, 0.0]] * 3),
        "opposed": T([[1.0, 0.5], [-2.0, -1.0]]),
        "one zero": T([[1.0, 0.0], [0.0, 0.0], [0.5, 1.0]]),
        "all zero": torch.zeros(3, 4),
        "single task": T([[0.3, -0.4]]),
    }
    for label, g in cases.items():
        w = weigh(make(name, g.shape[0]), g)
        assert w.shape == (g.shape[0],), f"{name} on {label}: shape {tuple(w.shape)}"
        assert torch.isfinite(w).all(), f"{name} on {label}: {w}"


@pytest.mark.parametrize("name", ORDER_INVARIANT)
def test_permuting_the_tasks_permutes_the_weights(name: str) -> None:
    for seed in range(3):
        g = random_grads(seed, 4)
        losses = T([0.5, 1.0, 2.0, 3.0], dtype=torch.float64)
        perm = torch.tensor([2, 0, 3, 1])
        w = weigh(make(name, 4), g, losses)
        w_perm = weigh(make(name, 4), g[perm], losses[perm])
        torch.testing.assert_close(w_perm, w[perm], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", sorted(NEVER_CONFLICT))
def test_update_never_conflicts_with_any_task(name: str) -> None:
    tol = NEVER_CONFLICT[name]
    for seed in range(40):
        n = 2 + seed % 5
        g = random_grads(seed, n, p=3 + seed % 7)  # p < n often: strong conflicts
        w = weigh(make(name, n), g)
        d = w @ g
        worst = float((g @ d).min()) / float((g * g).sum(dim=1).max())
        assert worst >= -tol, f"{name}: d.g_i / max|g|^2 = {worst} (seed {seed})"


def test_pcgrad_is_plain_summation_without_conflicts() -> None:
    g = T([[1.0, 0.2, 0.0], [0.5, 1.0, 0.1], [0.0, 0.3, 2.0]])
    assert float((g @ g.T).min()) >= 0
    torch.testing.assert_close(weigh(make("pcgrad", 3), g), torch.ones(3, dtype=torch.float64))


@pytest.mark.parametrize("name", RANDOM_ORDER)
def test_random_orders_repeat_for_a_seed_and_leave_the_global_stream_alone(name: str) -> None:
    g = random_grads(5, 5, p=3)  # many conflicts, so the order matters
    state = torch.get_rng_state()
    runs = []
    for seed in (7, 7, 8):
        s = make(name, 5, seed=seed)
        runs.append(torch.stack([weigh(s, g * (1 + 0.1 * k), step=k) for k in range(6)]))
    assert torch.equal(torch.get_rng_state(), state)
    torch.testing.assert_close(runs[0], runs[1], rtol=0, atol=0)
    assert not torch.allclose(runs[0], runs[2]), "another seed should give other orders"


# --------------------------------------------------------------------------- by hand


@pytest.mark.parametrize("solver", ["exact", "frank_wolfe"])
def test_mgda_two_tasks_by_hand(solver: str) -> None:
    # |s g1 + (1-s) g2|^2 = s^2 + 4 (1-s)^2 is smallest at s = 4/5
    g = T([[1.0, 0.0], [0.0, 2.0]])
    w = weigh(make("mgda", 2, solver=solver), g)
    torch.testing.assert_close(w, T([0.8, 0.2], dtype=torch.float64), atol=1e-5, rtol=0)


def test_mgda_normalisations_by_hand() -> None:
    g = T([[1.0, 0.0], [0.0, 2.0]])
    losses = T([2.0, 4.0])
    # l2: unit gradients (1,0), (0,1) -> s = (1/2, 1/2) -> alpha = s / |g| = (1/2, 1/4)
    w = weigh(make("mgda", 2, normalization="l2"), g, losses)
    torch.testing.assert_close(w, T([0.5, 0.25], dtype=torch.float64))
    # loss: g / L = (1/2, 0), (0, 1/2) -> s = (1/2, 1/2) -> alpha = s / L = (1/4, 1/8)
    w = weigh(make("mgda", 2, normalization="loss"), g, losses)
    torch.testing.assert_close(w, T([0.25, 0.125], dtype=torch.float64))


def test_exact_mgda_reaches_the_minimiser_where_frank_wolfe_stops_short() -> None:
    """Why the exact solver is the default: the no-conflict guarantee holds at the optimum."""
    worst = {"exact": 0.0, "frank_wolfe": 0.0}
    for seed in range(60):
        n = 3 + seed % 5
        g = random_grads(100 + seed, n, p=4 + seed % 8)
        for solver in worst:
            d = weigh(make("mgda", n, solver=solver), g) @ g
            worst[solver] = min(worst[solver], float((g @ d).min() / (g * g).sum(1).max()))
    assert worst["exact"] > -1e-9
    assert worst["frank_wolfe"] < -1e-5


def test_pcgrad_two_conflicting_tasks_by_hand() -> None:
    # g1.g2 = -1: g1' = g1 + g2/2, g2' = g2 + g1, d = 2 g1 + 1.5 g2 (one order only for T = 2)
    g = T([[1.0, 0.0], [-1.0, 1.0]])
    torch.testing.assert_close(weigh(make("pcgrad", 2), g), T([2.0, 1.5], dtype=torch.float64))


def test_gradvac_first_step_matches_pcgrad() -> None:
    # with target cosines still 0, the vaccine term removes exactly the conflicting component
    g = T([[1.0, 0.0], [-1.0, 1.0]])
    torch.testing.assert_close(weigh(make("gradvac", 2), g), T([2.0, 1.5], dtype=torch.float64))


def cagrad_reference(g: torch.Tensor, c: float) -> torch.Tensor:
    """CAGrad for T = 2 by brute force: F on a fine grid of the simplex, then the update."""
    k = (g @ g.T).numpy()
    b = k.sum(1) / 2
    r = c * math.sqrt(k.sum() / 4)
    t = np.linspace(0, 1, 400_001)
    w = np.stack([t, 1 - t], 1)
    f = w @ b + r * np.sqrt(np.einsum("ni,ij,nj->n", w, k, w))
    best = w[int(np.argmin(f))]
    rho = math.sqrt(best @ k @ best)
    return torch.tensor((0.5 + r / rho * best) / (1 + c * c))


@pytest.mark.parametrize("g", [[[1.0, 0.0], [0.0, 1.0]], [[1.0, 0.0], [-0.5, 1.0]],
                               [[2.0, 0.3], [-1.0, 0.2]]])
def test_cagrad_two_tasks_against_a_grid_search(g: list[list[float]]) -> None:
    grads = T(g, dtype=torch.float64)
    w = weigh(make("cagrad", 2, calpha=0.5), grads)
    torch.testing.assert_close(w, cagrad_reference(grads, 0.5), atol=2e-4, rtol=0)
    if g[1] == [0.0, 1.0]:  # orthogonal unit gradients: alpha = (1 + c)/2/(1 + c^2) = 0.6
        torch.testing.assert_close(w, T([0.6, 0.6], dtype=torch.float64))


def test_nash_mtl_by_hand_and_by_its_defining_equation() -> None:
    g = T([[1.0, 0.0], [0.0, 2.0]])  # K = diag(1, 4): alpha_i^2 K_ii = 1
    torch.testing.assert_close(weigh(make("nash_mtl", 2, max_norm=0.0), g),
                               T([1.0, 0.5], dtype=torch.float64))
    # at the solution |d|^2 = sum_i alpha_i (K alpha)_i = T, so max_norm 1 scales by 1/sqrt(2)
    torch.testing.assert_close(weigh(make("nash_mtl", 2, max_norm=1.0), g),
                               T([1.0, 0.5], dtype=torch.float64) / math.sqrt(2))
    for seed in range(10):
        g = random_grads(seed, 4)
        a = weigh(make("nash_mtl", 4, max_norm=0.0), g)
        torch.testing.assert_close(a * ((g @ g.T) @ a), torch.ones(4, dtype=torch.float64),
                                   rtol=1e-6, atol=0)


def test_fairgrad_by_hand_and_equal_to_nash_at_alpha_one() -> None:
    g = T([[1.0, 0.0], [0.0, 2.0]])  # K x = x^(-1/2) with K = diag(1, 4): x_i = K_ii^(-2/3)
    torch.testing.assert_close(weigh(make("fairgrad", 2, alpha=2.0), g),
                               T([1.0, 4.0 ** (-2 / 3)], dtype=torch.float64))
    g = random_grads(3, 3)
    torch.testing.assert_close(weigh(make("fairgrad", 3, alpha=1.0), g),
                               weigh(make("nash_mtl", 3, max_norm=0.0), g), rtol=1e-6, atol=0)


def test_imtl_g_matches_the_papers_closed_form() -> None:
    g = random_grads(11, 3, p=5)
    u = g / g.norm(dim=1, keepdim=True)
    big_u, big_d = u[0] - u[1:], g[0] - g[1:]  # rows U_i = u_1 - u_i, D_i = g_1 - g_i
    rest = g[0] @ big_u.T @ torch.linalg.inv(big_d @ big_u.T)
    expected = torch.cat([1 - rest.sum().reshape(1), rest])
    w = weigh(make("imtl_g", 3), g)
    torch.testing.assert_close(w, expected)
    d = w @ g
    projections = u @ d
    torch.testing.assert_close(projections, projections[0].expand(3))  # impartial


def test_aligned_mtl_balances_orthogonal_gradients_by_hand() -> None:
    # K = diag(1, 4): B = sqrt(s_min) V S^-1/2 V^T = diag(1, 1/2), alpha = B 1
    w = weigh(make("aligned_mtl", 2), T([[1.0, 0.0], [0.0, 2.0]]))
    torch.testing.assert_close(w, T([1.0, 0.5], dtype=torch.float64))


def test_upgrad_matches_the_published_example() -> None:
    # torchjd's documented example: J = [[-4, 1, 1], [6, 1, 1]] -> weights [1.1109, 0.7894]
    w = weigh(make("upgrad", 2), T([[-4.0, 1.0, 1.0], [6.0, 1.0, 1.0]]))
    torch.testing.assert_close(w, T([1.1109, 0.7894], dtype=torch.float64), atol=1e-4, rtol=0)


def test_dualproj_by_hand() -> None:
    # mean (-0.5, 0.5) conflicts with g1 = (1, 0); its projection (0, 0.5) = 1 g1 + 0.5 g2
    g = T([[1.0, 0.0], [-2.0, 1.0]])
    w = weigh(make("dualproj", 2, reg_eps=0.0), g)
    torch.testing.assert_close(w, T([1.0, 0.5], dtype=torch.float64))
    no_conflict = T([[1.0, 0.0], [0.5, 1.0]])
    w = weigh(make("dualproj", 2, reg_eps=0.0), no_conflict)
    torch.testing.assert_close(w, T([0.5, 0.5], dtype=torch.float64))


def test_db_mtl_current_variant_first_step_by_hand() -> None:
    # the `current` option scales the current log-loss gradients by the averages' norms:
    # h = 0.1 g / L: norms 0.1 and 0.05 -> a = (1, 2) -> alpha = a / L = (1, 0.5)
    # (the default, Algorithm 1, is checked in test_direction_strategies.py)
    w = weigh(make("db_mtl", 2, direction="current"), T([[1.0, 0.0], [0.0, 2.0]]),
              T([1.0, 4.0]))
    torch.testing.assert_close(w, T([1.0, 0.5], dtype=torch.float64), rtol=1e-6, atol=0)


def test_gradient_normalisation_and_averaging_by_hand() -> None:
    g = T([[3.0, 0.0], [0.0, 4.0]])
    torch.testing.assert_close(weigh(make("gradient_normalisation", 2), g),
                               T([3 / 7, 4 / 7], dtype=torch.float64))
    torch.testing.assert_close(weigh(make("gradient_averaging", 2), g),
                               T([0.5, 0.5], dtype=torch.float64))


def test_gradnorm_loss_gradient_and_renormalisation_by_hand() -> None:
    s = make("gradnorm", 2, alpha=1.5)
    g = T([[1.0, 0.0], [0.0, 3.0]])  # norms 1 and 3; first step: r = 1, target = mean = 2
    losses = T([1.0, 1.0], dtype=torch.float64).requires_grad_(True)
    comb = s.combine(losses, StepInfo(0, 0, grads=g, gramian=g @ g.T))
    assert float(comb.aux.detach()) == pytest.approx(2.0)  # |1 - 2| + |3 - 2|
    comb.aux.backward()
    torch.testing.assert_close(s.w.grad, T([-1.0, 3.0]))  # sign(w_i n_i - target) n_i
    with torch.no_grad():
        s.w.copy_(T([0.5, 2.5]))
    s.after_step(None, StepInfo(0, 0))
    torch.testing.assert_close(s.w.detach(), T([1 / 3, 5 / 3]))


# --------------------------------------------------------------------------- visible failures


def test_nash_mtl_that_cannot_converge_says_so() -> None:
    g = T([[1.0, 0.0], [-0.999, 0.05], [0.3, 1.0]])  # nearly opposed pair: a hard start
    with pytest.raises(SolverError, match="optim_niter"):
        weigh(make("nash_mtl", 3, optim_niter=1), g)
    weigh(make("nash_mtl", 3, optim_niter=20), g)  # enough iterations: solved


def test_nash_mtl_two_task_closed_form_agrees_with_newton() -> None:
    # by hand: alpha_i = 1 / (|g_i| sqrt(1 + cos)); a third task sends it to Newton instead
    g = T([[3.0, 0.0], [1.0, 1.0]])  # |g1| = 3, |g2| = sqrt(2), cos = 1/sqrt(2)
    expected = 1 / (T([3.0, math.sqrt(2)], dtype=torch.float64) * math.sqrt(1 + 1 / math.sqrt(2)))
    torch.testing.assert_close(weigh(make("nash_mtl", 2, max_norm=0.0), g), expected)
    g3 = torch.cat([g, g[:1] * 0.5 + g[1:] * 0.1])  # a third task: the general Newton solver
    a = weigh(make("nash_mtl", 3, max_norm=0.0), g3)
    k = g3.double() @ g3.double().T
    torch.testing.assert_close(a * (k @ a), torch.ones(3, dtype=torch.float64), rtol=1e-6, atol=0)


def test_nash_mtl_between_updates_reuses_its_weights_without_gradients() -> None:
    s = make("nash_mtl", 2, max_norm=0.0, update_weights_every=3)
    g = T([[1.0, 0.0], [0.0, 2.0]])
    first = weigh(s, g, step=0)
    assert s.wants(1) == frozenset() and s.wants(2) == frozenset()
    assert torch.equal(weigh(s, g, step=1), first)
    assert torch.equal(weigh(s, g, step=2), first)
    assert s.wants(3) == frozenset({GRAMIAN})  # K alone at an update step


def test_preference_vector_of_the_wrong_length_names_the_field() -> None:
    with pytest.raises(ConfigError) as err:
        make("upgrad", 3, pref_vector=[1.0, 2.0])
    assert err.value.path == "strategy.params.pref_vector"
    assert "3 tasks" in str(err.value)


def test_a_config_asking_db_mtl_for_representation_gradients_names_the_field() -> None:
    from mtl_engine.config import from_dict

    raw = {"data": {"dataset": "digits"}, "tasks": [{"name": "digit"}, {"name": "parity"}],
           "strategy": {"name": "db_mtl", "grad_mode": "representation"}}
    with pytest.raises(ConfigError) as err:
        from_dict(raw)
    assert err.value.path == "strategy.grad_mode" and "'shared'" in str(err.value)
    raw["strategy"]["name"] = "mgda"  # MGDA-UB: fine
    assert from_dict(raw).strategy.grad_mode == "representation"


def test_db_mtl_refuses_a_changing_representation_by_field() -> None:
    s = make("db_mtl", 2)
    weigh(s, random_grads(0, 2, p=6))
    with pytest.raises(ConfigError) as err:
        weigh(s, random_grads(0, 2, p=4))
    assert err.value.path == "strategy.grad_mode"


# --------------------------------------------------------------------------- GradNorm on its toy


def normalised_loss_spread(strategy: str) -> float:
    """max / min over tasks of the validation loss / sigma^2 after the GradNorm-toy preset."""
    from mtl_engine import presets
    from mtl_engine.config import from_dict
    from mtl_engine.events import EpochEnded, RunFailed
    from mtl_engine.training import run

    d = presets.load(presets.resolve("gradnorm_toy_equal")).to_dict()
    # one output per task: the scalar toy this check was written for (the preset has 100)
    d["data"]["params"].update(tasks=2, sigmas=[1.0, 100.0], n_samples=5000, outputs=1)
    d["strategy"] = {"name": strategy}
    d["optimizer"].update(name="adam", lr=1e-3)
    d["training"].update(epochs=20, batch_size=100, seed=0, device="cpu", log_every=50)
    events = list(run(from_dict(d)))
    assert not [e for e in events if isinstance(e, RunFailed)]
    last = [e for e in events if isinstance(e, EpochEnded)][-1]
    normalised = [last.val_loss[name] / sigma ** 2 for name, sigma in
                  zip(("t1", "t2"), (1.0, 100.0))]
    return max(normalised) / min(normalised)


def test_gradnorm_brings_the_normalised_losses_closer_than_equal_weighting() -> None:
    equal, gradnorm = normalised_loss_spread("equal"), normalised_loss_spread("gradnorm")
    assert equal > 5.0  # the 100x task dominates the shared trunk
    assert gradnorm < equal / 2
