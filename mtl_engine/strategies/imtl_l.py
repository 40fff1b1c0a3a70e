"""IMTL-L, the loss-balance half of Impartial Multi-Task Learning: Liu et al., "Towards Impartial
Multi-task Learning", ICLR 2021 (the loss-balance objective, written out below).

Each task has a learnable scale s_i (init 0) trained with the model:
    total = sum_i exp(s_i) L_i - s_i
whose minimiser in s_i makes every scaled loss exp(s_i) L_i equal to 1. The reported weight is
exp(s_i) (= d total / d L_i); the weights are free and need not sum to anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ..registry import STRATEGIES, param
from .base import Combined, StepInfo, Strategy


@STRATEGIES.register(
    "imtl_l",
    "IMTL-L: learnable scales s_i, total = sum_i exp(s_i) L_i - s_i, weight exp(s_i) "
    "(weights are free, no fixed sum)",
    paper="Liu et al., ICLR 2021 (IMTL, loss balance IMTL-L)",
    family="loss",
)
class IMTLLoss(Strategy):
    @dataclass(frozen=True)
    class Params:
        init_s: float = param(0.0, "initial log-scale s_i of every task (0 gives weight 1)",
                              low=-10.0, high=10.0)

    def setup(self) -> None:
        self.log_scale = torch.nn.Parameter(torch.full((self.n_tasks,), self.p.init_s,
                                                       device=self.device))

    def parameters(self) -> list[torch.nn.Parameter]:
        return [self.log_scale]

    def combine(self, losses: torch.Tensor, info: StepInfo) -> Combined:
        scale = torch.exp(self.log_scale)
        total = (scale * losses - self.log_scale).sum()
        return Combined(total=total, weights=scale.detach())

    def state(self) -> dict[str, Any]:
        return {"log_scale": self.log_scale.detach().cpu().tolist()}
