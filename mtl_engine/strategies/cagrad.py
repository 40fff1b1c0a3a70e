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
is the minimiser.
"""

from __future__ import annotations

import numpy as np
import torch

from ..errors import SolverError
from ..registry import STRATEGIES, Param
from ._gramian import GramianStrategy, nonneg_qp, tensor

RESCALE = {0: lambda c: 1.0, 1: lambda c: 1.0 + c * c, 2: lambda c: 1.0 + c}


def cagrad_dual(k: np.ndarray, c: float, support: np.ndarray | None = None
                ) -> tuple[np.ndarray, float, float]:
    """w*, |g_w*| and r for Gramian `k` (already scaled) and radius factor `c`."""
    t = k.shape[0]
    k = k + 1e-12 * np.eye(t)
    b = k.sum(axis=1) / t
    r = c * float(np.sqrt(max(b.sum() / t, 0.0)))  # |g0|^2 = 1^T K 1 / T^2 = sum(b) / T
    if r <= 0.0:
        return np.full(t, 1.0 / t), float(np.sqrt(max(b.sum() / t, 0.0))), 0.0
    tried: list[np.ndarray] = [support] if support is not None else []
    lam = float(np.sqrt(b.sum() / t))
    for step in range(60):
        if step >= len(tried):
            w = nonneg_qp(k * (r / lam), b, simplex=True)
            lam = max(float(np.sqrt(max(w @ k @ w, 0.0))), 1e-300)
            tried.append(w > 0)
        found = _on_support(k, b, r, np.flatnonzero(tried[step]))
        if found is not None:
            return found[0], found[1], r
    raise SolverError(f"cagrad: no optimal point found for T = {t} (the task gradients may be "
                      "exactly opposed); try a larger calpha")


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
    params=(
        Param("calpha", "float", 0.5, "radius of the ball as a fraction of |mean gradient| "
              "(papers use 0.4 on NYUv2)", low=0.0, high=100.0),
        Param("rescale", "int", 1, "divide the update by 1 (0), 1 + calpha^2 (1) or 1 + calpha (2)",
              low=0, high=2),
    ),
    paper="Liu et al., NeurIPS 2021",
    family="gradient",
    grad_modes=("shared", "representation"),
)
class CAGrad(GramianStrategy):
    label = "cagrad"

    def setup(self) -> None:
        self._support: np.ndarray | None = None

    def weigh(self, k: torch.Tensor, losses: torch.Tensor) -> torch.Tensor:
        t = self.n_tasks
        c = float(self.params.get("calpha", 0.5))
        a = k.numpy()
        tr = float(np.trace(a))
        if tr <= 0:  # every gradient is zero: nothing to balance
            return torch.full((t,), 1.0 / t, dtype=torch.float64)
        w, rho, r = cagrad_dual(a / tr, c, self._support)
        self._support = w > 0
        alpha = np.full(t, 1.0 / t) + (r / rho) * w if r > 0 else np.full(t, 1.0 / t)
        return tensor(alpha / RESCALE[int(self.params.get("rescale", 1))](c))
