"""MoCo, multi-objective gradient correction: Fernando, Shen, Liu, Chaudhury, Murugesan & Chen,
"Mitigating Gradient Bias in Multi-objective Learning: A Provably Convergent Approach", ICLR 2023
(Algorithm 1).

MGDA's weights computed from one batch's gradients are biased; MoCo tracks each task's gradient
instead and takes MGDA's simplex weights by gradient steps on the tracked Gramian. Each step t =
1, 2, ... with the current per-task gradients h_i on the shared parameters:
    y_i    <- y_i - beta_t (y_i - h_i),                        beta_t  = beta / t^beta_sigma
    lambda <- Pi_simplex(lambda - gamma_t (Y Y^T + rho I) lambda),  gamma_t = gamma / t^gamma_sigma
    d       = Y^T lambda,
starting from y_i = 0 and lambda = 1/T. d is the strategy's update direction on the shared
parameters; the heads are trained on sum_i L_i (weights 1, as LibMTL does: the paper's problem
has no task-specific parameters), and the GUI plots lambda (`Combined.shown`).

Deliberate choices, each a parameter (the paper's form by default):
- `simplex: projection` is the Euclidean projection onto the simplex of Algorithm 1; `softmax`
  replaces it by softmax(lambda - gamma_t ...), as LibMTL's MoCo (after the authors' code) does.
- `gradients: raw` tracks the gradients themselves; `normalised` tracks h_i / |h_i| * L_i, as
  LibMTL (and the authors' experiment code) does.
- The projection of y_i onto a ball of radius L_i (the Lipschitz bound of the analysis) is left
  out, as in both codes: the bound is unknown in practice.
The defaults of beta, gamma, their decays and rho are LibMTL's (from the authors' code).

The tracked gradients live on the device, T x P, and compare parameters from step to step, so MoCo
needs grad_mode "shared".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from ..errors import ConfigError
from ..registry import STRATEGIES, param
from .base import GRADS, Combined, StepInfo, Strategy

_EPS = 1e-8  # the norms' floor for `gradients: normalised` (LibMTL's)


def project_simplex(v: torch.Tensor) -> torch.Tensor:
    """The Euclidean projection of `v` (T,) onto {x >= 0, sum x = 1}, by sorting (Held, Wolfe &
    Crowder 1974; Duchi et al., ICML 2008, Figure 1): x = max(v - tau, 0) with tau the one
    threshold that leaves a sum of 1."""
    u, _ = torch.sort(v, descending=True)
    cumulative = torch.cumsum(u, 0) - 1.0
    index = torch.arange(1, v.numel() + 1, dtype=v.dtype, device=v.device)
    rho = int(torch.nonzero(u - cumulative / index > 0).max())
    tau = cumulative[rho] / (rho + 1)
    return torch.clamp(v - tau, min=0.0)


@STRATEGIES.register(
    "moco",
    "MoCo: MGDA-style simplex weights by gradient steps on tracked (averaged) task gradients",
    paper="Fernando, Shen, Liu, Chaudhury, Murugesan & Chen, Mitigating Gradient Bias in "
          "Multi-objective Learning: A Provably Convergent Approach, ICLR 2023",
    family="gradient",
    grad_modes=("shared",),
)
class MoCo(Strategy):
    requires = frozenset({GRADS})

    @dataclass(frozen=True)
    class Params:
        beta: float = param(0.5, "step of the gradient tracking y <- y - beta_t (y - g)",
                            low=0.0, high=1.0)
        beta_sigma: float = param(0.5, "decay of beta with the step: beta / t^beta_sigma",
                                  low=0.0, high=5.0)
        gamma: float = param(0.1, "step of the weights lambda on the tracked Gramian", low=0.0)
        gamma_sigma: float = param(0.5, "decay of gamma with the step: gamma / t^gamma_sigma",
                                   low=0.0, high=5.0)
        rho: float = param(0.0, "ridge on the tracked Gramian in lambda's step (Y Y^T + rho I)",
                           low=0.0)
        simplex: Literal["projection", "softmax"] = param(
            "projection", "how lambda is kept on the simplex: Euclidean projection (the paper) "
            "or a softmax (LibMTL)")
        gradients: Literal["raw", "normalised"] = param(
            "raw", "what is tracked: the gradients (the paper) or g / |g| * L (LibMTL)")

    def setup(self) -> None:
        self._y: torch.Tensor | None = None
        self._lambda = torch.full((self.n_tasks,), 1.0 / self.n_tasks, dtype=torch.float64)
        self._t = 0

    def combine(self, losses: torch.Tensor, info: StepInfo) -> Combined:
        if info.grads is None:
            raise ValueError("moco needs per-task gradients (GRADS) but the step carries none")
        g = info.grads.detach()
        if self.p.gradients == "normalised":
            norms = g.norm(dim=1, keepdim=True)
            g = g / (norms + _EPS) * losses.detach()[:, None].to(g.dtype)
        if self._y is None:
            self._y = torch.zeros_like(g)
        elif self._y.shape != g.shape:
            raise ConfigError("strategy.grad_mode", "moco tracks each task's gradient over steps, "
                              "which needs grad_mode 'shared' (the representation changes with "
                              "every batch)")
        self._t += 1
        beta = self.p.beta / self._t ** self.p.beta_sigma
        gamma = self.p.gamma / self._t ** self.p.gamma_sigma
        self._y = self._y - beta * (self._y - g)
        k = (self._y @ self._y.T).to("cpu", torch.float64)
        k = k + self.p.rho * torch.eye(self.n_tasks, dtype=torch.float64)
        step = self._lambda - gamma * (k @ self._lambda)
        self._lambda = (project_simplex(step) if self.p.simplex == "projection"
                        else torch.softmax(step, 0))
        lam = self._lambda.to(device=self._y.device, dtype=self._y.dtype)
        return Combined(total=losses.sum(), weights=torch.ones_like(losses.detach()),
                        direction=lam @ self._y, shown=lam.to(losses.dtype))

    def state(self) -> dict[str, list[float]]:
        return {"lambda": self._lambda.tolist()}
