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
from .base import GRAMIAN, Combined, StepInfo, Strategy

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
    They ask for K alone (GRAMIAN): in shared mode the loop then computes K and w^T G block by
    block without ever holding the T x P matrix G (gradients.task_gramian); a method that needs
    G itself asks for GRADS.
    """

    requires = frozenset({GRAMIAN})
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
    is a QP over z >= 0. `k` must be positive definite (see `normalised`). One vector at a time by
    the primal active-set method; `project_dual_cone_rows` solves many at once, faster.
    """
    return u + nonneg_qp(k, k @ u)


def project_dual_cone_rows(us: np.ndarray, k: np.ndarray) -> np.ndarray:
    """`project_dual_cone` for every row of `us` (n x T) at once: the rows' weights w (n x T).

    Each row is the linear complementarity problem y = K z + K u, z >= 0, y >= 0, z . y = 0 (the
    QP's optimality conditions), solved by block principal pivoting (Judice & Pires, Computers &
    Operations Research 21, 1994; in the many-right-hand-side form of Kim & Park, SIAM J. Sci.
    Comput. 33, 2011): guess the free set F, solve K_FF z_F = -(K u)_F, and swap every variable
    that breaks a sign condition (z_i < 0 on F, y_i < 0 off it) in one go, falling back to
    swapping only the largest such index (Murty's rule, which always terminates for a positive
    definite K) when three exchanges in a row fail to reduce their number. Unlike the active-set
    method, which frees one variable per linear solve and so needs about T solves per row, it
    typically ends after a handful of exchanges whatever T is, and every row's solve of an
    iteration is one batched LAPACK call. The answer is the exact solution of the final free
    set's equations, as the active-set method's is; a row that does not finish (a singular K,
    reg_eps 0) is solved by `project_dual_cone` instead.
    """
    n, t = us.shape
    c = us @ k  # row r: (K u_r)^T, K symmetric
    scale = max(1.0, float(np.abs(k).max()), float(np.abs(c).max()))
    tol = 1e-14 * scale
    free = np.zeros((n, t), dtype=bool)
    best = np.full(n, t + 1)  # fewest infeasible variables seen, per row
    tries = np.full(n, 3)  # full exchanges left before Murty's rule, per row
    z = np.zeros((n, t))
    todo = np.arange(n)
    eye = np.eye(t)
    for _ in range(10 * t + 10):
        f = free[todo]
        mats = np.where(f[:, :, None] & f[:, None, :], k, eye)  # K_FF, identity off F
        try:
            zr = np.linalg.solve(mats, np.where(f, -c[todo], 0.0)[:, :, None])[:, :, 0]
        except np.linalg.LinAlgError:
            break
        y = zr @ k + c[todo]
        bad = np.where(f, zr < -tol, y < -tol)
        count = bad.sum(axis=1)
        done = count == 0
        z[todo[done]] = zr[done]
        keep = ~done
        todo, bad, count = todo[keep], bad[keep], count[keep]
        if todo.size == 0:
            return us + np.maximum(z, 0.0)
        fewer = count < best[todo]
        best[todo[fewer]] = count[fewer]
        tries[todo[fewer]] = 3
        tries[todo[~fewer]] -= 1
        murty = tries[todo] < 0
        if murty.any():  # only the largest infeasible index of those rows
            last = t - 1 - np.argmax(bad[murty][:, ::-1], axis=1)
            bad[murty] = False
            bad[np.flatnonzero(murty), last] = True
        free[todo] ^= bad
    z = np.maximum(z, 0.0)
    for r in todo:  # not finished: the one-at-a-time method, which raises if it cannot either
        z[r] = project_dual_cone(us[r], k) - us[r]
    return us + z


class ActiveSetProjector(DualConeProjector):
    """torchjd's dual-cone projector interface, solved by `project_dual_cone_rows` (no
    quadprog): every vector of U in one batched solve."""

    def __init__(self, norm_eps: float = 1e-4, reg_eps: float = 1e-4) -> None:
        self.norm_eps = norm_eps
        self.reg_eps = reg_eps

    def __call__(self, U: torch.Tensor, G: torch.Tensor) -> torch.Tensor:  # noqa: N803
        k = normalised(G.detach().cpu().double().numpy(), self.norm_eps, self.reg_eps)
        rows = U.detach().cpu().double().numpy().reshape(-1, k.shape[0])
        out = project_dual_cone_rows(rows, k).reshape(U.shape)
        return torch.as_tensor(out, dtype=G.dtype, device=G.device)


# --------------------------------------------------------------------------- K x = x^(-p)

# Where K x = x^(-p) has no positive solution, it is solved for K + RIDGE diag(K) instead: as if
# every gradient had an extra component of its own, orthogonal to everything, of 1e-4 its norm.
RIDGE = 1e-8
# min over the simplex of |sum_i s_i u_i|^2 (u_i = g_i / |g_i|) at or below this counts as zero:
# a convex combination of the unit gradients shorter than 1e-6, the gradients Pareto-stationary.
STATIONARY = 1e-12
CLEAN = 1e-9  # a relative residual this small proves a solution; none exists where it stays >= 1
ROUND_OFF = 1e-10  # componentwise backward error reached where round-off limits the residual


def nonzero_tasks(k: np.ndarray) -> np.ndarray:
    """Indices of the tasks whose gradient is not zero. Only an exact zero (or one so small
    against the largest, below 1e-100 in norm, that its cosines underflow) counts: the methods
    that scale by |g_i| are exact for any spread of norms."""
    diag = np.diag(k)
    return np.flatnonzero(diag > max(float(diag.max(initial=0.0)) * 1e-200, 1e-300))


def cosines(k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The norms |g_i| and the cosine matrix K_ij / (|g_i| |g_j|) (every K_ii > 0)."""
    n = np.sqrt(np.diag(k))
    c = k / np.outer(n, n)
    np.fill_diagonal(c, 1.0)
    return n, c


def stationarity(c: np.ndarray) -> float:
    """min over the simplex of s^T C s for a cosine matrix C: the squared length of the shortest
    convex combination of the unit gradients (0 exactly when the gradients are Pareto-stationary:
    some s >= 0, s != 0, has K s = 0)."""
    s = nonneg_qp(c + 1e-14 * np.eye(c.shape[0]), np.zeros(c.shape[0]), simplex=True)
    return max(float(s @ c @ s), 0.0)


def power_balance(k: np.ndarray, p: float, x0: np.ndarray | None = None, max_iter: int = 50,
                  tol: float = 1e-10) -> tuple[np.ndarray, float, float]:
    """x > 0 with K x = x^(-p) elementwise, for K = G G^T with every K_ii > 0 (K may be singular).

    Returns x, the relative residual max_i |(K x)_i x_i^p - 1| and the componentwise backward
    error max_i |K x - x^(-p)|_i / (|K| |x| + x^(-p))_i (x solves exactly a Gramian that differs
    from K by that much relative to |K|; small while the residual is not when (K x)_i cancels).

    A solution exists if and only if no s >= 0, s != 0, has K s = 0 (Gordan: then some d has
    g_i . d > 0 for all i), and it is then unique: it is the minimiser of the strictly convex
    f(x) = x^T K x / 2 - sum_i h(x_i), h'(x) = x^(-p) (h = log for p = 1), which grows without
    bound in every direction of the positive orthant exactly when that condition holds. Where it
    fails, s^T (K x) = 0 < s^T x^(-p) for every x, so the residual never falls below 1.
    Nash-MTL is p = 1 (Navon et al., ICML 2022, eq. 4); FairGrad p = 1 / alpha (Ban & Ji, ICML
    2024, eq. 4).

    Newton's method on f, in the variables y = x K_ii^(1/(1+p)) (y = 1 solves it for a diagonal
    K; Newton is invariant under this rescaling, but the linear solves and the potential's values
    are then well scaled for any spread of gradient norms): each step first rescales y along its
    ray to the exact minimiser of f there (which brings the iterate to the solution's scale at
    once: weights of nearly opposed gradients grow like 1 / sqrt(1 + cos)), then takes a damped
    Newton step that keeps y > 0 (Armijo backtracking far from the solution).
    """
    diag = np.diag(k)
    scale = diag ** (-1.0 / (1.0 + p))
    m = k * np.outer(scale, scale)  # the Gramian of the rescaled problem: M y = c y^(-p)
    c = np.diag(m).copy()  # K_ii^((p - 1) / (p + 1)); 1 for p = 1
    abs_m = np.abs(m)
    ok_start = x0 is not None and x0.shape == diag.shape and bool(np.all(x0 > 0))
    y = x0 / scale if ok_start else np.ones_like(diag)  # type: ignore[operator]

    def potential(v: np.ndarray) -> float:
        h = np.log(v) @ c if p == 1.0 else (v ** (1.0 - p)) @ c / (1.0 - p)
        return 0.5 * float(v @ m @ v) - float(h)

    residual, backward, stalled = np.inf, np.inf, 0
    for it in range(max_iter + 1):
        q = float(y @ m @ y)
        t = (float(c @ y ** (1.0 - p)) / q) ** (1.0 / (1.0 + p)) if q > 0 else 1.0
        if np.isfinite(t) and t > 0:  # the exact minimiser of f along the ray through y
            y = y * t
        my = m @ y
        target = c * y ** (-p)
        grad = my - target
        previous, residual = residual, float(np.max(np.abs(grad) / target))
        backward = float(np.max(np.abs(grad) / (abs_m @ y + target)))
        # quadratic convergence ends at `tol` or, where (K x)_i cancels, at the round-off floor
        stalled = stalled + 1 if residual > 0.5 * previous and backward <= ROUND_OFF else 0
        if residual <= tol or stalled >= 2 or not np.all(np.isfinite(y)) or it == max_iter:
            break
        hess = m + np.diag(p * c * y ** (-p - 1.0))
        eq = 1.0 / np.sqrt(np.diag(hess))  # symmetric equilibration: the solve stays accurate
        try:
            step = -eq * np.linalg.solve(hess * np.outer(eq, eq), eq * grad)
        except np.linalg.LinAlgError:  # only where y runs off to infinity: there is no solution
            break
        shrinking = step < 0
        length = min(1.0, 0.99 * float(np.min(-y[shrinking] / step[shrinking]))) \
            if shrinking.any() else 1.0  # the longest step that keeps y > 0
        slope = float(grad @ step)  # minus the squared Newton decrement
        if -slope > 0.0625:  # far from the solution: backtrack until f falls enough (Armijo)
            f0 = potential(y)
            while length > 1e-12 and potential(y + length * step) > f0 + 1e-4 * length * slope:
                length *= 0.5
        # near it (decrement below 1/4, where full steps converge quadratically for the log
        # barrier) f no longer changes measurably in floating point, so no line search there
        y = y + length * step
    return y * scale, residual, backward


def balanced_weights(k: np.ndarray, p: float, start: np.ndarray | None, max_iter: int,
                     method: str, equation: str, hint: str) -> tuple[np.ndarray, list[str]]:
    """x >= 0 with K x = x^(-p) on the tasks with a nonzero gradient, and the notes to show.

    Exact wherever a solution exists. Two cases have none, and are treated apart (each noted):
    a task whose gradient is exactly zero gets weight 0 (its equation reads 0 = x_i^(-p)); and
    Pareto-stationary gradients (`stationarity` <= STATIONARY: 0 lies in the convex hull of the
    unit gradients, to 1e-6) are solved with K + RIDGE diag(K). For p = 1 and two tasks the
    solution is closed: x_i = 1 / (|g_i| sqrt(1 + cos)) (subtract the equations: K11 x1^2 =
    K22 x2^2), and with the ridge 1 / (|g_i| sqrt(1 + cos + RIDGE)). Any other failure to reach
    the solution is a SolverError naming `hint`.
    """
    t = k.shape[0]
    x = np.zeros(t)
    notes: list[str] = []
    live = nonzero_tasks(k)
    if live.size < t:
        notes.append(f"{method}: a task's gradient is exactly zero, so {equation} has no "
                     "positive solution; that task gets weight 0 while its gradient is zero")
    if live.size == 0:
        return x, notes
    sub = k[np.ix_(live, live)]
    ridge_note = (f"{method}: the task gradients are Pareto-stationary (a convex combination "
                  f"of their unit vectors is shorter than 1e-6), so {equation} has no positive "
                  f"solution; solved it for K + {RIDGE:g} diag(K) instead, which keeps the "
                  "weights finite (large, the update near 0 along the opposed gradients)")
    if p == 1.0 and live.size == 2:
        n, c = cosines(sub)
        gap = 1.0 + float(c[0, 1])
        if gap <= 2 * STATIONARY:  # here the shortest convex combination is (u1 + u2) / 2
            notes.append(ridge_note)
            gap += RIDGE
        x[live] = 1.0 / (n * np.sqrt(gap))
        return x, notes
    x0 = start[live] if start is not None and start.shape == (t,) else None
    sol, residual, backward = power_balance(sub, p, x0, max_iter=max_iter)
    if residual > CLEAN and backward > ROUND_OFF and x0 is not None:  # a poor start: start cold
        sol, residual, backward = power_balance(sub, p, None, max_iter=max_iter)
    if residual > CLEAN and stationarity(cosines(sub)[1]) <= STATIONARY:
        notes.append(ridge_note)
        ridged = sub + RIDGE * np.diag(np.diag(sub))
        sol, residual, backward = power_balance(ridged, p, None, max_iter=max(max_iter, 100))
    if not np.all(np.isfinite(sol)) or (residual > CLEAN and backward > ROUND_OFF):
        raise SolverError(f"{method}: Newton's method stopped {residual:.2g} away from "
                          f"{equation} after {max_iter} iterations; {hint}")
    x[live] = sol
    return x, notes


# --------------------------------------------------------------------------- reproducible draws


class PrivateRng:
    """Runs a function under a torch CPU random state of its own, seeded once.

    torchjd's PCGrad draws its task orders from torch's global generator; inside
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
