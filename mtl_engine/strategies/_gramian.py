"""Maths shared by the gradient-based strategies: the Gramian, small exact solvers, private RNGs.

Every gradient method here reduces to weights alpha computed from the Gramian K = G G^T (T x T),
with the update d = sum_i alpha_i g_i (torchjd's "weighting from the Gramian" shape). T is small,
so K goes to the host once per step in float64 and the solvers below run in numpy.

The solvers are ours because torchjd's versions need optional packages (quadprog for UPGrad and
DualProj, cvxpy with clarabel or ecos for CAGrad and Nash-MTL, scipy for FairGrad) that are fragile
to install, and slow per call (tens of milliseconds for cvxpy; see docs/gradients.md). Each solves
its problem exactly (to round-off) and raises SolverError rather than returning a guess.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torchjd.linalg import DualConeProjector

from ..errors import SolverError
from .base import GRADS, Combined, StepInfo, Strategy

TINY = 1e-12  # below this (relative to the largest diagonal entry) a task gradient counts as zero


def gramian_of(info: StepInfo, method: str) -> torch.Tensor:
    """The Gramian the loop computed (or G G^T from the gradients it passed)."""
    if info.gramian is not None:
        return info.gramian
    if info.grads is not None:
        return info.grads @ info.grads.T
    raise ValueError(f"{method} needs per-task gradients (GRADS) but the step carries none")


class GramianStrategy(Strategy):
    """Base of the methods whose weights are a function of K (and, for some, of the losses).

    Subclasses implement `weigh(k, losses)` on host float64 tensors and return alpha (T,).
    """

    requires = frozenset({GRADS})
    label = "gradient method"

    def combine(self, losses: torch.Tensor, info: StepInfo) -> Combined:
        k = gramian_of(info, self.label).detach().to("cpu", torch.float64)
        if not torch.isfinite(k).all():  # a NaN loss upstream: let the loop's check report it
            alpha = torch.full((self.n_tasks,), float("nan"), dtype=torch.float64)
        else:
            alpha = self.weigh(k, losses.detach().to("cpu", torch.float64))
        return self.weighted_sum(losses, alpha.to(device=losses.device, dtype=losses.dtype))

    def weigh(self, k: torch.Tensor, losses: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


def tensor(values: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(values, dtype=np.float64))


# --------------------------------------------------------------------------- quadratic programs


def nonneg_qp(q: np.ndarray, c: np.ndarray, simplex: bool = False) -> np.ndarray:
    """argmin_z 1/2 z^T q z + c^T z  s.t.  z >= 0  (and sum(z) = 1 when `simplex`).

    Primal active-set method (Nocedal & Wright, Numerical Optimization, 2nd ed., Algorithm 16.3):
    walk from a feasible point, each time solving the equality-constrained problem on the free
    variables, stopping at a blocking bound, freeing the variable with the most negative
    multiplier. `q` must be positive definite (callers add a small ridge), so every sub-problem
    has one solution and the method ends after finitely many steps.
    """
    n = c.shape[0]
    scale = max(1.0, float(np.abs(q).max()), float(np.abs(c).max()))
    z = np.zeros(n)
    if simplex:
        z[int(np.argmin(0.5 * np.diag(q) + c))] = 1.0
    free = z > 0
    for _ in range(30 * n + 30):
        idx = np.flatnonzero(free)
        step = np.zeros(n)
        step[idx] = _face_minimiser(q, c, idx, simplex) - z[idx]
        if np.abs(step).max() <= 1e-13 * (1.0 + np.abs(z).max()):
            grad = q @ z + c
            mult = grad - (grad[idx].mean() if simplex and idx.size else 0.0)
            mult[idx] = np.inf  # free variables carry no multiplier
            entering = int(np.argmin(mult))
            if mult[entering] >= -1e-12 * scale:
                return z
            free[entering] = True
            continue
        shrinking = idx[step[idx] < 0]
        ratios = -z[shrinking] / step[shrinking]
        if ratios.size and ratios.min() < 1.0:
            blocking = int(np.argmin(ratios))
            z = z + ratios[blocking] * step
            z[shrinking[blocking]] = 0.0
            free[shrinking[blocking]] = False
        else:
            z = z + step
    raise SolverError(f"the active-set QP solver did not finish in {30 * n + 30} steps "
                      f"(T = {n}); the Gramian may be badly conditioned")


def _face_minimiser(q: np.ndarray, c: np.ndarray, idx: np.ndarray, simplex: bool) -> np.ndarray:
    if idx.size == 0:
        return np.zeros(0)
    qf = q[np.ix_(idx, idx)]
    if not simplex:
        return np.linalg.solve(qf, -c[idx])
    m = idx.size
    kkt = np.zeros((m + 1, m + 1))
    kkt[:m, :m] = qf
    kkt[:m, m] = 1.0
    kkt[m, :m] = 1.0
    rhs = np.concatenate([-c[idx], [1.0]])
    return np.linalg.solve(kkt, rhs)[:m]


def normalised(k: np.ndarray, norm_eps: float, reg_eps: float) -> np.ndarray:
    """K / trace(K) (zero when the trace is below norm_eps) plus reg_eps * I (as torchjd does)."""
    tr = float(np.trace(k))
    out = k / tr if tr >= norm_eps else np.zeros_like(k)
    return out + reg_eps * np.eye(k.shape[0])


def project_dual_cone(u: np.ndarray, k: np.ndarray) -> np.ndarray:
    """w with G^T w the projection of G^T u onto the dual cone {x : G x >= 0} of the rows of G.

    Quinton & Rey (2024), Proposition 1: w = argmin_v v^T K v subject to v >= u. With v = u + z this
    is a QP over z >= 0. `k` must be positive definite (see `normalised`).
    """
    return u + nonneg_qp(k, k @ u)


class ActiveSetProjector(DualConeProjector):
    """torchjd's dual-cone projector interface, solved by `project_dual_cone` (no quadprog)."""

    def __init__(self, norm_eps: float = 1e-4, reg_eps: float = 1e-4) -> None:
        self.norm_eps = norm_eps
        self.reg_eps = reg_eps

    def __call__(self, U: torch.Tensor, G: torch.Tensor) -> torch.Tensor:  # noqa: N803
        k = normalised(G.detach().cpu().double().numpy(), self.norm_eps, self.reg_eps)
        rows = U.detach().cpu().double().numpy().reshape(-1, k.shape[0])
        out = np.stack([project_dual_cone(u, k) for u in rows]).reshape(U.shape)
        return torch.as_tensor(out, dtype=G.dtype, device=G.device)


# --------------------------------------------------------------------------- K x = x^(-p)


def power_balance(k: np.ndarray, p: float, x0: np.ndarray | None = None, max_iter: int = 50,
                  tol: float = 1e-9) -> tuple[np.ndarray, float]:
    """x > 0 with K x = x^(-p) elementwise; returns x and the relative residual reached.

    This is the stationarity condition of the strictly convex f(x) = x^T K x / 2 - sum_i h(x_i),
    h'(x) = x^(-p) (h = log for p = 1), so damped Newton steps that keep x > 0 find the unique
    solution. Nash-MTL is p = 1 (Navon et al., ICML 2022, eq. 4); FairGrad is p = 1 / alpha
    (Ban & Ji, ICML 2024, eq. 4). `k` must be positive definite; start from `x0` when given.
    """
    diag = np.diag(k)
    x = x0.copy() if x0 is not None and x0.shape == diag.shape and np.all(x0 > 0) else \
        diag ** (-1.0 / (1.0 + p))

    def potential(v: np.ndarray) -> float:
        h = np.log(v).sum() if p == 1.0 else (v ** (1.0 - p)).sum() / (1.0 - p)
        return 0.5 * float(v @ k @ v) - float(h)

    residual, stalled = np.inf, 0
    for _ in range(max_iter):
        target = x ** (-p)
        grad = k @ x - target
        previous, residual = residual, float(np.max(np.abs(grad) / target))
        # quadratic convergence ends either at `tol` or, for a nearly singular K, at the
        # round-off floor (about cond(K) * 1e-16), where the residual stops falling
        stalled = stalled + 1 if residual > 0.5 * previous and residual < 1e-3 else 0
        if residual <= tol or stalled >= 2:
            break
        step = -np.linalg.solve(k + np.diag(p * x ** (-p - 1.0)), grad)
        shrinking = step < 0
        length = min(1.0, 0.99 * float(np.min(-x[shrinking] / step[shrinking]))) \
            if shrinking.any() else 1.0  # the longest step that keeps x > 0
        slope = float(grad @ step)  # minus the squared Newton decrement
        if -slope > 0.0625:  # far from the solution: backtrack until f falls enough (Armijo)
            f0 = potential(x)
            while length > 1e-12 and potential(x + length * step) > f0 + 1e-4 * length * slope:
                length *= 0.5
        # near it (decrement below 1/4, where full steps converge quadratically for the log
        # barrier) f no longer changes measurably in floating point, so no line search there
        x = x + length * step
    return x, residual


# --------------------------------------------------------------------------- reproducible draws


class PrivateRng:
    """Runs a function under a torch CPU random state of its own, seeded once.

    torchjd's PCGrad and GradVac draw their task orders from torch's global generator; inside
    `run` that generator holds this object's state, so the order depends only on the strategy's
    seed, and the training's own random stream (shuffling, dropout) is left as it was.
    """

    def __init__(self, seed: int) -> None:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.state = torch.get_rng_state()

    def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        with torch.random.fork_rng(devices=[]):
            torch.set_rng_state(self.state)
            out = fn(*args)
            self.state = torch.get_rng_state()
        return out
