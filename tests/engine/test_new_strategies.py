"""ConFIG, MoDo, SDMGrad and ExcessMTL against references written here from their papers'
equations (never by calling the code under test), on hard gradient matrices; and each of them
through the training loop.

The hard cases: T = 2-10 random; nearly opposed; nearly collinear; norms spread over six orders
of magnitude; rank-deficient (more tasks than dimensions, and a row that is a combination of
others); duplicated rows.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch

import mtl_engine
from mtl_engine import training
from mtl_engine.events import EpochEnded, RunFailed, RunFinished, StepsLogged, TaskInfo
from mtl_engine.registry import STRATEGIES, validate_params
from mtl_engine.strategies import driver
from mtl_engine.strategies.base import GRADS_SPLIT, StepInfo, Strategy, build_strategy

from .conftest import tiny

T = torch.tensor


def make(name: str, n: int, **params: object) -> Strategy:
    full = validate_params(STRATEGIES.get(name).params, params, "strategy.params")
    tasks = tuple(TaskInfo(f"t{i}", "regression", 1, "mse", "mse", False) for i in range(n))
    return build_strategy(name, full, tasks, [1.0] * n, torch.device("cpu"))


class Given(driver.StepInputs):
    """Hand-made gradients: the full batch's G and, when given, different samples (GRADS_SPLIT's
    parts); records how many parts it was asked for."""

    source = "the new-strategy tests"

    def __init__(self, g: torch.Tensor, parts: tuple[torch.Tensor, ...] | None = None) -> None:
        self.g, self.parts = g, parts
        self.asked: list[int] = []

    def grads(self) -> torch.Tensor:
        return self.g

    def grads_split(self, parts: int = 2) -> torch.Tensor:
        self.asked.append(parts)
        if self.parts is None:
            return super().grads_split(parts)
        assert len(self.parts) == parts, (len(self.parts), parts)
        return torch.stack(self.parts)


def drive_step(strategy: Strategy, g: torch.Tensor, parts=None, k: int = 0):
    """One driven step; returns the Combined, its weights checked to be d total / d L_i."""
    n = g.shape[0]
    losses = torch.ones(n, dtype=torch.float64, requires_grad=True)
    inputs = Given(g.double(), None if parts is None else tuple(h.double() for h in parts))
    wants = driver.wanted(strategy, k)
    info = driver.prepare(strategy, wants, k, 0, inputs)
    comb = strategy.combine(losses, info)
    applied = torch.autograd.grad(comb.total, losses)[0]
    torch.testing.assert_close(applied, comb.weights.double(), rtol=1e-12, atol=0)
    driver.finish(strategy, wants, info, inputs)
    return comb


def step(strategy: Strategy, g: torch.Tensor, parts=None, k: int = 0) -> torch.Tensor:
    """One driven step; returns the weights, checked to be d total / d L_i."""
    return drive_step(strategy, g, parts, k).weights.double()


def hard_cases() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(2024)
    cases: dict[str, np.ndarray] = {}
    for t in (2, 3, 5, 7, 10):
        cases[f"random T={t}"] = rng.standard_normal((t, t + 3))
    for t in (2, 4):
        g = rng.standard_normal((t, 6))
        g[1] = -g[0] + 1e-3 * rng.standard_normal(6)
        cases[f"nearly opposed T={t}"] = g
        g = rng.standard_normal((t, 6))
        g[1] = g[0] * 2.0 + 1e-4 * rng.standard_normal(6)
        cases[f"nearly collinear T={t}"] = g
    for t in (3, 6):
        cases[f"spread norms T={t}"] = rng.standard_normal((t, 8)) * \
            np.logspace(-3, 3, t)[:, None]
    cases["rank-deficient T=6 P=3"] = rng.standard_normal((6, 3))
    g = rng.standard_normal((4, 7))
    g[3] = 0.3 * g[0] - 2.0 * g[1]
    cases["rank-deficient combination T=4"] = g
    g = rng.standard_normal((4, 5))
    g[2] = g[0]
    cases["duplicated rows T=4"] = g
    return cases


CASES = hard_cases()


def project_simplex_by_bisection(y: np.ndarray) -> np.ndarray:
    """The point of the simplex nearest y: y - theta clipped at 0, theta found by bisection on
    sum_i max(y_i - theta, 0) = 1 (a different algorithm from the code's sort-and-threshold)."""
    lo, hi = float(y.min()) - 1.0, float(y.max())
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if np.clip(y - mid, 0.0, None).sum() > 1.0:
            lo = mid
        else:
            hi = mid
    return np.clip(y - 0.5 * (lo + hi), 0.0, None)


# --------------------------------------------------------------------------- ConFIG


def config_reference(g: np.ndarray) -> np.ndarray:
    """Liu et al. (ICLR 2025) eq. 2: v = pinv(U) 1 with U the unit gradients, d = (sum_i g_i .
    v_hat) v_hat; computed from G itself (an SVD of U), not from the Gramian."""
    norms = np.linalg.norm(g, axis=1)
    u = np.where(norms[:, None] > 0, g / np.where(norms > 0, norms, 1.0)[:, None], 0.0)
    v = np.linalg.pinv(u, rcond=1e-10) @ np.ones(g.shape[0])
    if np.linalg.norm(v) == 0:
        return np.zeros(g.shape[1])
    v_hat = v / np.linalg.norm(v)
    return (g @ v_hat).sum() * v_hat


@pytest.mark.parametrize("label", sorted(CASES))
def test_config_matches_the_papers_update_on_hard_cases(label: str) -> None:
    g = CASES[label]
    d = (step(make("config", g.shape[0]), T(g)) @ T(g)).numpy()
    ref = config_reference(g)
    scale = float(np.linalg.norm(g, axis=1).max())
    assert np.linalg.norm(d - ref) <= 1e-8 * scale, (label, np.linalg.norm(d - ref) / scale)
    if np.linalg.matrix_rank(g / np.linalg.norm(g, axis=1)[:, None], tol=1e-10) == g.shape[0]:
        # independent gradients: equal cosine with every task, all positive (no conflict)
        cos = g @ d / (np.linalg.norm(g, axis=1) * np.linalg.norm(d))
        assert cos.min() > 0 and np.ptp(cos) <= 1e-8, (label, cos)


@pytest.mark.parametrize("label", sorted(CASES))
def test_config_from_the_gramian_alone_matches_too(label: str) -> None:
    # a caller that passes K only (no G): C = N^-1 K N^-1 squares U's condition, so the nearly
    # collinear T = 4 case (smallest singular value of U 6e-6) is off by 3e-7 of |d|, the rest
    # by 1e-12 or less
    g = CASES[label]
    k = T(g @ g.T)
    s = make("config", g.shape[0])
    losses = torch.ones(g.shape[0], dtype=torch.float64, requires_grad=True)
    d = (s.combine(losses, StepInfo(step=0, epoch=0, gramian=k)).weights.double() @ T(g)).numpy()
    ref = config_reference(g)
    assert np.linalg.norm(d - ref) <= 1e-6 * np.linalg.norm(ref), label


def test_config_by_hand() -> None:
    # orthogonal g1 = (1, 0), g2 = (0, 2): v = (1, 1), v_hat = (1, 1)/sqrt 2, the projections
    # add up to (1 + 2)/sqrt 2, so d = (3/2, 3/2) = 1.5 g1 + 0.75 g2
    w = step(make("config", 2), T([[1.0, 0.0], [0.0, 2.0]]))
    torch.testing.assert_close(w, T([1.5, 0.75], dtype=torch.float64))
    # three unit gradients 120 degrees apart: they sum to 0, v = pinv(U) 1 = 0, so d = 0
    s = math.sqrt(3) / 2
    w = step(make("config", 3), T([[1.0, 0.0], [-0.5, s], [-0.5, -s]]))
    torch.testing.assert_close(w, torch.zeros(3, dtype=torch.float64))
    # a zero gradient gets weight 0 and leaves the others' update as without it
    w = step(make("config", 3), T([[1.0, 0.0], [0.0, 0.0], [0.0, 2.0]]))
    torch.testing.assert_close(w, T([1.5, 0.0, 0.75], dtype=torch.float64))


def test_config_agrees_with_torchjd() -> None:
    from torchjd.aggregation import ConFIG

    for label in ("random T=5", "spread norms T=6", "rank-deficient T=6 P=3"):
        g = T(CASES[label])
        d = step(make("config", g.shape[0]), g) @ g
        torch.testing.assert_close(d, ConFIG()(g), rtol=1e-8, atol=1e-10 * float(g.norm()))


# --------------------------------------------------------------------------- MoDo


def noisy(g: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An independent sample of G: G plus 30 % noise."""
    return g + 0.3 * rng.standard_normal(g.shape) * np.abs(g).mean()


def test_modo_first_step_by_hand() -> None:
    # exact gradients (every sample is G = diag(1, 2)): G1 G2^T lambda = (0.5, 2);
    # y = lambda - gamma ((0.5, 2) + rho lambda) = (0.5 - 0.55 gamma, 0.5 - 2.05 gamma); the
    # projection adds 1.3 gamma to both; the update G3^T lambda = (lambda_1, 2 lambda_2)
    g = T([[1.0, 0.0], [0.0, 2.0]])
    lam = T([0.5 + 0.75e-3, 0.5 - 0.75e-3], dtype=torch.float64)
    comb = drive_step(make("modo", 2, gamma=1e-3, rho=0.1), g)
    torch.testing.assert_close(comb.weights.double(), lam)
    torch.testing.assert_close(comb.shown.double(), lam)
    torch.testing.assert_close(comb.direction.double(), T([lam[0], 2 * lam[1]]))
    halves = drive_step(make("modo", 2, gamma=1e-3, rho=0.1, samples="halves"), g)
    torch.testing.assert_close(halves.weights.double(), lam)
    assert halves.direction is None  # a weighting: the loop applies lambda^T G of the batch


def modo_reference(samples: list[tuple[np.ndarray, ...]], gamma: float, rho: float
                   ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Chen et al. (NeurIPS 2023) Algorithm 1, one (lambda, d) per step from three samples
    (rows of G: the task gradients): lambda_{t+1} = Proj(lambda_t - gamma (G1 G2^T lambda_t +
    rho lambda_t)), x_{t+1} = x_t - alpha G3^T lambda_{t+1}, so d = sum_i lambda_{t+1,i} g3_i."""
    t = samples[0][0].shape[0]
    lam, out = np.full(t, 1.0 / t), []
    for g1, g2, g3 in samples:
        lam = project_simplex_by_bisection(lam - gamma * (g1 @ (g2.T @ lam) + rho * lam))
        out.append((lam.copy(), sum(lam[i] * g3[i] for i in range(t))))
    return out


@pytest.mark.parametrize("label", sorted(CASES))
def test_modo_follows_algorithm_1_over_several_steps_on_hard_cases(label: str) -> None:
    rng = np.random.default_rng(7)
    g = CASES[label]
    gamma, rho = 0.05 / float((g * g).sum(1).max()), 0.1  # large enough to reach the faces
    seq = [(noisy(g, rng), noisy(g, rng), noisy(g, rng)) for _ in range(6)]
    s = make("modo", g.shape[0], gamma=gamma, rho=rho)
    scale = float(np.linalg.norm(g, axis=1).max())
    worst_w = worst_d = 0.0
    for k, ((lam, d), parts) in enumerate(zip(modo_reference(seq, gamma, rho), seq)):
        comb = drive_step(s, T(g), tuple(T(x) for x in parts), k)
        assert torch.equal(comb.shown, comb.weights)
        worst_w = max(worst_w, float(np.abs(comb.weights.numpy() - lam).max()))
        worst_d = max(worst_d, float(np.linalg.norm(comb.direction.numpy() - d)) / scale)
    assert worst_w <= 1e-10 and worst_d <= 1e-12, (worst_w, worst_d)


@pytest.mark.parametrize("label", sorted(CASES))
def test_modo_halves_option_keeps_the_two_halves_form(label: str) -> None:
    rng = np.random.default_rng(7)
    g = CASES[label]
    t = g.shape[0]
    gamma, rho = 0.05 / float((g * g).sum(1).max()), 0.1
    s = make("modo", t, gamma=gamma, rho=rho, samples="halves")
    lam = np.full(t, 1.0 / t)
    worst = 0.0
    for k in range(6):
        g1, g2 = noisy(g, rng), noisy(g, rng)
        lam = project_simplex_by_bisection(lam - gamma * (g1 @ (g2.T @ lam) + rho * lam))
        comb = drive_step(s, T(g), (T(g1), T(g2)), k)
        assert comb.direction is None
        worst = max(worst, float(np.abs(comb.weights.numpy() - lam).max()))
    assert worst <= 1e-10, worst


@pytest.mark.parametrize("name", ["modo", "sdmgrad"])
def test_the_samples_option_says_how_many_parts_the_caller_cuts(name: str) -> None:
    g = T([[1.0, 0.0], [0.0, 2.0]], dtype=torch.float64)
    for samples, parts in (("three", 3), ("halves", 2)):
        s = make(name, 2, samples=samples)
        assert s.split_parts() == parts
        given = Given(g)
        info = driver.prepare(s, driver.wanted(s, 0), 0, 0, given)
        assert given.asked == [parts] and info.split_parts == parts
        assert tuple(info.split_grads.shape) == (parts, 2, 2) and info.split_losses is None
        assert torch.equal(info.grads, g)  # the parts' mean: exact gradients stay exact
        assert torch.equal(info.gramian, g @ g.T)


def test_a_step_with_exact_gradients_only_counts_them_as_every_sample() -> None:
    g = T([[1.0, 0.0], [0.0, 2.0]], dtype=torch.float64)
    losses = torch.ones(2, dtype=torch.float64, requires_grad=True)
    for name in ("modo", "sdmgrad"):
        comb = make(name, 2).combine(losses, StepInfo(step=0, epoch=0, grads=g, gramian=g @ g.T))
        torch.testing.assert_close(comb.direction, comb.weights @ g)
        with pytest.raises(ValueError, match=f"{name} needs the gradients of 3 parts of the "
                                             "batch .GRADS_SPLIT. but the step carries 2"):
            make(name, 2).combine(losses, StepInfo(step=0, epoch=0,
                                                   split_grads=torch.stack([g, g])))


# --------------------------------------------------------------------------- SDMGrad


def sdmgrad_reference(g1: np.ndarray, g2: np.ndarray, w: np.ndarray, lam: float, niter: int
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Xiao et al. (NeurIPS 2023) Algorithm 1's inner loop, with the authors' numbers (LibMTL):
    M = G1 G2^T / (s^2 + 1e-8), s = mean sqrt(M_ii); niter projected SGD steps (lr 5, momentum
    0.5) on w^T M w / 2 + lam w^T M 1 / T; update weights (w + lam / T) / (1 + lam)."""
    t = g1.shape[0]
    m = g1 @ g2.T
    s = np.mean(np.sqrt(np.maximum(np.diag(m), 0.0)))
    m = m / (s * s + 1e-8)
    velocity = np.zeros(t)
    for i in range(niter):
        grad = m @ w + lam * m @ np.full(t, 1.0 / t)
        velocity = grad if i == 0 else 0.5 * velocity + grad
        w = project_simplex_by_bisection(w - 5.0 * velocity)
    return w, (w + lam / t) / (1 + lam)


@pytest.mark.parametrize("label", sorted(CASES))
def test_sdmgrad_follows_algorithm_1_on_hard_cases(label: str) -> None:
    # three samples per step: M from the first two, the update from the third,
    # d = (G3^T w + lam g0) / (1 + lam) with g0 the third sample's mean gradient
    rng = np.random.default_rng(11)
    g = CASES[label]
    t = g.shape[0]
    s = make("sdmgrad", t)  # defaults: lamda 0.3, niter 20
    w = np.full(t, 1.0 / t)
    scale = float(np.linalg.norm(g, axis=1).max())
    worst_w = worst_d = 0.0
    for k in range(4):
        g1, g2, g3 = noisy(g, rng), noisy(g, rng), noisy(g, rng)
        w, expected = sdmgrad_reference(g1, g2, w, 0.3, 20)
        d = (g3.T @ w + 0.3 * g3.mean(axis=0)) / 1.3
        comb = drive_step(s, T(g), (T(g1), T(g2), T(g3)), k)
        worst_w = max(worst_w, float(np.abs(comb.weights.numpy() - expected).max()))
        worst_d = max(worst_d, float(np.linalg.norm(comb.direction.numpy() - d)) / scale)
    assert worst_w <= 1e-8 and worst_d <= 1e-8, (worst_w, worst_d)  # lr 5 amplifies round-off


@pytest.mark.parametrize("label", sorted(CASES))
def test_sdmgrad_halves_option_keeps_the_two_halves_form(label: str) -> None:
    rng = np.random.default_rng(11)
    g = CASES[label]
    t = g.shape[0]
    s = make("sdmgrad", t, samples="halves")
    w = np.full(t, 1.0 / t)
    worst = 0.0
    for k in range(4):
        g1, g2 = noisy(g, rng), noisy(g, rng)
        w, expected = sdmgrad_reference(g1, g2, w, 0.3, 20)
        comb = drive_step(s, T(g), (T(g1), T(g2)), k)
        assert comb.direction is None
        worst = max(worst, float(np.abs(comb.weights.numpy() - expected).max()))
    assert worst <= 1e-8, worst


@pytest.mark.parametrize("g", [[[1.0, 0.3], [1.1, -0.3]], [[1.0, 0.6], [0.8, -0.5]]])
def test_sdmgrad_solves_the_papers_problem_where_its_inner_step_converges(g) -> None:
    # with G1 = G2 = G and many inner steps, w reaches argmin over the simplex of
    # |G^T w|^2 / 2 + lam <G^T w, g0>, g0 = G^T 1 / T (a fine grid finds it for T = 2), when the
    # heavy-ball step is stable along the simplex: 5 h < 2 (1 + 0.5), h = (M11 - 2 M12 + M22) / 2
    # of the normalised M (0.78 and 2.81 here); both minimisers are inside the simplex
    g = np.array(g)
    k, lam = g @ g.T, 0.3
    grid = np.linspace(0, 1, 400_001)
    ws = np.stack([grid, 1 - grid], 1)
    f = 0.5 * np.einsum("ni,ij,nj->n", ws, k, ws) + lam * ws @ (k @ np.full(2, 0.5))
    best = ws[int(np.argmin(f))]
    assert 0.01 < best[0] < 0.99
    got = step(make("sdmgrad", 2, lamda=lam, niter=2000), T(g)).numpy()
    torch.testing.assert_close(T(got), T((best + lam / 2) / (1 + lam)), atol=2e-6, rtol=0)


def test_sdmgrad_inner_step_bounces_where_it_is_too_long() -> None:
    # a fact of the authors' numbers, not a wish: on diag(1, 4) (h = 1.11, 5 h > 3) the inner
    # projected heavy-ball iterate does not settle at the min-norm weights (0.8, 0.2) (lamda = 0)
    # but on a vertex; the stochastic solver is as the paper's code runs it
    for niter in (500, 501):
        w = step(make("sdmgrad", 2, lamda=0.0, niter=niter), T([[1.0, 0.0], [0.0, 2.0]]))
        torch.testing.assert_close(w, T([1.0, 0.0], dtype=torch.float64))


# --------------------------------------------------------------------------- ExcessMTL


def excess_reference(grads: list[np.ndarray], eta: float) -> list[np.ndarray]:
    """He et al. (ICML 2024), as their code: S += g^2; E_i = sum_p g_ip^2 / sqrt(S_ip + 1e-7);
    the first step sets E^0 (weights 1); then w *= exp(eta E / E^0), renormalised to sum T."""
    t = grads[0].shape[0]
    s, scale, w, out = np.zeros_like(grads[0]), None, np.ones(t), []
    for g in grads:
        s = s + g * g
        e = (g * g / np.sqrt(s + 1e-7)).sum(1)
        if scale is None:
            scale = e
        else:
            w = w * np.exp(eta * e / scale)
            w = t * w / w.sum()
        out.append(w.copy())
    return out


def test_excess_mtl_by_hand() -> None:
    # step 1: S = diag-rows (1, 4); E^0 = (1, 2) (to 1e-7); weights stay 1
    # step 2: S = (5, 5); E = (4, 1)/sqrt 5; E/E^0 = (4/sqrt 5, 1/(2 sqrt 5))
    s = make("excess_mtl", 2, robust_step_size=0.5)
    torch.testing.assert_close(step(s, T([[1.0, 0.0], [0.0, 2.0]])),
                               T([1.0, 1.0], dtype=torch.float64))
    w = step(s, T([[2.0, 0.0], [0.0, 1.0]]), k=1)
    r = np.array([4 / math.sqrt(5), 1 / (2 * math.sqrt(5))])
    e = np.exp(0.5 * r)
    torch.testing.assert_close(w, T(2 * e / e.sum()), rtol=1e-6, atol=0)


@pytest.mark.parametrize("label", sorted(CASES))
def test_excess_mtl_matches_its_equations_on_hard_cases(label: str) -> None:
    rng = np.random.default_rng(3)
    g = CASES[label]
    seq = [g * np.exp(0.5 * rng.standard_normal((g.shape[0], 1))) for _ in range(5)]
    s = make("excess_mtl", g.shape[0])
    expected = excess_reference(seq, 1e-2)
    got = [step(s, T(x), k=k).numpy() for k, x in enumerate(seq)]
    worst = max(float(np.abs(a - b).max()) for a, b in zip(got, expected))
    assert worst <= 1e-12, worst


def test_excess_mtl_waits_for_a_first_nonzero_estimate() -> None:
    s = make("excess_mtl", 2, robust_step_size=1.0)
    step(s, T([[1.0, 0.0], [0.0, 0.0]]))  # task 2 has no gradient yet: no scale
    w = step(s, T([[1.0, 0.0], [0.0, 3.0]]), k=1)  # its first estimate becomes its scale
    e1 = 1 / math.sqrt(2 + 1e-7) / (1 / math.sqrt(1 + 1e-7))
    e = np.exp([e1, 0.0])
    torch.testing.assert_close(w, T(2 * e / e.sum()), rtol=1e-6, atol=0)


# --------------------------------------------------------------------------- in the loop


def record_task_gradients(monkeypatch) -> list[torch.Tensor]:
    calls: list[torch.Tensor] = []
    original = training.task_gradients

    def recording(losses, wrt):
        g = original(losses, wrt)
        calls.append(g.detach().double().clone())
        return g

    monkeypatch.setattr(training, "task_gradients", recording)
    return calls


@pytest.mark.parametrize("samples,sizes", [("three", (22, 21, 21)), ("halves", (32, 32))])
def test_the_loop_gives_disjoint_parts_of_the_batch(monkeypatch, samples: str,
                                                    sizes: tuple[int, ...]) -> None:
    """GRADS_SPLIT in the training loop: the parts' gradients differ, and (mean losses, no
    dropout) their mean weighted by the parts' sizes (64 rows: 22, 21, 21 or 32, 32) is the
    whole batch's gradient."""
    calls = record_task_gradients(monkeypatch)
    config = tiny(strategy={"name": "modo", "params": {"samples": samples}},
                  training={"epochs": 1, "max_steps_per_epoch": 2, "diagnostics_every": 1})
    events = list(mtl_engine.run(config))
    assert isinstance(events[-1], RunFinished), events[-1]
    k = len(sizes)
    assert len(calls) == 2 * (1 + k)  # per step: the whole batch (diagnostics), then the parts
    for s in range(2):
        full, *parts = calls[s * (1 + k):(s + 1) * (1 + k)]
        assert not torch.allclose(parts[0], parts[1])
        mean = sum(n * g for n, g in zip(sizes, parts)) / sum(sizes)
        torch.testing.assert_close(mean, full, rtol=1e-5, atol=1e-6)


@pytest.fixture
def snapshots(monkeypatch) -> list[dict]:
    """Per training step: a copy of the model and the batch as the strategy saw them, and every
    parameter's gradient the optimiser then stepped with (by name)."""
    seen: list[dict] = []
    real_prepare, real_finish = driver.prepare, driver.finish

    def prepare(strategy, wants, step, epoch, inputs):
        setup = inputs.loop.setup
        shared = {id(p) for p in setup.shared_params}
        seen.append({"model": copy.deepcopy(setup.model), "xb": inputs.xb.clone(),
                     "yb": [y.clone() for y in inputs.yb], "loss_fns": setup.loss_fns,
                     "tasks": [t.name for t in setup.tasks],
                     "shared": [n for n, p in setup.model.named_parameters() if id(p) in shared]})
        return real_prepare(strategy, wants, step, epoch, inputs)

    def finish(strategy, wants, info, inputs):
        seen[-1]["applied"] = {n: p.grad.detach().clone()
                               for n, p in inputs.loop.setup.model.named_parameters()}
        real_finish(strategy, wants, info, inputs)

    monkeypatch.setattr(driver, "prepare", prepare)
    monkeypatch.setattr(driver, "finish", finish)
    return seen


def part_losses(snap: dict, rows: np.ndarray):
    """The copied model's per-task losses on `rows` of the step's batch, and its parameters."""
    model = snap["model"]
    idx = torch.as_tensor(rows)
    out = model(snap["xb"][idx])
    losses = [fn(out[name], y[idx]) for fn, name, y in zip(snap["loss_fns"], snap["tasks"],
                                                           snap["yb"])]
    return losses, dict(model.named_parameters())


def shared_gradients(snap: dict, rows: np.ndarray) -> np.ndarray:
    """T x P: each task's gradient on the shared parameters from `rows` (float64 on the host)."""
    losses, params = part_losses(snap, rows)
    wrt = [params[n] for n in snap["shared"]]
    return np.stack([torch.cat([g.reshape(-1) for g in torch.autograd.grad(
        loss, wrt, retain_graph=True, allow_unused=False)]).double().numpy() for loss in losses])


def weighted_gradient(snap: dict, rows: np.ndarray, c: np.ndarray) -> dict[str, torch.Tensor]:
    """Every parameter's gradient of sum_i c_i L_i on `rows` (heads included)."""
    losses, params = part_losses(snap, rows)
    total = sum(float(ci) * li for ci, li in zip(c, losses))
    names = [n for n, p in params.items() if p.requires_grad]
    grads = torch.autograd.grad(total, [params[n] for n in names], allow_unused=True)
    return {n: g for n, g in zip(names, grads) if g is not None}


@pytest.mark.parametrize("name", ["modo", "sdmgrad"])
def test_the_loop_moves_every_parameter_along_the_third_part(snapshots, name: str) -> None:
    """A real run, recomputed here step by step from the paper's algorithm: the batch cut in
    three (numpy's array_split of its rows), the weights from parts 1 and 2, and then every
    parameter's gradient the optimiser got (shared ones: G3^T lambda; the heads: the same
    lambda-weighted loss of part 3) is that of sum_i c_i L_i on part 3 alone."""
    params = {"gamma": 1.0} if name == "modo" else {}
    config = tiny(strategy={"name": name, "params": params},
                  training={"epochs": 1, "max_steps_per_epoch": 4, "log_every": 2})
    events = list(mtl_engine.run(config))
    assert isinstance(events[-1], RunFinished) and events[-1].status == "completed", events[-1]
    assert len(snapshots) == 4
    t = len(snapshots[0]["tasks"])
    state = np.full(t, 1.0 / t)  # lambda (MoDo) or w (SDMGrad)
    plotted = []
    for snap in snapshots:
        first, second, third = np.array_split(np.arange(snap["xb"].shape[0]), 3)
        g1, g2 = shared_gradients(snap, first), shared_gradients(snap, second)
        if name == "modo":
            state = project_simplex_by_bisection(state - 1.0 * (g1 @ (g2.T @ state)
                                                                + 0.1 * state))
            c = state
        else:
            state, c = sdmgrad_reference(g1, g2, state, 0.3, 20)
        plotted.append(c)
        expected = weighted_gradient(snap, third, c)
        assert set(expected) == set(snap["applied"])
        for pname, want in expected.items():
            torch.testing.assert_close(snap["applied"][pname], want, rtol=1e-4, atol=1e-6,
                                       msg=f"{name}: {pname}")
        # not the whole batch's: the update sample is the third part only
        whole = weighted_gradient(snap, np.arange(snap["xb"].shape[0]), c)
        gap = max(float((whole[n] - snap["applied"][n]).abs().max()) for n in snap["shared"])
        assert gap > 1e-4, gap
    logged = [e for e in events if isinstance(e, StepsLogged)]
    weights = [w for e in logged for w in zip(*e.weights.values())]
    np.testing.assert_allclose(np.array(weights), np.array(plotted), rtol=1e-5, atol=1e-7)
    assert np.abs(plotted[-1] - plotted[0]).max() > 1e-4  # the weights do move
    for e in logged:  # the reported total is the batch's sum_i c_i L_i, as the columns add up
        for j, total in enumerate(e.total):
            assert total == pytest.approx(sum(v[j] for v in e.weighted.values()), rel=1e-5)


@pytest.mark.parametrize("name", ["config", "modo", "sdmgrad", "excess_mtl"])
def test_new_strategies_train_through_the_loop(name: str) -> None:
    config = tiny(strategy={"name": name}, training={"epochs": 3, "max_steps_per_epoch": 8})
    events = list(mtl_engine.run(config))
    assert not [e for e in events if isinstance(e, RunFailed)], events[-1]
    epochs = [e for e in events if isinstance(e, EpochEnded)]
    assert sum(epochs[-1].train_loss.values()) < sum(epochs[0].train_loss.values())
    logged = [w for e in events if isinstance(e, StepsLogged) for w in e.weights["digit"]]
    assert logged and all(math.isfinite(w) for w in logged)


def test_every_new_strategy_is_registered_with_its_facts() -> None:
    facts = {"config": ("shared", "representation"), "modo": ("shared",),
             "sdmgrad": ("shared",), "excess_mtl": ("shared",)}
    for name, modes in facts.items():
        entry = STRATEGIES.get(name)
        assert entry.meta["family"] == "gradient" and entry.meta["grad_modes"] == modes
        assert entry.meta["order_invariant"] is True
        assert math.isinf(entry.meta["conflict_tol"])  # none holds on every matrix (see docs)
    assert GRADS_SPLIT in STRATEGIES.get("modo").obj.requires
    assert GRADS_SPLIT in STRATEGIES.get("sdmgrad").obj.requires


# --------------------------------------------------------------------------- GradNorm's target


def test_gradnorm_target_follows_the_relative_inverse_training_rates() -> None:
    """Chen et al. (ICML 2018) eq. 2 past the first step, where r_i != 1 (the existing by-hand
    test stops at the first step): L_grad = sum_i |w_i |g_i| - mean_j(w_j |g_j|) r_i^alpha|,
    r_i = (L_i / L_i(0)) / mean_j (L_j / L_j(0))."""
    s = make("gradnorm", 2, alpha=1.5)
    g = T([[1.0, 0.0], [0.0, 3.0]], dtype=torch.float64)  # last-layer norms 1 and 3
    info0 = StepInfo(step=0, epoch=0, grads=g, gramian=g @ g.T)
    s.combine(T([2.0, 4.0], dtype=torch.float64), info0)  # L(0) = (2, 4)
    with torch.no_grad():
        s.w.copy_(T([0.5, 1.5]))
    losses = T([1.0, 3.0], dtype=torch.float64, requires_grad=True)
    comb = s.combine(losses, StepInfo(step=1, epoch=0, grads=g, gramian=g @ g.T))
    # ratios (1/2, 3/4), mean 5/8: r = (0.8, 1.2); G = w |g| = (0.5, 4.5), mean 2.5
    target = [2.5 * 0.8 ** 1.5, 2.5 * 1.2 ** 1.5]
    expected = abs(0.5 - target[0]) + abs(4.5 - target[1])
    assert float(comb.aux.detach()) == pytest.approx(expected, rel=1e-6)
    torch.testing.assert_close(comb.weights.double(), T([0.5, 1.5], dtype=torch.float64))
    comb.aux.backward()
    torch.testing.assert_close(s.w.grad, T([-1.0, 3.0]))  # sign(G_i - target_i) |g_i|
