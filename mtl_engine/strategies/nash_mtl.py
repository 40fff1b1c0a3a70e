"""Nash-MTL: Navon et al., "Multi-Task Learning as a Bargaining Game", ICML 2022 (Algorithm 1,
eq. 4).

The tasks bargain over the update d = sum_i alpha_i g_i; the Nash bargaining solution satisfies
    K alpha = 1 / alpha,  alpha > 0   (so alpha_i (g_i . d) = 1 and |d|^2 = T).
The official code solves it by 20 sequential convex programs in cvxpy/ECOS; torchjd's port
silently keeps the previous alpha when ECOS fails (or is missing). We solve the equation itself,
exactly (no ridge), by Newton's method on its convex potential (_gramian.power_balance),
warm-started from the last step; a failure to converge is a SolverError, never a silent reuse.

A positive solution exists exactly when no convex combination of the gradients is zero, i.e.
some d has g_i . d > 0 for every task (_gramian.power_balance says why). Where none exists the
method is undefined, and we say so in a Warned event (once per run) and do this instead
(_gramian.balanced_weights):
* a task whose gradient is exactly zero gets weight 0 for that step;
* Pareto-stationary gradients (exactly opposed ones, or one in the negative cone of the others,
  to 1e-6) are solved with K + 1e-8 diag(K), as if each gradient had a private component of 1e-4
  its norm: the weights stay finite (an exactly opposed pair gets about 1e4 / |g_i| and cancels).
Near such points the exact weights grow like 1 / sqrt(1 + cos) while |d| stays sqrt(T); the
paper's max_norm (below) bounds the update there.

For two tasks the equation has a closed form: subtracting its rows gives K11 a1^2 = K22 a2^2, so
alpha_i = 1 / (|g_i| sqrt(1 + cos(g1, g2))), exact for every cos > -1 (the 2-D toy calls it tens
of thousands of times); it needs no iterations.

As in the paper, the weights are recomputed every `update_weights_every` steps and the update is
scaled down when |d| exceeds `max_norm` (0 turns this off).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..registry import STRATEGIES, param
from ._gramian import GramianStrategy, balanced_weights, tensor
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
            notes: list[str] = []
            self._alpha = nash_weights(k.numpy(), self._alpha, self.p.optim_niter, notes)
            self.note(*notes)
        alpha = self._alpha
        max_norm = self.p.max_norm
        norm = float(np.sqrt(max(alpha @ k.numpy() @ alpha, 0.0)))
        if max_norm > 0 and norm > max_norm:
            alpha = alpha * (max_norm / norm)
        return tensor(alpha)


def nash_weights(k: np.ndarray, start: np.ndarray | None, max_iter: int,
                 notes: list[str] | None = None) -> np.ndarray:
    """alpha > 0 with K alpha = 1 / alpha (see the module docstring for the cases without a
    solution, whose notes are appended to `notes`); `start` is a previous alpha."""
    alpha, said = balanced_weights(k, 1.0, start, max_iter, "nash_mtl", "K alpha = 1/alpha",
                                   "raise strategy.params.optim_niter")
    if notes is not None:
        notes.extend(said)
    return alpha
