"""DualProj: Quinton & Rey, "Jacobian Descent for Multi-Objective Optimization", 2024
(arXiv:2406.16232; the projection of eq. 11 of Lopez-Paz & Ranzato, GEM, NeurIPS 2017).

The mean gradient (or a preference-weighted combination) is projected onto the dual cone of the
task gradients, so the update conflicts with no task. Same projection and parameters as UPGrad
(upgrad.py), applied once to the combination instead of to every gradient.
"""

from __future__ import annotations

import torch
from torchjd.aggregation import DualProjWeighting

from ..registry import STRATEGIES
from ._gramian import GramianStrategy
from .upgrad import UPGrad, pref_vector, projector


@STRATEGIES.register(
    "dualproj",
    "DualProj: the mean gradient projected onto the cone of non-conflicting directions",
    paper="Quinton & Rey, Jacobian Descent for Multi-Objective Optimization, arXiv:2406.16232, "
          "2024; the projection of GEM (Lopez-Paz & Ranzato, NeurIPS 2017)",
    family="gradient",
    grad_modes=("shared", "representation"),
    conflict_tol=2e-3,  # as UPGrad: the ridge of reg_eps
)
class DualProj(GramianStrategy):
    label = "dualproj"
    Params = UPGrad.Params

    def setup(self) -> None:
        self._weighting = DualProjWeighting(pref_vector(self), projector=projector(self))

    def weigh(self, k: torch.Tensor, losses: torch.Tensor) -> torch.Tensor:
        return self._weighting(k)
