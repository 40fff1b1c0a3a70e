"""MoDo: Chen, Fernando, Ying & Chen, "Three-Way Trade-Off in Multi-Objective Learning:
Optimization, Generalization and Conflict-Avoidance", NeurIPS 2023 (Algorithm 1, multi-objective
gradient with double sampling; defaults as LibMTL's weighting/MoDo.py).

lambda starts at 1/T and, each step, takes one projected gradient step on the MGDA objective
lambda^T K lambda / 2 with K estimated without bias from two independent samples of the task
gradients, G1 and G2 (rows g_i), plus an l2 term:
    lambda <- Proj_simplex(lambda - gamma (G1 G2^T lambda + rho lambda)),
and the model moves along d = G^T lambda (weights lambda, summing to 1).

Deviation (named): the paper and LibMTL draw three batches per step and move along a third,
independent sample G3^T lambda. Here the two samples are the two halves of the step's batch
(GRADS_SPLIT: each half through the model again), and the update is the whole batch's G^T lambda,
which the loop applies as for any weighting (total = sum_i lambda_i L_i). Each step thus sees
one batch of data, not three; the price is that the update's sample overlaps lambda's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..registry import STRATEGIES, param
from .base import GRADS_SPLIT, Combined, StepInfo, Strategy


def project_simplex(y: np.ndarray) -> np.ndarray:
    """The Euclidean projection of `y` onto {x >= 0, sum x = 1} (sort and threshold: Held, Wolfe &
    Crowder 1974; Duchi et al., ICML 2008)."""
    u = np.sort(y)[::-1]
    css = np.cumsum(u)
    k = np.arange(1, y.size + 1)
    rho = int(np.flatnonzero(u - (css - 1.0) / k > 0)[-1]) + 1
    return np.clip(y - (css[rho - 1] - 1.0) / rho, 0.0, None)


def cross_gramian(info: StepInfo, method: str) -> np.ndarray:
    """G1 G2^T (T x T, host float64) from the two halves' gradients on the StepInfo."""
    split = info.split_grads
    if split is None or split.shape[0] != 2:
        raise ValueError(f"{method} needs the gradients of two halves of the batch (GRADS_SPLIT) "
                         "but the step carries none")
    g1, g2 = split[0].detach(), split[1].detach()
    return (g1 @ g2.T).to("cpu", torch.float64).numpy()


@STRATEGIES.register(
    "modo",
    "MoDo: the simplex weights take one projected gradient step per step on the MGDA objective, "
    "its Gramian estimated from two independent halves of the batch (weights sum to 1)",
    paper="Chen, Fernando, Ying & Chen, NeurIPS 2023",
    family="gradient",
    grad_modes=("shared",),
)
class MoDo(Strategy):
    requires = frozenset({GRADS_SPLIT})

    @dataclass(frozen=True)
    class Params:
        gamma: float = param(1e-3, "learning rate of the weights lambda", low=0.0, high=100.0)
        rho: float = param(0.1, "l2 regularisation of lambda in its update", low=0.0,
                           high=100.0)

    def setup(self) -> None:
        self.lam = np.full(self.n_tasks, 1.0 / self.n_tasks)

    def combine(self, losses: torch.Tensor, info: StepInfo) -> Combined:
        m = cross_gramian(info, "modo")
        if np.isfinite(m).all():  # a NaN loss upstream: keep lambda, let the loop report it
            self.lam = project_simplex(self.lam - self.p.gamma * (m @ self.lam
                                                                 + self.p.rho * self.lam))
        w = torch.from_numpy(self.lam.copy()).to(device=losses.device, dtype=losses.dtype)
        return self.weighted_sum(losses, w)

    def state(self) -> dict[str, Any]:
        return {"lambda": self.lam.tolist()}
