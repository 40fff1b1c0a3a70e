"""CAGrad: Liu, Liu, Jin, Stone & Liu, "Conflict-Averse Gradient Descent for Multi-task Learning",
NeurIPS 2021 (Algorithm 1; the dual problem of eq. 3).

Within a ball of radius r = c |g0| around the mean gradient g0, CAGrad picks the update that
maximises the worst task's improvement. Its dual over the simplex is
    w* = argmin_w  F(w) = b^T w + r |g_w|,   b = K 1 / T (so b^T w = g0 . g_w),  g_w = sum w_i g_i,
and the update is d = g0 + (r / |g_w*|) g_w*, divided by 1 + c^2 when rescale = 1 (1 + c when 2).
So alpha = (1/T + (r / |g_w*|) w*) / scale.

F is convex but not quadratic, and the official code (and LibMTL) hands it to scipy's SLSQP,
torchjd to cvxpy. We solve it exactly instead. On the support S of w*, the optimality conditions
b_S + r K_SS w_S / rho = nu 1, 1^T w_S = 1, rho = |g_w| have a closed form: with A = 1^T K^-1 1,
B = 1^T K^-1 b, C = b^T K^-1 b (on S), nu is the larger root of A nu^2 - 2 B nu + C - r^2 = 0,
rho = r / (A nu - B) and w_S = (rho / r) K_SS^-1 (nu 1 - b_S). The support is found by trying the
last step's first, then by a few steps of the convex reformulation
min_{w, lam} b^T w + r (w^T K w / lam + lam) / 2 (alternating an exact simplex QP in w with
lam = |g_w|); a candidate is accepted only once every optimality condition holds, which proves it
is the minimiser. For two tasks F is a convex function of one number and its minimiser has a
closed form (`two_tasks`), which the 2-D toy calls tens of thousands of times.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..errors import SolverError
from ..registry import STRATEGIES, param
from ._gramian import GramianStrategy, nonneg_qp, tensor

RESCALE = {0: lambda c: 1.0, 1: lambda c: 1.0 + c * c, 2: lambda c: 1.0 + c}


def cagrad_dual(k: np.ndarray, c: float, support: np.ndarray | None = None
                ) -> tuple[np.ndarray, float, float]:
    """w*, |g_w*| and r for Gramian `k` (already scaled) and radius factor `c`."""
    t = k.shape[0]
    raw, k = k, k + 1e-12 * np.eye(t)  # the ridge keeps every sub-problem uniquely solvable
    b = k.sum(axis=1) / t
    r = c * float(np.sqrt(max(b.sum() / t, 0.0)))  # |g0|^2 = 1^T K 1 / T^2 = sum(b) / T
    if r <= 0.0:
        return np.full(t, 1.0 / t), float(np.sqrt(max(b.sum() / t, 0.0))), 0.0
    tried: list[np.ndarray] = [support] if support is not None else []
    g0 = float(np.sqrt(b.sum() / t))
    # When 0 is in the hull of the gradients (a Pareto-stationary point), F(w0) = 0 at the
    # min-norm point w0, and F >= |g_w| (r - |g0|) >= 0 everywhere when c >= 1: w0 is optimal.
    w0 = nonneg_qp(k, np.zeros(t), simplex=True)
    stationary = _is_zero(w0, raw)
    if stationary and c >= 1.0:
        return w0, 0.0, r
    # phi(lam) = |g_w(lam)| / lam does not increase with lam and equals 1 at the optimum:
    # expand until the root is bracketed, then bisect on log(lam); each lam gives a support
    lam, lo, hi = g0, 0.0, np.inf
    for step in range(80):
        if step >= len(tried):
            w = nonneg_qp(k * (r / lam), b, simplex=True)
            rho = float(np.sqrt(max(w @ k @ w, 0.0)))
            tried.append(w > 0)
            if rho > lam:
                lo = lam
            else:
                hi = lam
            lam = np.sqrt(lo * hi) if lo > 0 and np.isfinite(hi) else \
                (4.0 * lam if lo > 0 else lam / 4.0)
        found = _on_support(k, b, r, np.flatnonzero(tried[step]))
        if found is not None:
            return found[0], found[1], r
        if stationary and hi < 1e-9 * g0:  # closing in on g_w = 0 itself
            return w0, 0.0, r
    raise SolverError(f"cagrad: no optimal point found for T = {t} (the task gradients may be "
                      "exactly opposed); try a larger calpha")


def two_tasks(k: np.ndarray, c: float) -> tuple[np.ndarray, float, float]:
    """`cagrad_dual` for T = 2. With w = (t, 1 - t), g_w = g2 + t (g1 - g2) and
    F(t) = b2 + delta t + r sqrt(q(t)), q = a t^2 + 2 beta t + gamma (a = |g1 - g2|^2,
    beta = g2 . (g1 - g2), gamma = |g2|^2, delta = b1 - b2). F is convex; inside (0, 1) its
    stationary point has u = a t + beta = -sign(delta) |delta| sqrt(D / (r^2 a - delta^2)),
    D = a gamma - beta^2, from squaring r u = -delta sqrt(q) with a q = u^2 + D.
    """
    k11, k12, k22 = float(k[0, 0]), float(k[0, 1]), float(k[1, 1])
    b1, b2 = (k11 + k12) / 2, (k12 + k22) / 2
    g0_sq = max((k11 + 2 * k12 + k22) / 4, 0.0)
    r = c * np.sqrt(g0_sq)
    a, beta, gamma, delta = k11 - 2 * k12 + k22, k12 - k22, k22, b1 - b2
    if r <= 0.0 or a <= 1e-15 * max(k11, k22, 1e-300):
        return np.array([0.5, 0.5]), float(np.sqrt(g0_sq)), r  # equal gradients: any w

    def slope(t: float) -> float:
        q = max(a * t * t + 2 * beta * t + gamma, 1e-300)
        return delta + r * (a * t + beta) / np.sqrt(q)

    if slope(0.0) >= 0.0:
        t = 0.0
    elif slope(1.0) <= 0.0:
        t = 1.0
    else:
        d = max(a * gamma - beta * beta, 0.0)
        u = -np.sign(delta) * abs(delta) * np.sqrt(d / max(r * r * a - delta * delta, 1e-300))
        t = min(max((u - beta) / a, 0.0), 1.0)
    w = np.array([t, 1.0 - t])
    rho = 0.0 if _is_zero(w, k) else float(np.sqrt(max(w @ k @ w, 0.0)))
    return w, rho, r


def _is_zero(w: np.ndarray, k: np.ndarray) -> bool:
    """|g_w| at round-off level: below 1e-7 of the largest task gradient norm."""
    return float(w @ k @ w) <= 1e-14 * float(np.diag(k).max())


def _on_support(k: np.ndarray, b: np.ndarray, r: float, s: np.ndarray
                ) -> tuple[np.ndarray, float] | None:
    if s.size == 0:
        return None
    ks = k[np.ix_(s, s)]
    ones = np.ones(s.size)
    kinv_1, kinv_b = np.linalg.solve(ks, ones), np.linalg.solve(ks, b[s])
    a, bb, cc = float(ones @ kinv_1), float(ones @ kinv_b), float(b[s] @ kinv_b)
    disc = bb * bb - a * (cc - r * r)
    if disc < 0:
        return None
    nu = (bb + np.sqrt(disc)) / a
    if a * nu - bb <= 0:
        return None
    rho = r / (a * nu - bb)
    w = np.zeros(k.shape[0])
    w[s] = (rho / r) * (nu * kinv_1 - kinv_b)
    if w.min() < -1e-10:
        return None
    w = np.clip(w, 0.0, None)
    w /= w.sum()
    rho = float(np.sqrt(max(w @ k @ w, 0.0)))
    grad = b + r * (k @ w) / rho  # gradient of F: equal to nu on S, >= nu off it at the optimum
    if np.any(grad < grad[s].mean() - 1e-8 * (np.abs(grad).max() + 1.0)):
        return None
    return w, rho


@STRATEGIES.register(
    "cagrad",
    "CAGrad: the update in a ball around the mean gradient that most improves the worst task",
    paper="Liu et al., NeurIPS 2021",
    family="gradient",
    grad_modes=("shared", "representation"),
)
class CAGrad(GramianStrategy):
    label = "cagrad"

    @dataclass(frozen=True)
    class Params:
        calpha: float = param(0.5, "radius of the ball as a fraction of |mean gradient| "
                              "(papers use 0.4 on NYUv2)", low=0.0, high=100.0)
        rescale: int = param(1, "divide the update by 1 (0), 1 + calpha^2 (1) or 1 + calpha (2)",
                             low=0, high=2)

    def setup(self) -> None:
        self._support: np.ndarray | None = None

    def weigh(self, k: torch.Tensor, losses: torch.Tensor) -> torch.Tensor:
        t = self.n_tasks
        c = self.p.calpha
        a = k.numpy()
        tr = float(np.trace(a))
        if tr <= 0:  # every gradient is zero: nothing to balance
            return torch.full((t,), 1.0 / t, dtype=torch.float64)
        if t == 2:
            w, rho, r = two_tasks(a / tr, c)
        else:
            w, rho, r = cagrad_dual(a / tr, c, self._support)
        self._support = w > 0
        # rho = 0 only at a Pareto-stationary point, where the direction of g_w is undefined;
        # there d = g0, the limit the official code's (|g_w| + eps) also gives
        alpha = np.full(t, 1.0 / t) + (r / rho) * w if r > 0 and rho > 0 else np.full(t, 1.0 / t)
        return tensor(alpha / RESCALE[self.p.rescale](c))
