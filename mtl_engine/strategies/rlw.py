"""Random Loss Weighting (RLW): Lin et al., "Reasonable Effectiveness of Random Weighting: A Litmus
Test for Multi-Task Learning", TMLR 2022 (RLW with weights sampled from a standard normal and
normalised by a softmax).

Every step draws z ~ N(0, I_T) and uses w = softmax(z), so the weights sum to 1 as in the paper.
The draws come from the strategy's own torch.Generator, so they neither disturb nor depend on the
model's random stream. Its seed is the `seed` parameter, or, when that is left empty, the seed the
run gave torch.manual_seed (training.seed): a run is reproducible either way.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..registry import STRATEGIES, param
from .base import Combined, StepInfo, Strategy

# Offset from the run seed so the weights are not the very numbers the model was initialised from.
_SEED_OFFSET = 7919


@STRATEGIES.register(
    "rlw",
    "Random loss weighting: w = softmax(z), z ~ N(0, I) drawn afresh each step "
    "(weights sum to 1)",
    paper="Lin et al., TMLR 2022",
    family="loss",
    order_invariant=False,  # the i-th draw goes to the i-th task, whichever task that is
)
class RandomLossWeighting(Strategy):
    @dataclass(frozen=True)
    class Params:
        seed: int | None = param(None, "seed of the weight draws; empty: derived from the run's "
                                 "training.seed", low=0)

    def setup(self) -> None:
        seed = self.p.seed
        if seed is None:
            seed = torch.initial_seed() + _SEED_OFFSET
        self._gen = torch.Generator(device=self.device)
        self._gen.manual_seed(int(seed) % (2**63))

    def combine(self, losses: torch.Tensor, info: StepInfo) -> Combined:
        z = torch.randn(self.n_tasks, generator=self._gen, device=self.device, dtype=losses.dtype)
        return self.weighted_sum(losses, torch.softmax(z, dim=0))
