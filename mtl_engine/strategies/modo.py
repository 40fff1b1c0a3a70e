"""MoDo: Chen, Fernando, Ying & Chen, "Three-Way Trade-Off in Multi-Objective Learning:
Optimization, Generalization and Conflict-Avoidance", NeurIPS 2023 (Algorithm 1, multi-objective
gradient with double sampling; defaults as LibMTL's weighting/MoDo.py).

Each step draws three independent samples z1, z2, z3 at the current point. lambda starts at 1/T
and takes one projected gradient step on the MGDA objective lambda^T K lambda / 2, K estimated
without bias from the first two samples' task gradients G1, G2 (rows g_i), plus an l2 term:
    lambda <- Proj_simplex(lambda - gamma (G1 G2^T lambda + rho lambda)),
and the model moves along the third sample's gradients with the new lambda, d = G3^T lambda.

`samples: three` (the default, Algorithm 1): the three samples are three disjoint thirds of the
step's (shuffled) batch (GRADS_SPLIT with 3 parts, each through the model again). d = G3^T lambda
is the strategy's update direction on the shared parameters, and the heads are trained on
sum_i lambda_i L_i of the third part: in the paper every parameter is x and moves along sample
3's lambda-weighted gradient. (LibMTL instead gives the heads the unweighted mean of the three
samples' gradients, and draws three whole batches per step; here a step uses one batch, as
every other method does.) Weights and plotted weights: lambda.

`samples: halves` (the earlier form, kept as an option): lambda from the batch's two halves and
the update along the whole batch's G^T lambda, applied as a weighting (total = sum_i lambda_i
L_i), so the update's sample overlaps lambda's.

A caller whose gradients are exact (hand-made, the 2-D toy) gives the same G for every sample.
grad_mode "shared" only (the samples' gradients are on the shared parameters, as in LibMTL).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from ..registry import STRATEGIES, param
from .base import GRADS_SPLIT, Combined, StepInfo, Strategy

SAMPLES_HELP = ("three: weights from two thirds of the batch, the update from the last third "
                "(the paper's Algorithm 1); halves: weights from the two halves, the update from "
                "the whole batch")


def project_simplex(y: np.ndarray) -> np.ndarray:
    """The Euclidean projection of `y` onto {x >= 0, sum x = 1} (sort and threshold: Held, Wolfe &
    Crowder 1974; Duchi et al., ICML 2008)."""
    u = np.sort(y)[::-1]
    css = np.cumsum(u)
    k = np.arange(1, y.size + 1)
    rho = int(np.flatnonzero(u - (css - 1.0) / k > 0)[-1]) + 1
    return np.clip(y - (css[rho - 1] - 1.0) / rho, 0.0, None)


def parts_for(samples: str) -> int:
    """How many parts of the batch a `samples` choice needs (GRADS_SPLIT's count)."""
    return 3 if samples == "three" else 2


def sample_gradients(info: StepInfo, parts: int, method: str) -> torch.Tensor:
    """The step's `parts` samples of the task gradients (parts x T x P, detached): GRADS_SPLIT's
    parts; a step that carries exact gradients only (grads) has them as every sample."""
    split = info.split_grads
    if split is None and info.grads is not None:
        split = info.grads.expand(parts, *info.grads.shape)
    if split is None or split.shape[0] != parts:
        got = "none" if split is None else str(split.shape[0])
        raise ValueError(f"{method} needs the gradients of {parts} parts of the batch "
                         f"(GRADS_SPLIT) but the step carries {got}")
    return split.detach()


def cross_gramian(g1: torch.Tensor, g2: torch.Tensor) -> np.ndarray:
    """G1 G2^T (T x T, host float64): the unbiased estimate of K from two independent samples."""
    return (g1 @ g2.T).to("cpu", torch.float64).numpy()


def along_last_sample(losses: torch.Tensor, info: StepInfo, split: torch.Tensor,
                      coefficients: np.ndarray) -> Combined:
    """Every parameter moves along the last sample: d = G_last^T c on the shared parameters, and
    the heads by sum_i c_i L_i of that part (the batch's losses where every part is the batch).
    Weights and plotted weights: c."""
    g = split[-1]
    d = torch.from_numpy(coefficients).to(device=g.device, dtype=g.dtype) @ g
    w = torch.from_numpy(coefficients.copy()).to(device=losses.device, dtype=losses.dtype)
    total = (w * losses).sum()
    if info.split_losses is not None:
        part = (w.to(info.split_losses.dtype) * info.split_losses[-1]).sum()
        # the gradient is the last part's (what trains the heads); the value the batch's
        # sum_i c_i L_i, as the curves' weighted losses add up to for every other method
        total = part + (total - part).detach()
    return Combined(total=total, weights=w, direction=d, shown=w)


@STRATEGIES.register(
    "modo",
    "MoDo: the simplex weights take one projected gradient step per step on the MGDA objective, "
    "its Gramian estimated from two thirds of the batch; the model moves along the last third",
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
        samples: Literal["three", "halves"] = param("three", SAMPLES_HELP)

    def setup(self) -> None:
        self.lam = np.full(self.n_tasks, 1.0 / self.n_tasks)

    def split_parts(self) -> int:
        return parts_for(self.p.samples)

    def combine(self, losses: torch.Tensor, info: StepInfo) -> Combined:
        split = sample_gradients(info, self.split_parts(), "modo")
        m = cross_gramian(split[0], split[1])
        if np.isfinite(m).all():  # a NaN loss upstream: keep lambda, let the loop report it
            self.lam = project_simplex(self.lam - self.p.gamma * (m @ self.lam
                                                                 + self.p.rho * self.lam))
        if self.p.samples == "halves":
            w = torch.from_numpy(self.lam.copy()).to(device=losses.device, dtype=losses.dtype)
            return self.weighted_sum(losses, w)
        return along_last_sample(losses, info, split, self.lam)

    def state(self) -> dict[str, Any]:
        return {"lambda": self.lam.tolist()}
