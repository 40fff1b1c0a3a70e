"""Fidelity of the Gramian-based methods: each checked against its paper's defining equations.

The references here are our own, written from the papers (never from the code under test):
extended-precision (long double) solves of Nash-MTL's and FairGrad's equations by a different
method (continuation in a ridge), IMTL-G's closed form computed from the gradient vectors,
the optimality (KKT) conditions of MGDA, CAGrad, UPGrad and DualProj, CAGrad's update from every
support of its dual tried in long double, PCGrad's projections over every task order, GradVac's
Algorithm 1 on the vectors in long double, Aligned-MTL's balance transformation. They run on a
seeded set of 64 hard gradient matrices (T = 2-10): random, conflicting, nearly opposed (1 + cos
down to 1e-8), nearly collinear, rank-deficient, duplicated rows, widely spread norms (1e-4 ..
1e4), and nearly opposed pairs among spread norms. docs/fidelity.md quotes the largest errors
these tests allow and see.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

import mtl_engine.strategies  # noqa: F401  (registers every strategy)
from mtl_engine.events import TaskInfo
from mtl_engine.registry import STRATEGIES, validate_params
from mtl_engine.strategies.base import StepInfo, build_strategy

LD = np.longdouble
EPS = float(np.finfo(float).eps)


# --------------------------------------------------------------------------- the hard cases


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


KINDS = ("random", "conflicting", "nearly_opposed", "nearly_collinear", "rank_deficient",
         "duplicated", "spread_norms", "opposed_spread")


def hard_cases(n: int = 64, seed: int = 1234) -> list[tuple[str, np.ndarray]]:
    """(kind, G) pairs, G of shape T x (T + 3) with T = 2..10, every kind eight times."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        kind = KINDS[i % len(KINDS)]
        t = 2 + (i * 5 + i // 8) % 9
        p = t + 3
        g = rng.standard_normal((t, p))
        if kind == "conflicting":  # many obtuse pairs, a few shared directions only
            g = rng.standard_normal((t, 2 + t // 3))
            g[:, 0] += 0.6  # a common half-space, so that Nash-MTL's equation has a solution
            g = np.hstack([g, 0.1 * rng.standard_normal((t, p - g.shape[1]))])
        elif kind in ("nearly_opposed", "opposed_spread"):
            gap = 10.0 ** -float(rng.integers(4, 9))  # 1 + cos(g1, g2)
            a = _unit(g[0])
            e = rng.standard_normal(p)
            e = _unit(e - (e @ a) * a)
            c = -1.0 + gap
            g[1] = (c * a + math.sqrt(1 - c * c) * e) * np.linalg.norm(g[1])
            if kind == "opposed_spread":
                g *= 10.0 ** rng.uniform(-4, 4, size=(t, 1))
        elif kind == "nearly_collinear":  # same direction, another norm, a small perturbation
            g[1] = g[0] * rng.uniform(0.5, 2) + 10.0 ** -float(rng.integers(3, 6)) * \
                rng.standard_normal(p)
        elif kind == "rank_deficient":
            r = max(1, t // 2)
            a = rng.standard_normal((t, r))
            a[:, 0] = np.abs(a[:, 0]) + 0.3  # some d has g_i . d > 0 for all i
            g = a @ np.linalg.qr(rng.standard_normal((p, r)))[0].T
        elif kind == "duplicated":
            g[1] = g[0]
            if t > 3:
                g[3] = g[2]
        elif kind == "spread_norms":
            g *= 10.0 ** rng.uniform(-4, 4, size=(t, 1))
        out.append((kind, g))
    return out


CASES = hard_cases()


# --------------------------------------------------------------------------- running a strategy


def make(name: str, n: int, **params: object):
    entry = STRATEGIES.get(name)
    full = validate_params(entry.params, params, "strategy.params")
    tasks = tuple(TaskInfo(f"t{i}", "regression", 1, "mse", "mse", False) for i in range(n))
    return build_strategy(name, full, tasks, [1.0] * n, torch.device("cpu"))


def weights(strategy, g: np.ndarray) -> np.ndarray:
    """The weights `strategy` applies for gradients G, fed as the training loop feeds them."""
    gt = torch.from_numpy(g)
    losses = torch.ones(g.shape[0], dtype=torch.float64, requires_grad=True)
    comb = strategy.combine(losses, StepInfo(0, 0, grads=gt, gramian=gt @ gt.T))
    # the weights reported are the weights applied: d total / d L_i
    (applied,) = torch.autograd.grad(comb.total, losses)
    np.testing.assert_allclose(applied.numpy(), comb.weights.numpy(), rtol=1e-12, atol=0)
    return comb.weights.numpy().astype(float)


def weigh(name: str, g: np.ndarray, **params: object) -> np.ndarray:
    return weights(make(name, g.shape[0], **params), g)


# --------------------------------------------------------------------------- long double tools


def ld_solve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a x = b by Gaussian elimination with partial pivoting in long double."""
    a = a.astype(LD).copy()
    b = b.astype(LD).copy()
    n = b.shape[0]
    for j in range(n):
        piv = j + int(np.argmax(np.abs(a[j:, j])))
        a[[j, piv]] = a[[piv, j]]
        b[[j, piv]] = b[[piv, j]]
        f = a[j + 1:, j] / a[j, j]
        a[j + 1:] -= f[:, None] * a[j]
        b[j + 1:] -= f * b[j]
    x = np.zeros(n, dtype=LD)
    for j in range(n - 1, -1, -1):
        x[j] = (b[j] - a[j, j + 1:] @ x[j + 1:]) / a[j, j]
    return x


def reference_balance(g: np.ndarray, p: float) -> np.ndarray:
    """x > 0 with K x = x^(-p) (Nash-MTL: p = 1, Navon et al. eq. 4; FairGrad: p = 1/alpha,
    Ban & Ji eq. 4), K = G G^T formed in long double from G.

    Continuation in a ridge: (C + eps I) y = w y^(-p) for eps = 1, 1e-2, ..., 1e-12, then 0,
    each solved by plain Newton from the previous level's answer, with C the cosine matrix,
    y = x |g| and w = |g|^(p - 1) (an exact rescaling of the same equation). Each level is
    well conditioned where the one before left off, so no line search is needed.
    """
    gl = g.astype(LD)
    k = gl @ gl.T
    pl = LD(p)
    n = np.sqrt(np.diag(k))
    c = k / np.outer(n, n)
    w = n ** (pl - 1)
    eye = np.eye(n.shape[0], dtype=LD)
    y = (w / 2) ** (1 / (1 + pl))
    for eps in [LD(10.0) ** -e for e in range(0, 13, 2)] + [LD(0)]:
        a = c + eps * eye
        previous = np.inf
        for _ in range(60):
            grad = a @ y - w * y ** (-pl)
            r = float(np.max(np.abs(grad) / (w * y ** (-pl))))
            if r < 1e-17 or (eps == 0 and r > previous / 2 and r < 1e-12):
                break
            previous = r
            step = -ld_solve(a + np.diag(pl * w * y ** (-pl - 1)), grad)
            t = LD(1)
            while np.any(y + t * step <= y / 4):  # never shrink a weight more than 4x
                t /= 2
            y = y + t * step
    return (y / n).astype(float)


_REFERENCES: dict[tuple[int, float], np.ndarray] = {}


def case_reference(i: int, p: float) -> np.ndarray:
    """`reference_balance` of hard case i, solved once per run (Nash and FairGrad 1 share it)."""
    if (i, p) not in _REFERENCES:
        _REFERENCES[i, p] = reference_balance(CASES[i][1], p)
    return _REFERENCES[i, p]


def residual(g: np.ndarray, x: np.ndarray, p: float) -> float:
    """max_i |(K x)_i x_i^p - 1|, in long double from G: the relative residual of the equation."""
    gl = g.astype(LD)
    xl = x.astype(LD)
    return float(np.max(np.abs(((gl @ gl.T) @ xl) * xl ** LD(p) - 1)))


def floor(g: np.ndarray, x: np.ndarray, p: float) -> float:
    """The relative residual that rounding the solution x to float64 alone leaves:
    eps max_i (|K| x)_i / (K x)_i, with (K x)_i = x_i^(-p) there. Where (K x)_i cancels (nearly
    opposed pairs among spread norms, FairGrad's p != 1) no float64 x has a smaller residual."""
    k = np.abs(g.astype(LD) @ g.astype(LD).T)
    return EPS * float(np.max((k @ x.astype(LD)) * x.astype(LD) ** LD(p)))


# --------------------------------------------------------------------------- Nash-MTL, FairGrad


def _check_balance(name: str, p: float, every: int = 1, **params: object) -> None:
    worst_w, worst_r = (0.0, ""), (0.0, "")
    for i, (kind, g) in list(enumerate(CASES))[::every]:
        s = make(name, g.shape[0], **params)
        x = weights(s, g)
        assert not s.take_notes(), f"{name} regularised case {i} ({kind}), which has a solution"
        assert np.all(x > 0), f"{name} case {i} ({kind}): {x}"
        ref = case_reference(i, p)
        err = float(np.max(np.abs(x - ref) / ref))
        res = residual(g, x, p)
        # 1e-6 wherever float64 can carry the solution that well; the round-off floor elsewhere
        allowed = max(1e-6, 30 * floor(g, ref, p))
        assert err <= 1e-6, f"{name} case {i} ({kind}, T={g.shape[0]}): weights off by {err:.2g}"
        assert res <= allowed, f"{name} case {i} ({kind}): residual {res:.2g} > {allowed:.2g}"
        worst_w = max(worst_w, (err, f"{i} {kind}"))
        if floor(g, ref, p) <= 1e-9:
            worst_r = max(worst_r, (res, f"{i} {kind}"))
    assert worst_r[0] <= 1e-6, worst_r


def test_nash_mtl_solves_its_equation_on_the_hard_cases() -> None:
    _check_balance("nash_mtl", 1.0, max_norm=0.0)


@pytest.mark.parametrize("alpha", [0.5, 1.0, 2.0, 5.0])
def test_fairgrad_solves_its_equation_on_the_hard_cases(alpha: float) -> None:
    _check_balance("fairgrad", 1.0 / alpha, alpha=alpha)


@pytest.mark.parametrize("alpha", [0.1, 20.0])
def test_fairgrad_far_from_proportional_fairness(alpha: float) -> None:
    # every other hard case (time); at alpha >= 50 the weights outside an opposed pair fall
    # below 1e-40 and the solver may stop with a SolverError (docs/fidelity.md)
    _check_balance("fairgrad", 1.0 / alpha, every=2, alpha=alpha)


@pytest.mark.parametrize("gap", [1e-2, 1e-6, 1e-9, 1e-11])
def test_nash_mtl_two_task_closed_form_is_exact_up_to_opposed(gap: float) -> None:
    # alpha_i = 1 / (|g_i| sqrt(1 + cos)), worked out in long double from the vectors
    c = -1.0 + gap
    g = np.array([[2.0, 0.0, 0.0], [3.0 * c, 3.0 * math.sqrt(1 - c * c), 0.0]])
    x = weigh("nash_mtl", g, max_norm=0.0)
    gl = g.astype(LD)
    norms = np.sqrt((gl * gl).sum(1))
    cos = (gl[0] @ gl[1]) / (norms[0] * norms[1])
    expected = 1 / (norms * np.sqrt(1 + cos))
    np.testing.assert_allclose(x, expected.astype(float), rtol=1e-6)
    assert residual(g, x, 1.0) <= 1e-6 or gap < 1e-10  # below that float64 K cannot show it


def _pareto_stationary() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    g1, g2, g3 = rng.standard_normal((3, 5))
    return {
        "opposed, T=2": np.array([g1, -3.0 * g1]),
        "opposed pair among others": np.array([g1, -0.5 * g1, g3]),
        "one in the negative cone of two": np.array([g1, g2, -(g1 + 2.0 * g2)]),
        "rank 2, T=4, 0 in the hull": np.array([g1[:2], g2[:2], g3[:2], -(g1 + g2 + g3)[:2]]),
    }


@pytest.mark.parametrize("name,p", [("nash_mtl", 1.0), ("fairgrad", 1.0), ("fairgrad", 0.5),
                                    ("fairgrad", 2.0)])
def test_no_solution_is_regularised_and_said_near_solutions_are_not(name: str, p: float) -> None:
    params = {"max_norm": 0.0} if name == "nash_mtl" else {"alpha": 1.0 / p}
    # no positive solution: some s >= 0, s != 0, has G^T s = 0 (s^T K x = 0 < s^T x^(-p))
    for label, g in _pareto_stationary().items():
        s = make(name, g.shape[0], **params)
        x = weights(s, g)
        notes = s.take_notes()
        assert len(notes) == 1 and "Pareto-stationary" in notes[0] and name in notes[0], label
        weights(s, g)
        assert s.take_notes() == [], "said once per run"
        assert np.all(np.isfinite(x)) and np.all(x > 0), (label, x)
        # what was solved instead: K + 1e-8 diag(K), exactly
        ridged = g @ g.T + 1e-8 * np.diag(np.diag(g @ g.T))
        np.testing.assert_allclose(ridged @ x * x ** p, 1.0, rtol=1e-6, err_msg=label)
    # the other side: a pair 1e-10 from opposed has a solution (weights ~1e5), found exactly
    c = -1.0 + 1e-10
    g = np.array([[1.0, 0.0, 0.0], [2 * c, 2 * math.sqrt(1 - c * c), 0.0], [0.3, 0.2, 1.0]])
    s = make(name, 3, **params)
    x = weights(s, g)
    assert not s.take_notes()
    np.testing.assert_allclose(x, reference_balance(g, p), rtol=1e-5)


@pytest.mark.parametrize("name", ["nash_mtl", "fairgrad"])
def test_a_zero_gradient_gets_weight_zero_and_is_said(name: str) -> None:
    g = np.array([[1.0, 0.0], [0.0, 0.0], [0.5, 1.0]])
    s = make(name, 3)
    x = weights(s, g)
    assert x[1] == 0.0 and np.all(x[[0, 2]] > 0)
    (note,) = s.take_notes()
    assert "exactly zero" in note and name in note
    sub = g[[0, 2]]
    expected = reference_balance(sub, 1.0)
    if name == "nash_mtl":  # max_norm 1 scales the update sqrt(T) down to 1
        expected = expected / math.sqrt(2.0)
    np.testing.assert_allclose(x[[0, 2]], expected, rtol=1e-9)


# --------------------------------------------------------------------------- IMTL-G


def imtl_g_paper(g: np.ndarray) -> np.ndarray:
    """Liu et al. (ICLR 2021) eq. 11 in long double from the vectors: alpha_{2..T} =
    g_1 U^T (D U^T)^-1, U_i = u_1 - u_i, D_i = g_1 - g_i, alpha_1 = 1 - sum."""
    gl = g.astype(LD)
    u = gl / np.sqrt((gl * gl).sum(1))[:, None]
    big_u, big_d = u[0] - u[1:], gl[0] - gl[1:]
    rest = ld_solve((big_d @ big_u.T).T, big_u @ gl[0])
    return np.concatenate([[1 - rest.sum()], rest]).astype(float)


def _check_imtl_conditions(g: np.ndarray, a: np.ndarray, label: str) -> None:
    """sum alpha = 1 and d . u_i equal for every i (to 1e-9 of the largest gradient)."""
    assert abs(a.sum() - 1) <= 1e-9, (label, a.sum())
    d = a @ g
    proj = (g / np.linalg.norm(g, axis=1)[:, None]) @ d
    scale = np.abs(a).max() * np.linalg.norm(g, axis=1).max()
    assert np.ptp(proj) <= 1e-9 * scale, (label, proj)


def test_imtl_g_matches_the_papers_closed_form_on_the_hard_cases() -> None:
    for i, (kind, g) in enumerate(CASES):
        a = weigh("imtl_g", g)
        _check_imtl_conditions(g, a, f"{i} {kind}")
        if kind in ("rank_deficient", "duplicated") or g.shape[0] == 2 and kind == \
                "nearly_collinear":
            continue  # D U^T is singular (or nearly): the formula is undefined; see below
        ref = imtl_g_paper(g)
        err = float(np.max(np.abs(a - ref)) / np.abs(ref).max())
        assert err <= 1e-6, f"imtl_g case {i} ({kind}): off the paper's formula by {err:.2g}"


def test_imtl_g_on_opposed_gradients_is_zero_the_limit_of_the_formula() -> None:
    # the case: torchjd's K^+ sqrt(diag K) gives alpha = (-1/2, 3/2), d = -5 g1
    g = np.array([[1.0, 0.0], [-3.0, 0.0]])
    a = weigh("imtl_g", g)
    np.testing.assert_allclose(a, [0.75, 0.25], rtol=1e-12)  # alpha proportional to 1 / |g_i|
    assert np.abs(a @ g).max() <= 1e-15
    for gap in (1e-4, 1e-8):  # the limit: as the pair opposes, d -> 0
        c = -1.0 + gap
        near = np.array([[1.0, 0.0], [4.0 * c, 4.0 * math.sqrt(1 - c * c)]])
        d = weigh("imtl_g", near) @ near
        ref = imtl_g_paper(near) @ near
        assert np.linalg.norm(d - ref) <= 1e-9 and np.linalg.norm(d) <= 2 * math.sqrt(gap)
    rng = np.random.default_rng(3)
    g = np.array([[1.0, 2.0, 0.0, 1.0], [-2.0, -4.0, 0.0, -2.0], rng.standard_normal(4)])
    a = weigh("imtl_g", g)  # an opposed pair among three: d = 0, the pair's weights 1/|g_i|
    assert np.abs(a @ g).max() <= 1e-12
    np.testing.assert_allclose(a, [2 / 3, 1 / 3, 0.0], atol=1e-12)
    near = g.copy()
    near[1] += 1e-9 * rng.standard_normal(4)
    np.testing.assert_allclose(a, imtl_g_paper(near), atol=1e-6)  # the formula's limit


def test_imtl_g_singular_cases_take_the_formulas_limit() -> None:
    rng = np.random.default_rng(11)
    base = rng.standard_normal((4, 6))
    # a same-direction pair of unequal norms among four tasks: d = 0 with alpha from the pair
    g = base.copy()
    g[1] = 2.0 * g[0]
    a = weigh("imtl_g", g)
    np.testing.assert_allclose(a, [2.0, -1.0, 0.0, 0.0], atol=1e-9)
    near = g.copy()
    near[1] += 1e-9 * rng.standard_normal(6)
    np.testing.assert_allclose(a, imtl_g_paper(near), atol=1e-6)
    # duplicated rows: only their sum counts (no limit exists); split equally, the rest exact
    g = base.copy()
    g[1] = g[0]
    a = weigh("imtl_g", g)
    _check_imtl_conditions(g, a, "duplicated")
    assert a[0] == pytest.approx(a[1], rel=1e-9)
    reduced = imtl_g_paper(g[[0, 2, 3]])
    np.testing.assert_allclose([a[0] + a[1], a[2], a[3]], reduced, rtol=1e-9)
    # two tasks, same direction: alpha = (|g2|, |g1|) / (|g1| + |g2|), as for every pair
    a = weigh("imtl_g", np.array([[1.0, 1.0], [3.0, 3.0]]))
    np.testing.assert_allclose(a, [0.75, 0.25], rtol=1e-12)


def test_imtl_g_with_a_zero_gradient_stops_and_says_so() -> None:
    # the limit as g_2 -> 0: its projection d . u_2 must match the others', so d -> 0 and
    # alpha_2 -> 1 (alpha proportional to 1 / |g_i| for orthogonal gradients)
    s = make("imtl_g", 3)
    a = weights(s, np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 2.0, 0.0]]))
    np.testing.assert_allclose(a, [0.0, 1.0, 0.0])
    assert "exactly zero" in s.take_notes()[0]
    shrinking = weigh("imtl_g", np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1e-9], [0.0, 2.0, 0.0]]))
    np.testing.assert_allclose(shrinking, a, atol=1e-8)


def test_imtl_g_nearly_collinear_below_float64_resolution_stays_close() -> None:
    # 1 - cos ~ 1e-13: the float64 Gramian no longer resolves the pair (its cosine is exact to
    # 1e-16 only); measured: weights within 1.8e-4 of the formula, the update within 8.4e-5 max|g|
    rng = np.random.default_rng(5)
    for trial in range(40):
        g = rng.standard_normal((3 + trial % 6, 9))
        g[1] = g[0] * rng.uniform(1.5, 3) + 1e-6 * rng.standard_normal(9)
        a, ref = weigh("imtl_g", g), imtl_g_paper(g)
        assert np.max(np.abs(a - ref)) <= 5e-4 * np.abs(ref).max(), trial
        assert np.linalg.norm((a - ref) @ g) <= 2e-4 * np.linalg.norm(g, axis=1).max(), trial


# --------------------------------------------------------------------------- the methods that hold


def test_mgda_is_the_min_norm_point_of_the_hull() -> None:
    """KKT of min_{s in simplex} s^T K s: s >= 0, sum 1, (K s)_i >= s^T K s, = where s_i > 0."""
    for i, (kind, g) in enumerate(CASES):
        s = weigh("mgda", g)
        k = g @ g.T
        scale = float(np.diag(k).max())
        value = float(s @ k @ s)
        assert s.min() >= 0 and abs(s.sum() - 1) <= 1e-12, (i, kind, s)
        ks = k @ s
        assert ks.min() >= value - 1e-9 * scale, (i, kind, ks.min() - value)
        on = s > 1e-9
        assert np.abs(ks[on] - value).max() <= 1e-9 * scale, (i, kind)


def _cagrad_kkt_error(g: np.ndarray, c: float) -> float:
    """Liu et al. (NeurIPS 2021) eq. 3's dual: w* = argmin_{simplex} b^T w + r |g_w|, b = K 1/T,
    r = c |g0|, and alpha (1 + c^2) = 1/T + (r / |g_w*|) w*. w* is recovered from alpha; the
    largest relative violation of: the step length r / rho, grad F_i = nu on the support and
    >= nu off it."""
    t = g.shape[0]
    k = g @ g.T / np.trace(g @ g.T)
    a = weigh("cagrad", g, calpha=c)
    v = a * (1 + c * c) - 1 / t  # (r / rho) w
    b = k.sum(1) / t
    r = c * math.sqrt(b.sum() / t)
    if v.sum() <= 1e-12:  # rho = 0 (Pareto-stationary): d = g0
        return float(np.abs(a - 1 / t / (1 + c * c)).max())
    w = np.clip(v, 0, None) / v.sum()
    rho = math.sqrt(w @ k @ w)
    grad = b + r * (k @ w) / rho
    on = w > 1e-9
    nu = grad[on].mean()
    scale = np.abs(grad).max()
    return max(abs(v.sum() * rho - r) / r, float(np.abs(grad[on] - nu).max()) / scale,
               float(nu - grad.min()) / scale, float(-v.min()) / v.sum())


def test_cagrad_solves_its_dual() -> None:
    worst = (0.0, "")
    for i, (kind, g) in enumerate(CASES):
        worst = max(worst, (_cagrad_kkt_error(g, 0.5), f"{i} {kind}"))
    assert worst[0] <= 1e-6, worst


def _ld_face_solve(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(a^-1 1, a^-1 b) by symmetric Gaussian elimination (no pivoting: a is a Gramian) in long
    double; None when a pivot falls below 1e-14 of its diagonal entry, i.e. a gradient on S is
    (to round-off) a combination of the ones before it."""
    n = b.shape[0]
    a = a.astype(LD).copy()
    rhs = np.stack([np.ones(n, dtype=LD), b.astype(LD)], axis=1)
    diag = np.diag(a).copy()
    for j in range(n):
        if a[j, j] <= 1e-14 * diag[j]:
            return None
        f = a[j + 1:, j] / a[j, j]
        a[j + 1:] -= f[:, None] * a[j]
        rhs[j + 1:] -= f[:, None] * rhs[j]
    x = np.zeros((n, 2), dtype=LD)
    for j in range(n - 1, -1, -1):
        x[j] = (rhs[j] - a[j, j + 1:] @ x[j + 1:]) / a[j, j]
    return x[:, 0], x[:, 1]


def cagrad_reference(g: np.ndarray, c: float) -> np.ndarray:
    """CAGrad's update d = (g0 + G^T v) / (1 + c^2) (Liu et al., Algorithm 1, rescale 1), by
    another method than the strategy's: every support S of the dual's minimiser is tried, in
    long double from G, and the one whose optimality conditions hold is kept. On S (linearly
    independent gradients: a conic combination can always be reduced to such, Caratheodory)
    g_i . d' = nu with d' = g0 + G_S^T v_S and |G_S^T v_S| = r, i.e. K_SS v_S = nu 1 - b_S and
    v_S^T K_SS v_S = r^2: v_S = nu p - q with p = K_SS^-1 1, q = K_SS^-1 b_S, a quadratic in nu
    (its larger root: sum v = 1^T (nu p - q) = r / |g_w| > 0); off S, g_j . d' >= nu; v >= 0."""
    t = g.shape[0]
    gl = g.astype(LD)
    k = gl @ gl.T
    b = k.sum(1) / t
    g0 = gl.sum(0) / t
    r = LD(c) * np.sqrt(g0 @ g0)
    norms = np.sqrt(np.diag(k))
    best = None
    for size in range(1, t + 1):
        for combo in itertools.combinations(range(t), size):
            s = list(combo)
            solved = _ld_face_solve(k[np.ix_(s, s)], b[s])
            if solved is None:  # dependent gradients on S
                continue
            p, q = solved
            qa, qb, qc = p.sum(), q.sum(), b[s] @ q  # A nu^2 - 2 B nu + C = r^2
            disc = qb * qb - qa * (qc - r * r)
            if disc < 0:
                continue
            nu = (qb + np.sqrt(disc)) / qa
            v = np.zeros(t, dtype=LD)
            v[s] = nu * p - q
            d = g0 + v @ gl
            slack = (gl @ d - nu) / (norms * (np.sqrt(g0 @ g0) + r))
            if v.min() < -1e-12 * np.abs(v).max() or slack.min() < -1e-12:
                continue
            assert best is None or np.abs(best - d).max() <= 1e-9 * np.abs(d).max(), \
                "two supports satisfy the optimality conditions with different d"
            best = d
    assert best is not None, "no support satisfies the optimality conditions"
    return (best / (1 + LD(c) * LD(c))).astype(float)


@pytest.mark.parametrize("c", [0.5, 2.0])
def test_cagrad_update_matches_a_long_double_reference(c: float) -> None:
    """The update d = alpha @ G against `cagrad_reference`, within 1e-6 of |d|, on every case.
    (At c >= 1 the dual's value nu = min_i g_i . d' can fall to ~1e-9 |g_i| |d'| on the
    opposed pairs among spread norms, where float64 cannot resolve _cagrad_kkt_error's scale,
    so there the check is d itself.)"""
    worst = (0.0, "")
    for i, (kind, g) in enumerate(CASES):
        ref = cagrad_reference(g, c)
        d = weigh("cagrad", g, calpha=c) @ g
        err = float(np.linalg.norm(d - ref) / np.linalg.norm(ref))
        assert err <= 1e-6, f"cagrad c={c} case {i} ({kind}, T={g.shape[0]}): d off by {err:.2g}"
        worst = max(worst, (err, f"{i} {kind}"))
    print(f"cagrad c={c}: worst relative error of d {worst[0]:.2g} (case {worst[1]})")


def test_cagrad_two_task_closed_form_on_opposed_pairs_of_spread_norms() -> None:
    # `two_tasks` once formed D = a gamma - beta^2 with terms |g2|^4 apart and took 1 - t for the
    # small weight: up to 60 % off d on such pairs at c = 2; 1e-7 seen now (norms 5.6e5 apart)
    rng = np.random.default_rng(8)
    for trial in range(60):
        g = rng.standard_normal((2, 4))
        a = _unit(g[0])
        e = rng.standard_normal(4)
        e = _unit(e - (e @ a) * a)
        cos = -1.0 + 10.0 ** -rng.uniform(2, 9)
        g[1] = (cos * a + math.sqrt(1 - cos * cos) * e) * np.linalg.norm(g[1])
        g *= 10.0 ** rng.uniform(-4, 4, size=(2, 1))
        for c in (0.5, 2.0):
            d, ref = weigh("cagrad", g, calpha=c) @ g, cagrad_reference(g, c)
            err = float(np.linalg.norm(d - ref) / np.linalg.norm(ref))
            assert err <= 1e-6, (trial, c, err)


def test_cagrad_where_g_w_is_zero_takes_g0_and_says_so() -> None:
    rng = np.random.default_rng(7)
    g1, g2 = rng.standard_normal((2, 5))
    for g in (np.array([g1, -3.0 * g1]), np.array([g1, g2, -(g1 + 2.0 * g2)])):
        t = g.shape[0]
        # c >= 1: F(w) >= (c - 1) |g0| |g_w| >= 0 = F at the min-norm point w0, where G^T w0 = 0
        s = make("cagrad", t, calpha=2.0)
        np.testing.assert_allclose(weights(s, g), np.full(t, 1 / t / 5), rtol=1e-12)
        (note,) = s.take_notes()
        assert "cagrad" in note and "Pareto-stationary" in note
        # c < 1: F goes below 0 on a face, an ordinary minimiser, found exactly and not noted
        s = make("cagrad", t, calpha=0.5)
        d = weights(s, g) @ g
        np.testing.assert_allclose(d, cagrad_reference(g, 0.5), rtol=1e-9, atol=1e-12)
        assert s.take_notes() == []
    # a zero gradient: F = 0 at its vertex; optimal unless the others reach F < 0
    s = make("cagrad", 3, calpha=0.5)
    x = weights(s, np.array([[1.0, 0.0], [0.0, 0.0], [0.5, 1.0]]))
    np.testing.assert_allclose(x, np.full(3, 1 / 3 / 1.25), rtol=1e-12)
    assert "cagrad" in s.take_notes()[0]
    # here every d of the ball (centre g0 = (-1/3, 0), radius 1/6) has g1 . d < 0: the others
    # reach F < 0, and the worst task's best is g1 . d = -1/6 at d' = (-1/6, 0)
    g = np.array([[1.0, 0.0], [0.0, 0.0], [-2.0, 0.0]])
    s = make("cagrad", 3, calpha=0.5)
    np.testing.assert_allclose(weights(s, g) @ g, [-1 / 6 / 1.25, 0.0], rtol=1e-12, atol=1e-15)
    assert s.take_notes() == []


def pcgrad_coefficients(k: np.ndarray, i: int, order: tuple[int, ...]) -> np.ndarray:
    """Yu et al. (NeurIPS 2020) Algorithm 1 for task i and one order of the others, as the
    coefficients of g_i^PC on the original gradients (every dot product is an entry of K)."""
    coef = np.zeros(k.shape[0])
    coef[i] = 1.0
    for j in order:
        dot = float(coef @ k[:, j])  # g_i^PC . g_j
        if dot < 0:
            coef[j] -= dot / k[j, j]
    return coef


def test_pcgrad_is_the_projection_for_some_task_order() -> None:
    for i, (kind, g) in enumerate(CASES):
        t = g.shape[0]
        if t > 4:
            continue  # ((T - 1)!)^T orders: enumerated up to T = 4
        k = g @ g.T
        a = weigh("pcgrad", g)
        options = [[pcgrad_coefficients(k, task, order)
                    for order in itertools.permutations([j for j in range(t) if j != task])]
                   for task in range(t)]
        best = min(np.abs(sum(choice) - a).max() for choice in itertools.product(*options))
        assert best <= 1e-9 * max(1.0, np.abs(a).max()), (i, kind, best)


def gradvac_reference(steps: list[np.ndarray], orders: list[list[list[int]]], beta: float
                      ) -> list[np.ndarray]:
    """Wang et al. (ICLR 2021) Algorithm 1 on the vectors, in long double, for the given task
    orders: for each i, g_i' = g_i, then for each j in its order phi = cos(g_i', g_j) (modified
    g_i', original g_j); if phi < phi_hat_ij, g_i' += |g_i'| (phi_hat sqrt(1 - phi^2) - phi
    sqrt(1 - phi_hat^2)) / (|g_j| sqrt(1 - phi_hat^2)) g_j; then phi_hat_ij <- (1 - beta)
    phi_hat_ij + beta phi (phi_hat from 0, kept across steps). Returns each step's weights
    (the coefficients of sum_i g_i' on the original gradients)."""
    t = steps[0].shape[0]
    target = np.zeros((t, t), dtype=LD)
    out = []
    for g, order in zip(steps, orders):
        gl = g.astype(LD)
        norms = np.sqrt((gl * gl).sum(1))
        coef = np.eye(t, dtype=LD)
        for i in range(t):
            gi = gl[i].copy()
            for j in order[i]:
                ni = np.sqrt(gi @ gi)
                cos = (gi @ gl[j]) / (ni * norms[j])
                if cos < target[i, j]:
                    off = np.sqrt(1 - target[i, j] ** 2)
                    w = ni * (target[i, j] * np.sqrt(1 - cos * cos) - cos * off) / (norms[j] * off)
                    gi = gi + w * gl[j]
                    coef[i, j] += w
                target[i, j] = (1 - LD(beta)) * target[i, j] + LD(beta) * cos
        out.append(coef.sum(0).astype(float))
    return out


@pytest.mark.parametrize("beta", [0.5, 0.01])
def test_gradvac_follows_algorithm_1_on_the_hard_cases(beta: float) -> None:
    """Four steps per case (the case's rows rescaled by up to 30 % each step: the cosines, and so
    the hardness, stay), the strategy's own task orders replayed in the reference. Compared per
    task contribution: |alpha_j - ref_j| |g_j| against sum_j |ref_j| |g_j|."""
    rng = np.random.default_rng(21)
    worst = (0.0, "")
    for i, (kind, g) in enumerate(CASES):
        t = g.shape[0]
        steps = [g * (1 + 0.3 * s * rng.uniform(-1, 1, (t, 1))) for s in range(4)]
        strategy = make("gradvac", t, beta=beta, seed=i)
        got, orders = [], []
        for step in steps:
            got.append(weights(strategy, step))
            orders.append(strategy.orders)
            assert sorted(map(sorted, strategy.orders)) == sorted(
                sorted(j for j in range(t) if j != task) for task in range(t))
        assert not strategy.take_notes(), (i, kind)
        for s, (a, ref, step) in enumerate(zip(got, gradvac_reference(steps, orders, beta),
                                               steps)):
            norms = np.linalg.norm(step, axis=1)
            err = float(np.max(np.abs(a - ref) * norms) / np.sum(np.abs(ref) * norms))
            assert err <= 1e-6, f"gradvac case {i} ({kind}, T={t}) step {s}: off by {err:.2g}"
            worst = max(worst, (err, f"{i} {kind} step {s}"))
    print(f"gradvac beta={beta}: worst relative error {worst[0]:.2g} (case {worst[1]})")


def test_gradvac_is_scale_free_and_says_where_undefined() -> None:
    # the paper's update is homogeneous: gradients 1e-6 as large give alpha unchanged (an eps of
    # 1e-8 added to |g_i| |g_j|, as in torchjd and LibMTL, would shrink every cosine here)
    g = np.array([[1.0, 0.0, 0.2], [-0.6, 0.8, 0.0], [0.3, -1.0, 0.5]])
    a, b = make("gradvac", 3, seed=3), make("gradvac", 3, seed=3)
    for _ in range(3):
        np.testing.assert_allclose(weights(a, g), weights(b, 1e-6 * g), rtol=1e-9)
    # a zero gradient: no cosine; nothing is added for its pairs, and the user is told once
    s = make("gradvac", 3)
    zero = np.array([[1.0, 0.0], [0.0, 0.0], [-1.0, 1.0]])
    x = weights(s, zero)
    np.testing.assert_allclose(x[[0, 2]], gradvac_reference([zero[[0, 2]]], [[[1], [0]]], 0.5)[0])
    (note,) = s.take_notes()
    assert "zero" in note and "gradvac" in note
    weights(s, zero)
    assert s.take_notes() == []


def test_aligned_mtl_is_the_balance_transformation() -> None:
    """Senushkin et al. (CVPR 2023): K = V S V^T, B = sqrt(s_min) V S^-1/2 V^T, alpha = B 1
    (full-rank, well-conditioned cases: elsewhere the kept rank is a tolerance choice)."""
    checked = 0
    for i, (kind, g) in enumerate(CASES):
        k = g @ g.T
        s, v = np.linalg.eigh(k)
        if s.min() <= 1e-8 * s.max():
            continue
        expected = math.sqrt(s.min()) * (v @ np.diag(s ** -0.5) @ v.T) @ np.ones(k.shape[0])
        a = weigh("aligned_mtl", g)
        np.testing.assert_allclose(a, expected, rtol=1e-6, atol=1e-9 * np.abs(expected).max(),
                                   err_msg=f"{i} {kind}")
        checked += 1
    assert checked >= 24


def _dual_cone_kkt(k: np.ndarray, v: np.ndarray, lower: np.ndarray, label: str) -> None:
    """KKT of min v^T Q v s.t. v >= lower, with Q = K / tr(K) + 1e-4 I (torchjd's
    normalisation and reg_eps, the documented defaults): v >= lower, Q v >= 0, and
    (Q v)_j = 0 wherever v_j > lower_j (Quinton & Rey 2024, Proposition 1)."""
    q = k / np.trace(k) + 1e-4 * np.eye(k.shape[0])
    qv = q @ v
    tol = 1e-9 * max(1.0, np.abs(v).max())
    assert np.all(v >= lower - tol), (label, v - lower)
    assert qv.min() >= -tol, (label, qv)
    free = v > lower + 1e-7 * max(1.0, np.abs(v).max())
    assert np.abs(qv[free]).max(initial=0.0) <= 1e-7 * max(1.0, np.abs(qv).max()), label


def test_upgrad_and_dualproj_are_dual_cone_projections() -> None:
    for i, (kind, g) in enumerate(CASES):
        t = g.shape[0]
        k = g @ g.T
        label = f"{i} {kind}"
        each = []
        for task in range(t):
            pref = [1.0 if j == task else 0.0 for j in range(t)]
            v = weigh("upgrad", g, pref_vector=pref)
            _dual_cone_kkt(k, v, np.eye(t)[task], label)
            each.append(v)
        # the default (uniform preference) averages the T projections
        np.testing.assert_allclose(weigh("upgrad", g), np.mean(each, axis=0), rtol=1e-6,
                                   atol=1e-9 * np.abs(each).max(), err_msg=label)
        _dual_cone_kkt(k, weigh("dualproj", g), np.full(t, 1.0 / t), label)
