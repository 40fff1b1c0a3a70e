"""UPGrad, unconflicting projection of gradients: Quinton & Rey, "Jacobian Descent for
Multi-Objective Optimization", 2024 (arXiv:2406.16232, section 5, eq. 5).

Each task gradient g_i is projected onto the dual cone of the rows of G, {x : g_j . x >= 0 for all
j}, and the projections are averaged (weighted by a preference vector, uniform by default). The
result never conflicts with any task (d . g_j >= 0). By the paper's Proposition 1 the projection of
G^T u has weights v = argmin v^T K v subject to v >= u; torchjd's UPGradWeighting sets this up and
our solver solves it (_gramian.ActiveSetProjector: all T projections in one batched block
principal pivoting solve, faster than quadprog from T = 10 on), so quadprog is not needed. As in
torchjd, K is first divided by its trace (unless below norm_eps), then reg_eps is added to its
diagonal.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torchjd.aggregation import UPGradWeighting

from ..errors import ConfigError
from ..registry import STRATEGIES, param
from ._gramian import ActiveSetProjector, GramianStrategy


def pref_vector(strategy: GramianStrategy) -> torch.Tensor | None:
    """The user's preference vector as weights summing to 1, checked against the task count."""
    raw = strategy.p.pref_vector
    if not raw:
        return None
    if len(raw) != strategy.n_tasks:
        raise ConfigError("strategy.params.pref_vector", f"has {len(raw)} entries but there are "
                          f"{strategy.n_tasks} tasks ({', '.join(t.name for t in strategy.tasks)})")
    v = torch.tensor([float(x) for x in raw], dtype=torch.float64)
    if float(v.sum()) <= 0:
        raise ConfigError("strategy.params.pref_vector", "must have a positive entry")
    return v / v.sum()


def projector(strategy: GramianStrategy) -> ActiveSetProjector:
    return ActiveSetProjector(strategy.p.norm_eps, strategy.p.reg_eps)


@STRATEGIES.register(
    "upgrad",
    "UPGrad: average of each task gradient projected onto the cone of non-conflicting directions",
    paper="Quinton & Rey, Jacobian Descent for Multi-Objective Optimization, arXiv:2406.16232, "
          "2024",
    family="gradient",
    grad_modes=("shared", "representation"),
    conflict_tol=2e-3,  # reg_eps's ridge moves the projection slightly off the cone
)
class UPGrad(GramianStrategy):
    label = "upgrad"

    @dataclass(frozen=True)
    class Params:  # DualProj (dualproj.py) takes the same ones
        pref_vector: list[float] | None = param(
            None, "relative weight of each task's projection (empty: uniform); one entry per "
            "enabled task", low=0.0)
        norm_eps: float = param(1e-4, "below this trace the Gramian is treated as zero",
                                low=0.0, high=1.0)
        reg_eps: float = param(1e-4, "ridge added to the normalised Gramian's diagonal",
                               low=0.0, high=1.0)

    def setup(self) -> None:
        self._weighting = UPGradWeighting(pref_vector(self), projector=projector(self))

    def weigh(self, k: torch.Tensor, losses: torch.Tensor) -> torch.Tensor:
        return self._weighting(k)
