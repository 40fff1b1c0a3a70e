"""Gradient Vaccine: Wang, Tsvetkov, Firat & Cao, "Gradient Vaccine: Investigating and Improving
Multi-task Optimization in Massively Multilingual Models", ICLR 2021 (Algorithm 1, eq. 2-3).

Like PCGrad, but instead of only removing conflicts, each pair is pulled towards a target cosine
phi_hat_ij, an EMA of the pair's observed cosine. Algorithm 1, for every task i: g_i' starts as
g_i; for each other task j, in a random order, phi_ij = cos(g_i', g_j) (the modified g_i', the
original g_j); when phi_ij < phi_hat_ij,
    g_i' <- g_i' + |g_i'| (phi_hat sqrt(1 - phi^2) - phi sqrt(1 - phi_hat^2))
                   / (|g_j| sqrt(1 - phi_hat^2)) g_j,
which makes cos(g_i', g_j) = phi_hat exactly; then, whether or not it did,
phi_hat_ij <- (1 - beta) phi_hat_ij + beta phi_ij (phi_hat starts at 0, so the first step is
PCGrad's projection). The update is sum_i g_i', a combination of the original gradients, so it is
tracked as coefficients on the Gramian (g_i' = sum_k c_ik g_k: g_i' . g_j = (K c_i)_j) and alpha
is exact.

Unlike torchjd's and LibMTL's ports, no eps (1e-8) is added to |g_i'| |g_j| or to the
denominator: that constant is absolute, so it changes the cosines of small gradients (norms 1e-4
give a product of 1e-8: the cosine halves) and the method would depend on the loss scale. Where
the formula is undefined we say what we do: a zero g_i' or g_j has no cosine (taken as 0, the
limit of those ports' eps, and nothing is added); phi_hat = 1 exactly asks for a cosine of 1,
reachable only at infinity, so that pair is left as it is (both once per run in a Warned event).

The task orders are drawn from the strategy's own numpy generator (`seed`), so a run is
reproducible and the training's random stream is left alone; `orders` keeps the last step's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..registry import STRATEGIES, param
from ._gramian import GramianStrategy, tensor

ZERO_NOTE = ("gradvac: a task gradient (or a task's vaccinated gradient) is zero, so its cosine "
             "is undefined; took it as 0 and added nothing for that pair")
ONE_NOTE = ("gradvac: a target cosine reached exactly 1, which the vaccine formula can meet "
            "only with an infinite step; left that pair as it was this step")


@STRATEGIES.register(
    "gradvac",
    "GradVac: pull each pair of task gradients towards its running-average cosine, then sum",
    paper="Wang et al., ICLR 2021",
    family="gradient",
    grad_modes=("shared", "representation"),
    order_invariant=False,
)
class GradVac(GramianStrategy):
    label = "gradvac"

    @dataclass(frozen=True)
    class Params:
        beta: float = param(0.5, "EMA rate of the target cosines", low=0.0, high=1.0)
        seed: int = param(0, "seed of the random pair orders", low=0)

    def setup(self) -> None:
        self._rng = np.random.default_rng(self.p.seed)
        self._target = np.zeros((self.n_tasks, self.n_tasks))  # phi_hat, starting at 0
        self.orders: list[list[int]] = []  # the order of the j's for each i, last step

    def weigh(self, k: torch.Tensor, losses: torch.Tensor) -> torch.Tensor:
        gram = k.numpy()
        t = self.n_tasks
        beta = self.p.beta
        norms = np.sqrt(np.clip(np.diag(gram), 0.0, None))
        coef = np.eye(t)  # row i: g_i' on the original gradients
        notes: list[str] = []
        self.orders = []
        for i in range(t):
            order = [int(j) for j in self._rng.permutation([j for j in range(t) if j != i])]
            self.orders.append(order)
            c = coef[i]
            dots = gram @ c  # g_i' . g_j for every j
            for j in order:
                norm_i = math.sqrt(max(float(c @ dots), 0.0))
                if norm_i > 0 and norms[j] > 0:
                    cos = min(max(float(dots[j]) / (norm_i * norms[j]), -1.0), 1.0)
                else:
                    cos = 0.0
                    notes.append(ZERO_NOTE)
                target = float(self._target[i, j])
                if cos < target and norm_i > 0 and norms[j] > 0:
                    off = math.sqrt(max(1.0 - target * target, 0.0))
                    if off == 0.0:
                        notes.append(ONE_NOTE)
                    else:
                        w = norm_i * (target * math.sqrt(max(1.0 - cos * cos, 0.0)) - cos * off) \
                            / (norms[j] * off)
                        c[j] += w
                        dots += w * gram[:, j]
                self._target[i, j] = (1.0 - beta) * target + beta * cos
        self.note(*notes)
        return tensor(coef.sum(axis=0))
