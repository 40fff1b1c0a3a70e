"""CAGrad: Liu, Liu, Jin, Stone & Liu, "Conflict-Averse Gradient Descent for Multi-task Learning",
NeurIPS 2021 (Algorithm 1; the dual problem of eq. 3).

Within a ball of radius r = c |g0| around the mean gradient g0, CAGrad picks the update that
maximises the worst task's improvement. Its dual over the simplex is
    w* = argmin_w  F(w) = b^T w + r |g_w|,   b = K 1 / T (so b^T w = g0 . g_w),  g_w = sum w_i g_i,
and the update is d = g0 + (r / |g_w*|) g_w*, divided by 1 + c^2 when rescale = 1 (1 + c when 2).
So alpha = (1/T + (r / |g_w*|) w*) / scale.

F is convex but not quadratic, and the official code (and LibMTL) hands it to scipy's SLSQP,
torchjd to cvxpy. We solve it exactly instead, with no ridge. With v = (r / |g_w*|) w*, the
optimality conditions read: g_i . d' = nu on the support S of w*, >= nu off it, v >= 0 and
|G^T v| = r, where d' = g0 + G^T v (nu = F(w*) = min_i g_i . d', the worst task's rate). On S
they have a closed form: K_SS v_S = nu 1 - b_S and v^T K v = r^2, a quadratic in nu (larger root).
It is solved in the unit-gradient variables u = |g_i| v_i, whose matrix is the cosine matrix C_SS
(K = D C D): well scaled for any spread of norms (1e-4 .. 1e4 in the tests). Where C_SS is nearly
singular (nearly opposed pairs, 1 + cos down to 1e-8) the closed form loses digits, so three
Newton steps on the face's equations follow; directions with eigenvalues below RANK (exactly
duplicated or dependent gradients) are left out, and such faces are accepted only when their
equations still hold (Caratheodory: some optimal support has independent gradients). A support
is accepted only once every condition holds to KKT (relative to |g_i| (|g0| + r)), which proves
it optimal. Supports are tried in this order: the last step's, then the supports proposed by the
convex reformulation min_{w, lam} b^T w + r (w^T K w / lam + lam) / 2 (an exact simplex QP in w
on K + 1e-12 diag(K) for each lam, bisecting on lam = |g_w|), each walked to a neighbour (drop
the most negative weight, add the most violated task) until the conditions hold, and for T <= 12
every support as a last resort.

Degenerate cases, where g_w* = 0 and the update's direction r g_w* / |g_w*| is undefined: the
gradients Pareto-stationary (0 in their hull, so F(w0) = 0 at the min-norm point w0, optimal when
c >= 1 or when no face has F < 0), or a task's gradient exactly zero (F = 0 at its vertex, optimal
unless the others reach F < 0). There d = g0, the official code's |g_w| + eps limit, and a Warned
event says so. Exactly identical gradients share their weight equally (only the sum is fixed).
For two tasks F is a convex function of one number and its minimiser has a closed form
(`two_tasks`), which the 2-D toy calls tens of thousands of times.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import SolverError
from ..registry import STRATEGIES, param
from ._gramian import GramianStrategy, nonneg_qp, tensor

RESCALE = {0: lambda c: 1.0, 1: lambda c: 1.0 + c * c, 2: lambda c: 1.0 + c}


def cagrad_dual(k: np.ndarray, c: float, support: np.ndarray | None = None
                ) -> tuple[np.ndarray, float, float]:
    """w*, |g_w*| and r for Gramian `k` and radius factor `c` (see the module docstring)."""
    t = k.shape[0]
    b = k.sum(axis=1) / t
    g0 = float(np.sqrt(max(b.sum() / t, 0.0)))  # |g0|^2 = 1^T K 1 / T^2 = sum(b) / T
    r = c * g0
    if r <= 0.0:
        return np.full(t, 1.0 / t), g0, 0.0
    diag = np.diag(k)
    live = np.flatnonzero(diag > max(float(diag.max()) * 1e-200, 1e-300))
    dead = np.setdiff1d(np.arange(t), live)
    w = np.zeros(t)
    found = _solve(k[np.ix_(live, live)], b[live], r, None if support is None or
                   support.shape != (t,) else support[live])
    if found is not None and (dead.size == 0 or found[2] < 0.0):
        w[live] = found[0]
        return _even_split(w, k), found[1], r
    if dead.size:  # F(w) >= 0 on the live tasks' simplex and F = 0 at a zero gradient's vertex
        w[dead] = 1.0 / dead.size
        return w, 0.0, r
    # no face satisfies the optimality conditions: this happens only where 0 is (to round-off)
    # in the hull of the gradients, whose min-norm point w0 is then optimal (F(w0) = 0)
    w0 = nonneg_qp(_ridged(k), np.zeros(t), simplex=True)
    if _is_zero(w0, k):
        return w0, 0.0, r
    raise SolverError(f"cagrad: no optimal point found for T = {t}; the Gramian may be badly "
                      "conditioned (nearly equal or opposed task gradients)")


STATIONARY_NOTE = ("cagrad: the dual's minimiser g_w* is 0 (the task gradients are Pareto-"
                   "stationary, or one is zero), so the direction r g_w* / |g_w*| is undefined; "
                   "used d = g0, the mean gradient, as the official code's |g_w| + eps does")
RANK = 1e-13  # eigenvalues of a face's cosine matrix below this (relative) count as zero
KKT = 1e-9  # tolerance of the optimality conditions, relative to |g_i| (|g0| + r)


def _even_split(w: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Identical task gradients (equal norms, cosine 1, to round-off) share their total weight
    equally: only the total is determined, and an even split keeps the weights independent of
    the task order."""
    out = w.copy()
    n = np.sqrt(np.clip(np.diag(k), 0.0, None))
    done = np.zeros(w.shape[0], dtype=bool)
    for i in np.flatnonzero(n > 0):
        if not done[i]:
            same = (np.abs(n - n[i]) <= 1e-12 * n[i]) & (k[i] >= (1 - 1e-14) * n * n[i])
            out[same] = w[same].mean()
            done |= same
    return out


def _ridged(k: np.ndarray) -> np.ndarray:
    """K + 1e-12 diag(K) (every K_ii > 0 where it is called): positive definite for the QP that
    only proposes supports or the min-norm point; never the Gramian a solution is accepted on."""
    return k + np.diag(1e-12 * np.diag(k))


def _solve(k: np.ndarray, b: np.ndarray, r: float, support: np.ndarray | None
           ) -> tuple[np.ndarray, float, float] | None:
    """w*, rho = |g_w*| and nu = F(w*) for tasks whose gradients are all nonzero, or None when no
    support satisfies the optimality conditions (Pareto-stationary gradients)."""
    t = k.shape[0]
    n = np.sqrt(np.diag(k))
    cm = k / np.outer(n, n)
    np.fill_diagonal(cm, 1.0)
    g0 = float(np.sqrt(max(b.sum() / t, 0.0)))
    seen: set[bytes] = set()

    def walk(s: np.ndarray) -> tuple[np.ndarray, float, float] | None:
        s = s.copy()
        for _ in range(4 * t + 4):
            key = np.packbits(s).tobytes()
            if key in seen or not s.any():
                return None
            seen.add(key)
            face = _face(cm, n, b, r, s, g0)
            if face is None:
                return None
            v, nu, ok, worst, slack = face
            if v.min() < 0.0:  # leave the face through its most negative weight
                s[int(np.argmin(v * n))] = False
            elif not ok:
                return None  # an inconsistent singular face
            elif worst < 0:  # enter the task whose condition is violated most
                s[int(np.argmin(slack))] = True
            else:
                total = float(v.sum())
                return v / total, r / total, nu
        return None

    if t == 1:
        return np.ones(1), float(n[0]), float(b[0] + r * n[0])
    if support is not None and support.any():
        found = walk(support)
        if found is not None:
            return found
    kr = _ridged(k)
    # supports proposed by the convex reformulation min_{w, lam} b^T w + r (w^T K w / lam + lam)
    # / 2: for each lam an exact simplex QP in w; phi(lam) = |g_w(lam)| / lam does not increase
    # and is 1 at the optimum, so expand until the root is bracketed, then bisect on log(lam)
    lam, lo, hi = max(g0, 1e-300), 0.0, np.inf
    for _ in range(60):
        w = nonneg_qp(kr * (r / lam), b, simplex=True)
        found = walk(w > 0)
        if found is not None:
            return found
        rho = float(np.sqrt(max(w @ k @ w, 0.0)))
        if rho > lam:
            lo = lam
        else:
            hi = lam
        if hi < 1e-12 * g0:
            break
        lam = np.sqrt(lo * hi) if lo > 0 and np.isfinite(hi) else \
            (4.0 * lam if lo > 0 else lam / 4.0)
    if t <= 12:  # every support, smallest first: the optimality conditions single one out
        for size in range(1, t + 1):
            for combo in itertools.combinations(range(t), size):
                s = np.zeros(t, dtype=bool)
                s[list(combo)] = True
                face = _face(cm, n, b, r, s, g0)
                if face is not None and face[2] and face[3] >= 0 and face[0].min() >= 0:
                    total = float(face[0].sum())
                    return face[0] / total, r / total, face[1]
    return None


def _face(cm: np.ndarray, n: np.ndarray, b: np.ndarray, r: float, s: np.ndarray, g0: float
          ) -> tuple[np.ndarray, float, bool, float, np.ndarray] | None:
    """The optimality conditions solved on support s, in the unit-gradient variables u = n v
    (K = D C D, D = diag(n), C the cosine matrix: C_ss is well scaled for any spread of norms).

    Returns v (>= -round-off clipped to 0; negative entries kept when they are not), nu, whether
    the equations hold on s, the smallest scaled slack off s and every scaled slack
    (g_j . d' - nu) / (|g_j| (|g0| + r)), d' = g0 + G^T v; None when no point of the face has
    |G^T v| = r. The face's singular directions (duplicated or dependent gradients, eigenvalues
    of C_ss below RANK) are left out: a pseudo-inverse, checked by the slacks on s.
    """
    idx = np.flatnonzero(s)
    lam, q = np.linalg.eigh(cm[np.ix_(idx, idx)])
    keep = lam > RANK * max(float(lam.max()), 1e-300)
    q = q[:, keep]
    pinv = (q / lam[keep]) @ q.T
    inv_n, bs = 1.0 / n[idx], b[idx] / n[idx]
    p = pinv @ inv_n
    a = float(inv_n @ p)  # 1^T K_ss^-1 1
    if not a > 0:
        return None
    # v(nu) = K_ss^-1 (nu 1 - b_s); |G^T v(nu)|^2 = A (nu - mean)^2 + e, smallest at nu = mean
    mean = float(inv_n @ (pinv @ bs)) / a
    es = bs - mean * inv_n
    qe = pinv @ es
    e = float(es @ qe)  # where e >= r^2 no point of this face reaches |G^T v| = r
    if not r * r > e:
        return None
    nu = mean + np.sqrt((r * r - e) / a)
    us = (nu - mean) * p - qe
    # the closed form loses digits where C_ss is nearly singular (e and r^2 cancel); Newton's
    # method on the face's equations, with residuals formed directly, recovers them
    css = cm[np.ix_(idx, idx)]
    for _ in range(3):
        cu = css @ us
        res = np.concatenate([cu - nu * inv_n + bs, [(us @ cu - r * r) / 2]])
        jac = np.block([[css, -inv_n[:, None]], [cu[None, :], np.zeros((1, 1))]])
        step = np.linalg.lstsq(jac, -res, rcond=RANK)[0]
        us, nu = us + step[:-1], nu + float(step[-1])
        if np.abs(step[:-1]).max() <= 1e-15 * np.abs(us).max():
            break
    u = np.zeros(n.shape[0])
    u[idx] = us
    if u.min() < 0.0 and u.min() >= -1e-10 * float(np.abs(u).max()):
        u = np.clip(u, 0.0, None)
    slack = (b + n * (cm @ u) - nu) / (n * (g0 + r))
    ok = bool(np.abs(slack[idx]).max() <= KKT)
    off = slack[~s]
    return u / n, float(nu), ok, float(off.min()) + KKT if off.size else 0.0, \
        np.where(s, np.inf, slack + KKT)


def two_tasks(k: np.ndarray, c: float) -> tuple[np.ndarray, float, float]:
    """`cagrad_dual` for T = 2. With w = (t, 1 - t), g_w = g2 + t (g1 - g2) and
    F(t) = b2 + delta t + r sqrt(q(t)), q = a t^2 + 2 beta t + gamma (a = |g1 - g2|^2,
    beta = g2 . (g1 - g2), gamma = |g2|^2, delta = b1 - b2). F is convex; inside (0, 1) its
    stationary point has u = a t + beta = -sign(delta) |delta| sqrt(D / (r^2 a - delta^2)),
    D = a gamma - beta^2 = |g1|^2 |g2|^2 - (g1 . g2)^2, from squaring r u = -delta sqrt(q) with
    a q = u^2 + D. Every quantity is formed so that nothing large cancels: D as
    (|g1| |g2| - g1 . g2) (|g1| |g2| + g1 . g2) (its terms are |g2|^4 apart when |g1| << |g2|),
    |g_w| as sqrt((u^2 + D) / a), the end slopes from g1 . (g1 - g2) and g2 . (g1 - g2).
    """
    k11, k12, k22 = float(k[0, 0]), float(k[0, 1]), float(k[1, 1])
    n1, n2 = np.sqrt(max(k11, 0.0)), np.sqrt(max(k22, 0.0))
    g0_sq = max((k11 + 2 * k12 + k22) / 4, 0.0)
    r = c * np.sqrt(g0_sq)
    a, beta, delta = k11 - 2 * k12 + k22, k12 - k22, (k11 - k22) / 2
    if r <= 0.0 or a <= 1e-15 * max(k11, k22, 1e-300):
        return np.array([0.5, 0.5]), float(np.sqrt(g0_sq)), r  # equal gradients: any w
    if n2 == 0.0 or delta + r * beta / n2 >= 0.0:  # F'(0) >= 0 (F = t F(1) when g2 = 0)
        t, rho = 0.0, n2
    elif n1 == 0.0 or delta + r * (k11 - k12) / n1 <= 0.0:  # F'(1) <= 0
        t, rho = 1.0, n1
    else:
        d = max((n1 * n2 - k12) * (n1 * n2 + k12), 0.0)
        u = -np.sign(delta) * abs(delta) * np.sqrt(d / max(r * r * a - delta * delta, 1e-300))
        # both weights from u: 1 - t rounded would lose the small one's digits, and with them
        # the direction of a short g_w (opposed gradients of very different norms)
        w = np.clip(np.array([u - beta, k11 - k12 - u]) / a, 0.0, 1.0)
        rho = float(np.sqrt((u * u + d) / a))
        gross = w[0] * n1 + w[1] * n2  # |g_w| below round-off of this is zero (stationary)
        return w, (0.0 if rho <= 1e-7 * gross else rho), r
    gross = t * n1 + (1.0 - t) * n2
    return np.array([t, 1.0 - t]), (0.0 if rho <= 1e-7 * gross else float(rho)), r


def _is_zero(w: np.ndarray, k: np.ndarray) -> bool:
    """|g_w| at round-off level: below 1e-7 of |w_1| |g_1| + ... + |w_T| |g_T|, the length it
    would have without cancellation (so a combination of tiny gradients is not zero)."""
    gross = float(np.abs(w) @ np.sqrt(np.clip(np.diag(k), 0.0, None)))
    return float(w @ k @ w) <= 1e-14 * gross * gross


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
        if r > 0 and rho == 0:
            self.note(STATIONARY_NOTE)
        # rho = 0 only at a Pareto-stationary point, where the direction of g_w is undefined;
        # there d = g0, the limit the official code's (|g_w| + eps) also gives
        alpha = np.full(t, 1.0 / t) + (r / rho) * w if r > 0 and rho > 0 else np.full(t, 1.0 / t)
        return tensor(alpha / RESCALE[self.p.rescale](c))
