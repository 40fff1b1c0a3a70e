"""IMTL-G, gradient balance of Impartial Multi-Task Learning: Liu et al., "Towards Impartial
Multi-task Learning", ICLR 2021 (section 3.2, eq. 9-11).

IMTL-G picks the update whose projections onto every task's unit gradient are equal,
d . u_i = d . u_1 (u_i = g_i / |g_i|), with weights summing to 1. In closed form (paper):
alpha_{2..T} = g_1 U^T (D U^T)^-1 with U_i = u_1 - u_i, D_i = g_1 - g_i, alpha_1 = 1 - sum. On the
Gramian this is alpha proportional to K^+ sqrt(diag K), normalised to sum 1, which torchjd's
IMTLGWeighting computes (the pseudo-inverse also covers linearly dependent gradients).
"""

from __future__ import annotations

import torch
from torchjd.aggregation import IMTLGWeighting

from ..registry import STRATEGIES
from ._gramian import GramianStrategy


@STRATEGIES.register(
    "imtl_g",
    "IMTL-G: the update with equal projections on every task's unit gradient (weights sum to 1)",
    paper="Liu et al., ICLR 2021",
    family="gradient",
    grad_modes=("shared", "representation"),
)
class IMTLG(GramianStrategy):
    label = "imtl_g"

    def setup(self) -> None:
        self._weighting = IMTLGWeighting()

    def weigh(self, k: torch.Tensor, losses: torch.Tensor) -> torch.Tensor:
        return self._weighting(k)
