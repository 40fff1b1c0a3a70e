"""The batched dual-cone projector (block principal pivoting) against the one-row active-set
method it replaced and against the optimality conditions themselves, on hard Gramians."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torchjd.aggregation import DualProjWeighting, UPGradWeighting

from mtl_engine.strategies._gramian import (
    ActiveSetProjector,
    normalised,
    project_dual_cone,
    project_dual_cone_rows,
)


def hard_gramian(rng: np.random.Generator, t: int, case: int) -> np.ndarray:
    """Gradients that make the projection hard: nearly opposed pairs, norms over 8 decades,
    duplicates, more tasks than dimensions, a zero gradient."""
    dim = max(2, t // 2) if case % 4 == 1 else 3 * t
    g = rng.standard_normal((t, dim))
    if case % 4 == 0:  # nearly opposed pairs
        g[1::2] = -g[0::2][: t // 2] * (1 + 1e-6 * rng.standard_normal((t // 2, 1)))
    if case % 4 == 2:  # duplicates and one exactly zero gradient
        g[1] = g[0]
        g[-1] = 0.0
    g *= 10.0 ** rng.uniform(-4, 4, size=(t, 1))
    return g @ g.T


def kkt_violation(u: np.ndarray, w: np.ndarray, k: np.ndarray) -> float:
    """min_v v^T K v s.t. v >= u: with z = w - u, y = K w, the conditions z >= 0, y >= 0 and
    z_i y_i = 0 (relative to the problem's scale)."""
    z, y = w - u, k @ w
    scale = max(1.0, float(np.abs(k).max())) * max(1.0, float(np.abs(w).max()))
    return max(float(-z.min()), float(-y.min()) / scale, float(np.abs(z * y).max()) / scale)


@pytest.mark.parametrize("t", [2, 3, 5, 10, 20, 40])
def test_batched_rows_equal_the_active_set_method_on_hard_gramians(t: int) -> None:
    rng = np.random.default_rng(t)
    for case in range(12):
        k = normalised(hard_gramian(rng, t, case), 1e-4, 1e-4 if case % 3 else 1e-9)
        us = np.vstack([np.eye(t) / t, rng.uniform(0, 1, (3, t))])  # UPGrad's rows, DualProj's
        batched = project_dual_cone_rows(us, k)
        one_by_one = np.stack([project_dual_cone(u, k) for u in us])
        # the active-set method accepts multipliers down to -1e-12 (relative): its answer is
        # that far from optimal, amplified by K's condition number (up to 1e9 here)
        close = 1e-12 * np.linalg.cond(k) + 1e-12
        assert np.abs(batched - one_by_one).max() <= close * np.abs(one_by_one).max()
        for u, w in zip(us, batched):  # and the new one is optimal to round-off
            assert kkt_violation(u, w, k) <= 1e-13


def test_hand_computed_projection() -> None:
    # g1 = (1, 0), g2 = (-1, 1): K = [[1, -1], [-1, 2]]. Projecting g1 = G^T e1: g1 . g2 = -1 < 0,
    # so w = (1, z) with (K w)_2 = -1 + 2 z = 0, z = 1/2: g1 + g2 / 2 = (1/2, 1/2), orthogonal
    # to g2. Projecting g2: g2 . g1 = -1 < 0, w = (z, 1) with z - 1 = 0: g1 + g2 = (0, 1).
    k = np.array([[1.0, -1.0], [-1.0, 2.0]])
    w = project_dual_cone_rows(np.eye(2), k)
    np.testing.assert_allclose(w, [[1.0, 0.5], [1.0, 1.0]], atol=1e-15)


def test_a_row_inside_the_cone_is_left_as_it_is() -> None:
    k = np.array([[2.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 1.0]])  # no conflict at all
    us = np.eye(3)
    assert np.array_equal(project_dual_cone_rows(us, k), us)


def test_a_singular_gramian_still_gets_an_optimal_answer() -> None:
    # reg_eps 0 and more tasks than dimensions: K is singular. Whatever route a row takes (the
    # batched pivoting or the one-row method), the answer satisfies the optimality conditions.
    rng = np.random.default_rng(7)
    g = rng.standard_normal((6, 2))
    k = normalised(g @ g.T, 1e-4, 0.0)
    for u, w in zip(np.eye(6), project_dual_cone_rows(np.eye(6), k)):
        assert kkt_violation(u, w, k) <= 1e-8


@pytest.mark.parametrize("weighting", [UPGradWeighting, DualProjWeighting])
def test_torchjd_weightings_get_the_same_weights_as_before(weighting: type) -> None:
    rng = np.random.default_rng(3)
    k = torch.from_numpy(hard_gramian(rng, 12, 0))
    new = weighting(projector=ActiveSetProjector())(k)

    class OneByOne(ActiveSetProjector):
        def __call__(self, U: torch.Tensor, G: torch.Tensor) -> torch.Tensor:  # noqa: N803
            kn = normalised(G.double().numpy(), self.norm_eps, self.reg_eps)
            rows = U.double().numpy().reshape(-1, kn.shape[0])
            out = np.stack([project_dual_cone(u, kn) for u in rows]).reshape(U.shape)
            return torch.as_tensor(out, dtype=G.dtype)

    old = weighting(projector=OneByOne())(k)
    close = 1e-12 * np.linalg.cond(normalised(k.numpy(), 1e-4, 1e-4))  # as above
    assert float((new - old).abs().max()) <= close * float(old.abs().max())
