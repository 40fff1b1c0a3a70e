"""Gradient normalisation weighting: w_i = |g_i| / sum_j |g_j|.

No paper defines this closed form: it balances gradient norms in the spirit of GradNorm (Chen,
Badrinarayanan, Lee & Rabinovich, ICML 2018) without GradNorm's learnt weights and target rates.

Each task's loss is weighted by its share of the total gradient norm (taken on the shared
parameters, or on the shared representation with grad_mode "representation"), so the weights sum
to 1. The norms come from the Gramian's diagonal and the weights are computed on the device,
without waiting for the host.
"""

from __future__ import annotations

import torch

from ..registry import STRATEGIES
from ._gramian import gramian_of
from .base import GRADS, Combined, StepInfo, Strategy


@STRATEGIES.register(
    "gradient_normalisation",
    "Gradient normalisation: w_i = |g_i| / sum_j |g_j| (weights sum to 1)",
    paper="Gradient-norm balancing in the spirit of GradNorm (Chen et al., ICML 2018); this "
          "closed form, without GradNorm's learnt target, is not from a paper",
    family="gradient",
    grad_modes=("shared", "representation"),
)
class GradientNormalisation(Strategy):
    requires = frozenset({GRADS})

    def combine(self, losses: torch.Tensor, info: StepInfo) -> Combined:
        norms = gramian_of(info, "gradient_normalisation").detach().diagonal().clamp_min(0).sqrt()
        norms = norms.to(losses.dtype)
        total = norms.sum()
        equal = torch.full_like(norms, 1.0 / self.n_tasks)
        return self.weighted_sum(losses, torch.where(total > 0, norms / total.clamp_min(1e-30),
                                                     equal))
