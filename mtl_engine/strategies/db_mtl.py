"""DB-MTL, dual balancing: Lin, Ye, Xu, Zhang & Kwok, "Dual-Balancing for Multi-Task Learning",
2023 (arXiv:2308.12029, section 3, Algorithm 1).

Loss-scale balancing: each task is trained on log(L_i + eps), whose gradient is g_i / (L_i + eps).
Gradient-magnitude balancing: an exponential moving average of each task's log-loss gradient on
the shared parameters, starting at h_i = 0 with t = 1, 2, ...,
    h_i <- (1 - beta_t) g_i / (L_i + eps) + beta_t h_i,   beta_t = beta / t^beta_sigma,
sets how much each one is scaled, a_i = max_j |h_j| / (|h_i| + eps), so every task pulls as hard
as the strongest. Algorithm 1 (`direction: averages`, the default) steps the shared parameters
along the scaled averages themselves,
    d = sum_i a_i h_i,
returned as the strategy's update direction (the first step is (1 - beta) times the current
log-loss gradients, then the averages carry momentum); the task-specific parameters (heads) are
trained on sum_i log(L_i + eps), as in the paper and LibMTL, so the weights reported as d total /
d L_i are 1 / (L_i + eps), and the GUI plots a_i (`Combined.shown`).

`direction: current` is the variant this project shipped first: the same a_i scale the current
log-loss gradients, d = sum_i a_i g_i / (L_i + eps), a weighted sum with alpha_i = a_i / (L_i +
eps) reported and plotted as the weights (shared parameters and heads alike).

The averages live on the device, T x P. They compare gradients from step to step, so DB-MTL needs
grad_mode "shared": the shared representation belongs to a different batch at each step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from ..errors import ConfigError
from ..registry import STRATEGIES, param
from .base import GRADS, Combined, StepInfo, Strategy

_EPS = 1e-8  # as in the paper's code: log(L + eps), and the norms' floor


@STRATEGIES.register(
    "db_mtl",
    "DB-MTL: log-losses, each running-average gradient scaled up to the largest one's norm",
    paper="Lin, Ye, Xu, Zhang & Kwok, Dual-Balancing for Multi-Task Learning, arXiv:2308.12029, "
          "2023",
    family="gradient",
    grad_modes=("shared",),
)
class DBMTL(Strategy):
    requires = frozenset({GRADS})

    @dataclass(frozen=True)
    class Params:
        beta: float = param(0.9, "EMA rate of the gradient averages", low=0.0, high=1.0)
        beta_sigma: float = param(0.0, "decay of beta with the step: beta / t^beta_sigma",
                                  low=0.0, high=5.0)
        direction: Literal["averages", "current"] = param(
            "averages", "what the scales a_i multiply: the running averages (the paper's "
            "Algorithm 1) or the current log-loss gradients (a weighted sum)")

    def setup(self) -> None:
        self._avg: torch.Tensor | None = None
        self._t = 0

    def combine(self, losses: torch.Tensor, info: StepInfo) -> Combined:
        if info.grads is None:
            raise ValueError("db_mtl needs per-task gradients (GRADS) but the step carries none")
        current = losses.detach()
        scaled = info.grads.detach() / (current + _EPS)[:, None].to(info.grads.dtype)
        if self._avg is None:
            self._avg = torch.zeros_like(scaled)
        elif self._avg.shape != scaled.shape:
            raise ConfigError("strategy.grad_mode", "db_mtl averages each task's gradient over "
                              "steps, which needs grad_mode 'shared' (the representation "
                              "changes with every batch)")
        self._t += 1
        beta = self.p.beta / self._t ** self.p.beta_sigma
        self._avg = scaled + beta * (self._avg - scaled)
        norms = self._avg.norm(dim=1)
        a = norms.max() / (norms + _EPS)
        if self.p.direction == "current":
            return self.weighted_sum(losses, (a / (current + _EPS)).to(losses.dtype))
        log_losses = torch.log(losses + _EPS)
        return Combined(total=log_losses.sum(), weights=(1.0 / (current + _EPS)),
                        direction=a @ self._avg, shown=a.to(losses.dtype))
