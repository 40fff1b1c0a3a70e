"""ConFIG: Liu, Chu & Thuerey, "ConFIG: Towards Conflict-free Training of Physics Informed Neural
Networks", ICLR 2025 (eq. 2; the file is named for what the method does, as mtl_engine/config.py
is the run configuration).

With u_i = g_i / |g_i| the unit task gradients (rows of U), ConFIG moves along the direction that
has the same cosine with every one of them, and as far as the gradients' projections on it add up:
    v = U^+ 1,   v_hat = v / |v|,   d = (sum_i g_i . v_hat) v_hat.
When U has full row rank, U v = 1 holds exactly, so d . g_i = |g_i| (sum_j |g_j|) / |v|^2 > 0 for
every task: no conflict. With more tasks than the gradients' rank, v is the least-squares answer
and some task may still conflict (no guarantee is registered for that reason).

v = U^+ 1 = U^T (U U^T)^+ 1 lies in the span of the gradients, so ConFIG is a weighting:
d = G^T alpha. With U = A S B^T (its thin SVD; U U^T = A S^2 A^T is the cosine matrix
C = N^-1 K N^-1, N = diag(|g_i|)) and c = A^T 1,
    v = U^T A S^-2 c = G^T beta,  beta = N^-1 A S^-2 c,   |v|^2 = sum_j c_j^2 / s_j^2,
    sum_i g_i . v = sum_i |g_i| (A c)_i,   alpha = (sum_i g_i . v) / |v|^2 beta.
A and S come from an SVD of U itself when the step carries the gradients (the training loop and
the tests do), else from the eigendecomposition of C (K alone). The two agree to round-off, but
C squares U's condition: with nearly parallel gradients (a singular value s_min of U near 1e-5)
K alone leaves errors of order 1e-16 / s_min^2, where G gives about 1e-16 / s_min (docs/
fidelity.md). Singular values of U below 100 T eps(dtype) of the largest count as zero (the
round-off of a rank-deficient U); on K alone, eigenvalues of C below 100 T eps of the largest
(C's own round-off). A zero gradient has u_i = 0 (as torchjd's ConFIG does it) and weight 0; when
v = 0 (1 is orthogonal to the span of the unit gradients' Gramian) d = 0.
"""

from __future__ import annotations

import numpy as np
import torch

from ..registry import STRATEGIES
from ._gramian import GramianStrategy, tensor
from .base import GRADS, Combined, StepInfo

_EPS64 = float(np.finfo(np.float64).eps)


def config_weights(k: np.ndarray) -> np.ndarray:
    """alpha (T,) with d = G^T alpha the ConFIG update, from the Gramian `k` = G G^T alone."""
    t = k.shape[0]
    norms = np.sqrt(np.clip(np.diag(k), 0.0, None))
    inv = np.where(norms > 0, 1.0 / np.where(norms > 0, norms, 1.0), 0.0)
    lam, vec = np.linalg.eigh(k * inv[:, None] * inv[None, :])
    keep = lam > 100 * t * _EPS64 * max(float(lam.max()), 0.0)
    return _from_basis(vec[:, keep], lam[keep], norms)


def config_weights_from_grads(g: torch.Tensor) -> np.ndarray:
    """The same alpha from G (T x P) itself, by an SVD of the unit gradients (on G's device, in
    its dtype): better conditioned than through K."""
    norms = g.norm(dim=1)
    u = g / torch.where(norms > 0, norms, torch.ones_like(norms))[:, None]
    a, s, _ = torch.linalg.svd(u, full_matrices=False)
    a, s = a.to("cpu", torch.float64).numpy(), s.to("cpu", torch.float64).numpy()
    keep = s > 100 * g.shape[0] * torch.finfo(g.dtype).eps * float(s.max(initial=0.0))
    return _from_basis(a[:, keep], s[keep] ** 2, norms.to("cpu", torch.float64).numpy())


def _from_basis(a: np.ndarray, s2: np.ndarray, norms: np.ndarray) -> np.ndarray:
    """alpha from U U^T's kept eigenvectors `a` (T x r), eigenvalues `s2` and the norms |g_i|."""
    c = a.T @ np.ones(a.shape[0])
    v_sq = float((c * c / s2).sum())  # |v|^2
    if not v_sq > 0.0:
        return np.zeros(a.shape[0])
    inv = np.where(norms > 0, 1.0 / np.where(norms > 0, norms, 1.0), 0.0)
    return (float(norms @ (a @ c)) / v_sq) * inv * (a @ (c / s2))


@STRATEGIES.register(
    "config",
    "ConFIG: the direction with equal cosine to every unit task gradient, as long as the "
    "gradients' projections on it add up (conflict-free when the gradients are independent)",
    paper="Liu, Chu & Thuerey, ICLR 2025",
    family="gradient",
    grad_modes=("shared", "representation"),
)
class ConFIG(GramianStrategy):
    label = "config"
    requires = frozenset({GRADS})  # from G itself; K alone (the fallback) squares its conditioning

    def combine(self, losses: torch.Tensor, info: StepInfo) -> Combined:
        g = info.grads
        if g is None or not bool(torch.isfinite(g).all()):  # K alone, or a NaN to report
            return super().combine(losses, info)
        alpha = tensor(config_weights_from_grads(g.detach()))
        return self.weighted_sum(losses, alpha.to(device=losses.device, dtype=losses.dtype))

    def weigh(self, k: torch.Tensor, losses: torch.Tensor) -> torch.Tensor:
        return tensor(config_weights(k.numpy()))
