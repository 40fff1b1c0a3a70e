"""Smooth Tchebycheff scalarisation (STCH): Lin, Zhang, Yang, Liu, Wang & Zhang, "Smooth
Tchebycheff Scalarization for Multi-Objective Optimization", ICML 2024 (the smooth Tchebycheff
function mu log sum_i exp(lambda_i (f_i - z_i) / mu), in its multi-task form on log losses).

    total = T mu logsumexp_i( log(L_i / z_i) / mu )

z is the reference point: each task's mean training loss over the last warm-up epoch. During the
`warmup_epochs` warm-up epochs the strategy trains with equal weights (total = sum_i L_i) while that
point is recorded; with no warm-up, z = 1. Small mu approaches T times the max over tasks of
log(L_i / z_i) (the classic Tchebycheff scalarisation); large mu approaches, up to a constant, T log
of the geometric mean of L_i / z_i. Reported weights are the effective
d total / d L_i = T softmax_i(log(L / z) / mu) / L_i (no fixed sum after the warm-up; 1 each, sum T,
during it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ..registry import STRATEGIES, param
from ._loss_utils import TINY, as_tensor
from .base import Combined, EpochStats, StepInfo, Strategy


@STRATEGIES.register(
    "stch",
    "Smooth Tchebycheff: total = T mu logsumexp(log(L_i / z_i) / mu) after equal-weight warm-up "
    "epochs that record the reference point z (weights are the effective d total / d L_i)",
    paper="Lin et al., ICML 2024",
    family="loss",
)
class SmoothTchebycheff(Strategy):
    @dataclass(frozen=True)
    class Params:
        mu: float = param(1.0, "smoothing: small values approach the max over tasks",
                          low=1e-3, high=100.0)
        warmup_epochs: int = param(4, "equal-weight epochs before STCH; the last one's mean "
                                   "losses become z (0: no warm-up, z = 1)", low=0, high=1000)

    def setup(self) -> None:
        self._ones = self.ones()
        self.z: torch.Tensor | None = None if self.p.warmup_epochs > 0 else self.ones()

    def combine(self, losses: torch.Tensor, info: StepInfo) -> Combined:
        if self.z is None:
            return self.weighted_sum(losses, self._ones.to(losses.dtype))
        mu = self.p.mu
        safe = losses.clamp_min(TINY)
        r = torch.log(safe / self.z.to(losses.dtype)) / mu
        total = self.n_tasks * mu * torch.logsumexp(r, dim=0)
        weights = (self.n_tasks * torch.softmax(r, dim=0) / safe).detach()
        return Combined(total=total, weights=weights)

    def end_epoch(self, stats: EpochStats) -> None:
        if stats.epoch == self.p.warmup_epochs:
            self.z = as_tensor(stats.train_loss, self.device).clamp_min(TINY)

    def state(self) -> dict[str, Any]:
        return {"z": None if self.z is None else self.z.cpu().tolist()}
