"""Bayesian (MC-dropout) uncertainty weighting, with the predictive variance of Monte-Carlo dropout
(Gal & Ghahramani, "Dropout as a Bayesian Approximation", ICML 2016).

No paper weights tasks by this variance: the idea of weighting tasks by their uncertainty is
Kendall, Gal & Cipolla's ("Multi-Task Learning Using Uncertainty to Weigh Losses", CVPR 2018),
who weight by the inverse of a learnt variance instead.

Every `every` steps the loop runs `passes` stochastic forward passes of the batch with dropout
active; for each task
    v_i = mean over samples of the variance across passes of the prediction
(class probabilities for classification/binary tasks, summed over classes; predicted values for
regression, so in the targets' units) and w_i = T v_i / sum_j v_j: weights sum to T. The weights are
1 until the first measurement (which is the first step) and are reused between measurements.

Without a dropout layer every pass is identical and the variance is 0: the first measurement then
raises a ConfigError asking for one (checked once, so later steps never wait on the device).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ..errors import ConfigError
from ..registry import STRATEGIES, param
from ._loss_utils import normalise, predictive_variance, task_output
from .base import MC_OUTPUTS, Combined, StepInfo, Strategy


@STRATEGIES.register(
    "bayesian_uncertainty",
    "Bayesian uncertainty: w_i = T v_i / sum_j v_j, v_i the MC-dropout predictive variance of "
    "task i over several stochastic passes, refreshed every few steps (weights sum to T; "
    "needs a dropout layer)",
    paper="MC-dropout predictive variance: Gal & Ghahramani, ICML 2016; weighting tasks by "
          "uncertainty as in Kendall, Gal & Cipolla, CVPR 2018 (who weight by the inverse of a "
          "learnt variance)",
    family="loss",
)
class BayesianUncertaintyWeighting(Strategy):
    requires = frozenset({MC_OUTPUTS})

    @dataclass(frozen=True)
    class Params:
        passes: int = param(8, "stochastic forward passes per measurement", low=2, high=256)
        every: int = param(10, "steps between measurements; weights are reused in between",
                           low=1, high=100_000)

    def setup(self) -> None:
        self._w = self.ones()
        self._next: int | None = None  # step of the next measurement; None: the first step seen
        self._checked = False

    def wants(self, step: int) -> frozenset[str]:
        due = self._next is None or step >= self._next
        return self.requires if due else frozenset()

    def mc_passes(self) -> int:
        return self.p.passes

    def combine(self, losses: torch.Tensor, info: StepInfo) -> Combined:
        if info.mc_outputs:
            self._measure(info.mc_outputs)
            self._next = info.step + self.p.every
        return self.weighted_sum(losses, self._w.to(losses.dtype))

    def _measure(self, passes: list[dict[str, torch.Tensor]]) -> None:
        v = torch.stack([
            predictive_variance([task_output(p, t, "bayesian_uncertainty") for p in passes], t)
            for t in self.tasks]).detach().float()
        if not self._checked:
            self._checked = True
            if not bool((v > 0).any()):  # one host sync, at the first measurement only
                raise ConfigError("strategy.name", f"bayesian_uncertainty needs a dropout layer in "
                                  f"the model: its {len(passes)} Monte-Carlo passes gave identical "
                                  "outputs, so every predictive variance is 0 (add a dropout layer "
                                  "to the trunk or heads)")
        self._w = normalise(v, float(self.n_tasks))

    def state(self) -> dict[str, Any]:
        return {"weights": self._w.cpu().tolist()}
