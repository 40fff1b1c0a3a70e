"""Fast Adaptive Multitask Optimization (FAMO): Liu, Feng, Stone & Liu, NeurIPS 2023 (Algorithm 1).

Task logits xi (init 0) give z = softmax(xi). Each step back-propagates
    total = sum_i z_i log(D_i) / c,   D_i = L_i - L_i^min + eps,   c = sum_i z_i / D_i (detached)
so the update is a convex combination of the task gradients with effective weights
d total / d L_i = (z_i / D_i) / c, which sum to 1 (these are reported).
After the optimiser step, with the same batch's new losses, xi moves so as to favour the tasks whose
log-loss fell least:
    delta = log D_old - log D_new,   grad_xi = J_softmax(xi)^T delta = z * (delta - z . delta)
and xi takes one Adam step (lr `w_lr`, L2 weight decay `gamma`, as torch's Adam applies it).
L^min = 0 (losses here are non-negative). The Adam on xi is the strategy's own: xi is not a model
parameter and the training optimiser never sees it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ..registry import STRATEGIES, param
from .base import LOSSES_AFTER, Combined, StepInfo, Strategy

_EPS = 1e-8  # keeps log D finite when a loss reaches its minimum
_BETAS = (0.9, 0.999)
_ADAM_EPS = 1e-8


@STRATEGIES.register(
    "famo",
    "FAMO: softmax task logits updated after each step so every task's log-loss falls at a "
    "similar rate; O(1) extra cost per step (effective weights sum to 1)",
    paper="Liu, Feng, Stone & Liu, NeurIPS 2023",
    family="loss",
    toy_scale_l1=0.1,  # the FAMO paper's toy, as Nash-MTL's
    toy_params={"gamma": 0.0},  # "the objective is not changing", its toy run script says
)
class FAMO(Strategy):
    requires = frozenset({LOSSES_AFTER})

    @dataclass(frozen=True)
    class Params:
        w_lr: float = param(0.025, "Adam learning rate of the task logits xi", low=0.0, high=10.0)
        gamma: float = param(1e-3, "weight decay (L2) on the task logits xi", low=0.0, high=1.0)

    def setup(self) -> None:
        t = self.n_tasks
        self.xi = torch.zeros(t, device=self.device)
        self._m = torch.zeros(t, device=self.device)
        self._v = torch.zeros(t, device=self.device)
        self._t = 0
        self._prev: torch.Tensor | None = None

    def combine(self, losses: torch.Tensor, info: StepInfo) -> Combined:
        z = torch.softmax(self.xi, dim=0).to(losses.dtype)
        d = (losses + _EPS).clamp_min(_EPS)
        ratio = (z / d).detach()
        c = ratio.sum()
        total = (z * torch.log(d)).sum() / c
        self._prev = losses.detach()
        return Combined(total=total, weights=ratio / c)

    def after_step(self, losses_after: torch.Tensor | None, info: StepInfo) -> None:
        if losses_after is None or self._prev is None:
            raise ValueError("famo needs the same batch's losses after the optimiser step "
                             "(LOSSES_AFTER) and a combine() before after_step()")
        old = torch.log((self._prev + _EPS).clamp_min(_EPS))
        new = torch.log((losses_after.detach() + _EPS).clamp_min(_EPS))
        self.adam_step(old - new)

    def adam_step(self, delta: torch.Tensor) -> None:
        """One Adam step on xi for the loss-decrease vector `delta` (what after_step applies)."""
        z = torch.softmax(self.xi, dim=0)
        delta = delta.to(self.xi.dtype)
        grad = z * (delta - (z * delta).sum()) + self.p.gamma * self.xi
        b1, b2 = _BETAS
        self._t += 1
        self._m.mul_(b1).add_(grad, alpha=1 - b1)
        self._v.mul_(b2).addcmul_(grad, grad, value=1 - b2)
        m_hat = self._m / (1 - b1**self._t)
        v_hat = self._v / (1 - b2**self._t)
        self.xi.sub_(self.p.w_lr * m_hat / (v_hat.sqrt() + _ADAM_EPS))

    def state(self) -> dict[str, Any]:
        return {"xi": self.xi.cpu().tolist()}
