"""IMTL-G, gradient balance of Impartial Multi-Task Learning: Liu et al., "Towards Impartial
Multi-task Learning", ICLR 2021 (section 3.2, eq. 9-11).

IMTL-G picks the update d = sum_i alpha_i g_i whose projections onto every task's unit gradient
are equal, d . u_i = d . u_1 (u_i = g_i / |g_i|), with sum_i alpha_i = 1. The paper's closed
form: alpha_{2..T} = g_1 U^T (D U^T)^-1 with rows U_i = u_1 - u_i, D_i = g_1 - g_i, and
alpha_1 = 1 - sum. We solve the same conditions on the Gramian (every product above is an entry
of K divided by norms): with beta_i = alpha_i |g_i| and C the cosine matrix,
    C beta = c 1,  sum_i beta_i / |g_i| = 1,
where c is the common projection d . u_i (`imtl_g_weights`). Where (D U^T) is invertible this is
the paper's formula exactly; we do not use torchjd's K^+ sqrt(diag K), which on exactly opposed
gradients returns an update the paper's conditions do not allow (d = -5 g1 in one case).

The cases where the paper's formula is singular, each taken as the limit it tends to:
* two tasks: alpha_i = |g_j| / (|g_1| + |g_2|) (d along u_1 + u_2) for every pair, opposed or
  collinear included: the formula gives exactly this wherever it is defined.
* exactly opposed gradients, or any set whose affine hull holds 0 (some sum_i alpha_i g_i = 0
  with sum_i alpha_i = 1; also a same-direction pair of unequal norms among three tasks or
  more): d = 0, which has every projection equal (0) and is the limit of the formula as the
  gradients approach such a set; the weights are the smallest such alpha (unique but for
  rank-deficient sets).
* duplicated gradients (same direction and norm): their weights enter only through their sum,
  and the formula has no limit there (it depends on how the copies part); we split the sum
  equally (the minimum-norm solution).
* a task whose gradient is exactly zero: d = 0, all the weight on the zero-gradient tasks (the
  limit as a gradient shrinks to 0: its tiny projection must equal the others'); noted.
* no d at all with equal projections (the affine hull of the gradients parallel to the
  equal-projection direction, a measure-zero set): least squares, noted.
"""

from __future__ import annotations

import numpy as np
import torch

from ..registry import STRATEGIES
from ._gramian import GramianStrategy, cosines, nonzero_tasks, tensor

NULL = 1e-13  # an eigenvalue of the cosine matrix below this (times T) is zero: rank-deficient
ZERO_NOTE = ("imtl_g: a task's gradient is exactly zero, so the only update with equal "
             "projections on every unit gradient is 0 (the limit of the paper's formula as a "
             "gradient vanishes); the zero-gradient tasks get all the weight")
NO_D_NOTE = ("imtl_g: no update has equal projections on every unit gradient here (the "
             "gradients' affine hull runs parallel to it); used the least-squares weights")


@STRATEGIES.register(
    "imtl_g",
    "IMTL-G: the update with equal projections on every task's unit gradient (weights sum to 1)",
    paper="Liu et al., ICLR 2021",
    family="gradient",
    grad_modes=("shared", "representation"),
)
class IMTLG(GramianStrategy):
    label = "imtl_g"

    def weigh(self, k: torch.Tensor, losses: torch.Tensor) -> torch.Tensor:
        alpha, notes = imtl_g_weights(k.numpy())
        self.note(*notes)
        return tensor(alpha)


def imtl_g_weights(k: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """IMTL-G's alpha from the Gramian (sum 1, equal projections), and the notes to show."""
    t = k.shape[0]
    live = nonzero_tasks(k)
    if live.size < t:
        alpha = np.zeros(t)
        dead = np.setdiff1d(np.arange(t), live)
        alpha[dead] = 1.0 / dead.size
        return alpha, [ZERO_NOTE] if live.size else []
    n, c = cosines(k)
    if t <= 2:  # alpha proportional to 1 / |g_i|, written so that no norm is inverted
        return (n[::-1] / n.sum() if t == 2 else np.ones(1)), []
    s = 1.0 / n  # alpha = s * beta
    values, vectors = np.linalg.eigh(c)
    null = vectors[:, values <= NULL * t]
    a = null.T @ s
    if null.size and float(np.linalg.norm(a)) > 1e-8 * float(np.linalg.norm(s)):
        # 0 is in the affine hull: d = 0, beta = N z with sum alpha = a^T z = 1, |alpha| least
        sn = s[:, None] * null
        q = np.linalg.lstsq(sn.T @ sn, a, rcond=None)[0]
        return sn @ (q / float(a @ q)), []
    # the bordered system [C, -1; s^T, 0] (beta, c) = (0, 1); the last row scaled to max 1
    top = float(s.max())
    system = np.zeros((t + 1, t + 1))
    system[:t, :t] = c
    system[:t, t] = -1.0
    system[t, :t] = s / top
    rhs = np.zeros(t + 1)
    rhs[t] = 1.0 / top
    sol = np.linalg.lstsq(system, rhs, rcond=1e-12)[0]
    alpha = s * sol[:t]
    notes: list[str] = []
    if float(np.abs(system @ sol - rhs).max()) > 1e-8 * max(float(np.abs(sol).max()), 1.0 / top):
        notes.append(NO_D_NOTE)
    return alpha, notes
