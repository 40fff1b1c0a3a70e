"""Maximum-entropy weighting: weight each task by how unsure its predictions are.

No paper defines this rule. It weights tasks by their uncertainty as Kendall, Gal & Cipolla do
("Multi-Task Learning Using Uncertainty to Weigh Losses", CVPR 2018), who weight by the inverse of
a learnt variance instead, and measures uncertainty by predictive entropy (Shannon, "A
Mathematical Theory of Communication", Bell System Technical Journal, 1948).

Each step, from the batch's (detached) predictions,
    H_i = mean over samples of -sum_c p_ic log p_ic   (nats; p: softmax, or sigmoid if binary)
    w_i = T H_i / sum_j H_j
The rule is w_i = H_i / sum_j H_j; the factor T keeps the weights' sum at T, the scale of equal
weighting. Entropies are not divided by log C, so a task with more classes can reach a higher H.

A regression task has no predictive distribution here (the model outputs a point estimate). Its
documented stand-in is the mean entropy of the classification and binary tasks in the same batch,
so it is weighted like an average task. A run whose tasks are all regression is refused when the
strategy is built, naming the tasks.
"""

from __future__ import annotations

import torch

from ..errors import ConfigError
from ..registry import STRATEGIES
from ._loss_utils import mean_entropy, normalise, task_output
from .base import OUTPUTS, Combined, StepInfo, Strategy


@STRATEGIES.register(
    "max_entropy",
    "Max entropy: w_i = T H_i / sum_j H_j, H_i the mean predictive entropy of task i on the batch; "
    "regression tasks take the mean entropy of the others (weights sum to T)",
    paper="Predictive entropy as uncertainty (Shannon, Bell System Technical Journal 1948); "
          "uncertainty-based task weighting as in Kendall, Gal & Cipolla, CVPR 2018 (who weight "
          "by the inverse of a learnt variance)",
    family="loss",
)
class MaxEntropyWeighting(Strategy):
    requires = frozenset({OUTPUTS})

    def setup(self) -> None:
        if self.tasks and all(t.type == "regression" for t in self.tasks):
            names = ", ".join(repr(t.name) for t in self.tasks)
            raise ConfigError("strategy.name", f"max_entropy needs at least one classification or "
                                               f"binary task; {names} are regression tasks, which "
                                               "have no predictive entropy")

    def combine(self, losses: torch.Tensor, info: StepInfo) -> Combined:
        if info.outputs is None:
            raise ValueError("max_entropy needs the model outputs (OUTPUTS) every step")
        ent: list[torch.Tensor | None] = [
            None if t.type == "regression"
            else mean_entropy(task_output(info.outputs, t, "max_entropy").detach(), t)
            for t in self.tasks]
        known = [h for h in ent if h is not None]
        stand_in = torch.stack(known).mean()
        h = torch.stack([stand_in if e is None else e for e in ent]).to(losses.dtype)
        return self.weighted_sum(losses, normalise(h, float(self.n_tasks)))
