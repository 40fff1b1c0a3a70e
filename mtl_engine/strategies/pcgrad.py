"""PCGrad, "gradient surgery": Yu et al., "Gradient Surgery for Multi-Task Learning", NeurIPS 2020
(Algorithm 1).

For each task i, the other tasks j are visited in a random order; whenever the (already projected)
g_i conflicts with g_j (g_i . g_j < 0), g_i loses its component along g_j:
    g_i <- g_i - (g_i . g_j / |g_j|^2) g_j.
The update is the sum of the projected gradients. Every projected gradient stays a combination of
the original ones, so d = sum_i alpha_i g_i exactly; torchjd's PCGradWeighting tracks alpha on the
Gramian. Without conflicts nothing is projected and alpha = 1 (plain summation).

The random orders come from a generator of the strategy's own, seeded by `seed`: the same seed
gives the same orders, and the training's own random stream is not disturbed.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torchjd.aggregation import PCGradWeighting

from ..registry import STRATEGIES, param
from ._gramian import GramianStrategy, PrivateRng


@STRATEGIES.register(
    "pcgrad",
    "PCGrad: project each task gradient off the gradients it conflicts with, in random order, "
    "then sum (weights sum to about T)",
    paper="Yu et al., NeurIPS 2020",
    family="gradient",
    grad_modes=("shared", "representation"),
    order_invariant=False,
)
class PCGrad(GramianStrategy):
    label = "pcgrad"

    @dataclass(frozen=True)
    class Params:
        seed: int = param(0, "seed of the random task orders (same seed, same orders)", low=0)

    def setup(self) -> None:
        self._weighting = PCGradWeighting()
        self._rng = PrivateRng(self.p.seed)

    def weigh(self, k: torch.Tensor, losses: torch.Tensor) -> torch.Tensor:
        return self._rng.run(self._weighting, k)
