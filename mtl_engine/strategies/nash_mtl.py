"""Nash-MTL: Navon et al., "Multi-Task Learning as a Bargaining Game", ICML 2022 (Algorithm 1,
eq. 4).

The tasks bargain over the update d = sum_i alpha_i g_i; the Nash bargaining solution satisfies
    K alpha = 1 / alpha,  alpha > 0   (so alpha_i (g_i . d) = 1 and |d|^2 = T).
The official code solves it on K / |K|_F for conditioning, with the scale put back through its
constraint, by 20 sequential convex programs in cvxpy/ECOS; torchjd's port silently keeps the
previous alpha when ECOS fails (or is missing). We solve the same equation by Newton's method on
its convex potential (mtl_engine/strategies/_gramian.power_balance), warm-started from the last
step: it converges in a few iterations, and a failure to converge is a SolverError, never a
silent reuse. A task whose gradient is exactly zero has no bargaining position (the equation has
no solution): it gets weight 0 for that step. A ridge of 1e-8 keeps K positive definite when the
gradients are exactly opposed (a Pareto-stationary point), where the weights then grow large and
max_norm bounds the update.

For two tasks the equation has a closed form: subtracting its rows gives K11 a1^2 = K22 a2^2, so
alpha_i = 1 / (|g_i| sqrt(1 + cos(g1, g2))), which `nash_weights` uses (the 2-D toy calls it tens
of thousands of times); it needs no iterations.

As in the paper, the weights are recomputed every `update_weights_every` steps and the update is
scaled down when |d| exceeds `max_norm` (0 turns this off).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..errors import SolverError
from ..registry import STRATEGIES, param
from ._gramian import TINY, GramianStrategy, power_balance, tensor
from .base import Combined, StepInfo


@STRATEGIES.register(
    "nash_mtl",
    "Nash-MTL: weights of the Nash bargaining solution, K alpha = 1 / alpha (solved by Newton)",
    paper="Navon et al., ICML 2022",
    family="gradient",
    grad_modes=("shared", "representation"),
    toy_scale_l1=0.1,  # the paper's Figure 1
)
class NashMTL(GramianStrategy):
    label = "nash_mtl"

    @dataclass(frozen=True)
    class Params:
        optim_niter: int = param(20, "Newton iterations at most per solve", low=1, high=1000)
        update_weights_every: int = param(1, "recompute the weights every N steps", low=1)
        max_norm: float = param(1.0, "scale the update down to this norm (0 = off)", low=0.0)

    def setup(self) -> None:
        self._alpha: np.ndarray | None = None  # the last solution, before max_norm scaling
        self._step = 0  # the step being combined (the loop's step number)

    def wants(self, step: int) -> frozenset[str]:
        every = self.p.update_weights_every
        clip = self.p.max_norm > 0
        return self.requires if clip or step % every == 0 or self._alpha is None else frozenset()

    def combine(self, losses: torch.Tensor, info: StepInfo) -> Combined:
        self._step = info.step
        if info.gramian is None and info.grads is None and self._alpha is not None:
            # a step between updates, without clipping: the last weights as they were
            w = tensor(self._alpha).to(device=losses.device, dtype=losses.dtype)
            return self.weighted_sum(losses, w)
        return super().combine(losses, info)

    def weigh(self, k: torch.Tensor, losses: torch.Tensor) -> torch.Tensor:
        if self._alpha is None or self._step % self.p.update_weights_every == 0:
            self._alpha = nash_weights(k.numpy(), self._alpha, self.p.optim_niter)
        alpha = self._alpha
        max_norm = self.p.max_norm
        norm = float(np.sqrt(max(alpha @ k.numpy() @ alpha, 0.0)))
        if max_norm > 0 and norm > max_norm:
            alpha = alpha * (max_norm / norm)
        return tensor(alpha)


def nash_weights(k: np.ndarray, start: np.ndarray | None, max_iter: int) -> np.ndarray:
    """alpha > 0 with K alpha = 1 / alpha (zero-gradient tasks get 0).

    Solved on K / s, s = |K|_F, whose solution is sqrt(s) alpha; `start` is a previous alpha.
    """
    t = k.shape[0]
    alpha = np.zeros(t)
    diag = np.diag(k)
    live = np.flatnonzero(diag > TINY * max(float(diag.max()), 0.0))
    if live.size == 0:
        return alpha
    sub = k[np.ix_(live, live)]
    if live.size == 2:
        norms = np.sqrt(np.diag(sub))
        cos = float(sub[0, 1] / (norms[0] * norms[1]))
        # the ridge below bounds the weights of exactly opposed gradients; do the same here
        alpha[live] = 1.0 / (norms * np.sqrt(max(1.0 + cos, 1e-8)))
        return alpha
    scale = float(np.linalg.norm(sub))
    sub = sub / scale + 1e-8 * np.eye(live.size)
    x0 = start[live] * np.sqrt(scale) if start is not None and start.shape == (t,) else None
    x, residual = power_balance(sub, 1.0, x0, max_iter=max_iter)
    if residual > 1e-6 and x0 is not None:  # the last step's answer was a poor start: cold start
        x, residual = power_balance(sub, 1.0, None, max_iter=max_iter)
    if not np.all(np.isfinite(x)) or residual > 1e-4:  # round-off alone: cond(K) * 1e-16
        raise SolverError(f"nash_mtl: Newton's method stopped {residual:.2g} away from "
                          f"K alpha = 1/alpha after {max_iter} iterations; raise "
                          "strategy.params.optim_niter")
    alpha[live] = x / np.sqrt(scale)
    return alpha

