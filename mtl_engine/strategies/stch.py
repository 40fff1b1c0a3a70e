"""Smooth Tchebycheff scalarisation (STCH): Lin, Zhang, Yang, Liu, Wang & Zhang, "Smooth
Tchebycheff Scalarization for Multi-Objective Optimization", ICML 2024 (the smooth Tchebycheff
function mu log sum_i exp(lambda_i (f_i - z_i) / mu), in its multi-task form on log losses).

    total = T mu logsumexp_i( log(L_i / z_i) / mu )

The warm-up and the reference point z follow the authors' code (github.com/Xi-L/STCH, STCH_MTL,
LibMTL/weighting/STCH.py, as LibMTL ships it), with 0-based epochs e and W = `warmup_epochs`:

* e < W (warm-up): total = sum_i log L_i;
* e = W (recording): total = sum_i log L_i still, and every step's per-task batch losses are
  added up; z is their mean over that epoch's steps;
* e > W: STCH with that z, fixed for the rest of the run.

So the first STCH step comes in epoch W + 1 (the 6th epoch with the default W = 4; W = 0 records
during the first epoch). Small mu approaches T times the max over tasks of log(L_i / z_i) (the
classic Tchebycheff scalarisation); large mu approaches, up to a constant, T log of the geometric
mean of L_i / z_i. Reported weights are the effective d total / d L_i: 1 / L_i before STCH, then
T softmax_i(log(L / z) / mu) / L_i.

The authors' code adds 1e-20 inside each log; here losses are floored at 1e-12 instead (the
same for any loss above 1e-12).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ..registry import STRATEGIES, param
from ._loss_utils import TINY
from .base import Combined, StepInfo, Strategy


@STRATEGIES.register(
    "stch",
    "Smooth Tchebycheff: total = T mu logsumexp(log(L_i / z_i) / mu) after warm-up epochs on "
    "sum log L_i and one more that records the reference point z (weights: d total / d L_i)",
    paper="Lin et al., ICML 2024",
    family="loss",
)
class SmoothTchebycheff(Strategy):
    @dataclass(frozen=True)
    class Params:
        mu: float = param(1.0, "smoothing: small values approach the max over tasks",
                          low=1e-3, high=100.0)
        warmup_epochs: int = param(4, "epochs on sum log L_i before the one (also on sum log "
                                   "L_i) whose mean batch losses become z; STCH starts after "
                                   "it (authors' code)", low=0, high=1000)

    def setup(self) -> None:
        self.z: torch.Tensor | None = None
        self._sum: torch.Tensor | None = None  # the recording epoch's summed batch losses
        self._count = 0

    def combine(self, losses: torch.Tensor, info: StepInfo) -> Combined:
        safe = losses.clamp_min(TINY)
        warm = self.p.warmup_epochs
        if self.z is None and info.epoch > warm and self._count:
            self.z = (self._sum / self._count).clamp_min(TINY)  # type: ignore[operator]
        if self.z is None:
            if info.epoch >= warm:  # the recording epoch (or a run that skipped it: go on)
                batch = losses.detach()
                self._sum = batch if self._sum is None else self._sum + batch
                self._count += 1
            return Combined(total=torch.log(safe).sum(), weights=(1.0 / safe).detach())
        mu = self.p.mu
        r = torch.log(safe / self.z.to(device=losses.device, dtype=losses.dtype)) / mu
        total = self.n_tasks * mu * torch.logsumexp(r, dim=0)
        weights = (self.n_tasks * torch.softmax(r, dim=0) / safe).detach()
        return Combined(total=total, weights=weights)

    def state(self) -> dict[str, Any]:
        return {"z": None if self.z is None else self.z.cpu().tolist()}
