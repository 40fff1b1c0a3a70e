"""MGDA and MGDA-UB: Sener & Koltun, "Multi-Task Learning as Multi-Objective Optimization",
NeurIPS 2018 (Algorithm 2; section 3.3 for the upper bound).

The update is the minimum-norm point of the convex hull of the task gradients,
    s = argmin_{s in simplex} | sum_i s_i g_i |^2 = argmin s^T K s.
At the optimum d . g_i >= |d|^2 >= 0 for every task: the update never conflicts with any of them.
Two solvers: "exact" (default), our active-set QP, which reaches the minimiser to round-off; and
"frank_wolfe", the paper's solver as torchjd implements it (at most 250 iterations, stop when the
step falls below 1e-5). Frank-Wolfe stops early: on random Gramians it leaves d . g_i as low as
-1e-3 max|g_i|^2 (a small conflict) and takes 5-12 ms for T = 5-10, against about 0.3 ms for
the exact solver (tests/engine/test_strategies_gradient.py, benchmarks/bench_gradients.py).
MGDA-UB is the same with the gradients taken w.r.t. the shared representation
(strategy.grad_mode: representation).

Gradient normalisation (the paper's code): each g_i is divided by n_i = 1 ("none"), |g_i| ("l2"),
L_i ("loss") or L_i |g_i| ("loss+") before solving. The direction applied is the min-norm point of
the normalised gradients, d = sum_i s_i g_i / n_i, so the reported weights are alpha_i = s_i / n_i.
(The official code scales the raw losses by s instead, which no longer gives the min-norm point.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torchjd.aggregation import MGDAWeighting

from ..registry import STRATEGIES, param
from ._gramian import TINY, GramianStrategy, nonneg_qp, tensor

Normalisation = Literal["none", "l2", "loss", "loss+"]


def normalisers(k: torch.Tensor, losses: torch.Tensor, mode: str) -> torch.Tensor:
    norms = k.diagonal().clamp_min(0).sqrt()
    scale = {"none": torch.ones_like(norms), "l2": norms, "loss": losses,
             "loss+": losses * norms}[mode]
    # a zero gradient or loss cannot be divided by; it is left as it is (it adds nothing anyway)
    floor = TINY * float(scale.abs().max()) if scale.numel() else 0.0
    return torch.where(scale.abs() > floor, scale, torch.ones_like(scale))


@STRATEGIES.register(
    "mgda",
    "MGDA: the minimum-norm convex combination of the task gradients, which conflicts with no "
    "task (MGDA-UB with grad_mode 'representation')",
    paper="Sener & Koltun, NeurIPS 2018",
    family="gradient",
    grad_modes=("shared", "representation"),
    conflict_tol=1e-9,  # the exact solver reaches the min-norm point to round-off
)
class MGDA(GramianStrategy):
    label = "mgda"

    @dataclass(frozen=True)
    class Params:
        normalization: Normalisation = param("none", "divide each gradient by 1, its norm, its "
                                             "loss or both before solving (paper's code)")
        solver: Literal["exact", "frank_wolfe"] = param(
            "exact", "exact: active-set QP (minimiser to round-off); frank_wolfe: the paper's "
            "iterative solver")
        max_iters: int = param(250, "Frank-Wolfe iterations at most", low=1, high=100_000)
        epsilon: float = param(1e-5, "stop when the Frank-Wolfe step is below this",
                               low=1e-12, high=1.0)

    def setup(self) -> None:
        self._fw = MGDAWeighting(epsilon=self.p.epsilon, max_iters=self.p.max_iters)

    def weigh(self, k: torch.Tensor, losses: torch.Tensor) -> torch.Tensor:
        n = normalisers(k, losses, self.p.normalization)
        kn = k / (n[:, None] * n[None, :])
        if self.p.solver == "frank_wolfe":
            return self._fw(kn) / n
        return min_norm_weights(kn) / n


def min_norm_weights(k: torch.Tensor) -> torch.Tensor:
    """argmin over the simplex of s^T K s, exactly (scale-free: K is divided by its trace first)."""
    a = k.numpy()
    tr = float(np.trace(a))
    a = (a / tr if tr > 0 else a) + 1e-12 * np.eye(a.shape[0])
    return tensor(nonneg_qp(a, np.zeros(a.shape[0]), simplex=True))
