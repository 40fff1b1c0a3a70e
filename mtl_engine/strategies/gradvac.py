"""Gradient Vaccine: Wang, Tsvetkov, Firat & Cao, "Gradient Vaccine: Investigating and Improving
Multi-task Optimization in Massively Multilingual Models", ICLR 2021 (Algorithm 1, eq. 6).

Like PCGrad, but instead of only removing conflicts, each pair is pulled towards a target cosine
phi_hat_ij, an EMA of the pair's observed cosine (phi_hat <- (1 - beta) phi_hat + beta phi). When
the current cosine phi_ij falls below phi_hat_ij, g_i gains
    |g_i| (phi_hat sqrt(1 - phi^2) - phi sqrt(1 - phi_hat^2)) / (|g_j| sqrt(1 - phi_hat^2)) g_j.
The update is the sum, a combination of the original gradients, so alpha is exact; torchjd's
GradVacWeighting tracks it on the Gramian. Pair orders are random, drawn from the strategy's own
generator (`seed`), so a run is reproducible and the training's random stream is left alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torchjd.aggregation import GradVacWeighting

from ..registry import STRATEGIES, param
from ._gramian import GramianStrategy, PrivateRng


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
        self._weighting = GradVacWeighting(beta=self.p.beta)
        self._rng = PrivateRng(self.p.seed)

    def weigh(self, k: torch.Tensor, losses: torch.Tensor) -> torch.Tensor:
        return self._rng.run(self._weighting, k)
