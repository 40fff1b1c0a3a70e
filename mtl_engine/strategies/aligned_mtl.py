"""Aligned-MTL: Senushkin, Patakin, Kuznetsov & Konushin, "Independent Component Alignment for
Multi-Task Learning", CVPR 2023 (Algorithm 1).

Aligned-MTL makes the linear system of task gradients well conditioned before summing them: with
K = V S V^T (rank r), the balance transformation B = sqrt(s_scale) V S^-1/2 V^T turns G into G B
whose non-zero singular values are all sqrt(s_scale), and the update is d = sum_i alpha_i g_i with
alpha = B 1. s_scale is the smallest kept eigenvalue ("min", the paper's choice), the median, or
the mean ("rmse", as in the original code). torchjd's AlignedMTLWeighting computes B; its default
preference vector is 1/T, so we pass ones to get alpha = B 1 as in the paper.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torchjd.aggregation import AlignedMTLWeighting

from ..registry import STRATEGIES, param
from ._gramian import GramianStrategy


@STRATEGIES.register(
    "aligned_mtl",
    "Aligned-MTL: rescale the gradients' principal directions to equal strength, then sum",
    paper="Senushkin et al., CVPR 2023",
    family="gradient",
    grad_modes=("shared", "representation"),
)
class AlignedMTL(GramianStrategy):
    label = "aligned_mtl"

    @dataclass(frozen=True)
    class Params:
        scale_mode: Literal["min", "median", "rmse"] = param(
            "min", "eigenvalue that sets the common scale")

    def setup(self) -> None:
        self._weighting = AlignedMTLWeighting(
            pref_vector=torch.ones(self.n_tasks, dtype=torch.float64), scale_mode=self.p.scale_mode)

    def weigh(self, k: torch.Tensor, losses: torch.Tensor) -> torch.Tensor:
        return self._weighting(k)
