"""Soft parameter sharing: one trunk copy per task, kept close by a penalty on their differences.

Duong, Cohn, Bird & Cook, "Low resource dependency parsing: cross-lingual parameter sharing in a
neural network parser", ACL 2015, section 3: each task has its own parameters and the loss gains
lambda * sum_{i<j} ||theta_i - theta_j||^2. theta_t is task t's whole trunk parameter vector; with
norm "l2" the pairwise distances are not squared (the seeds' variant). Copies start independently
initialised, so they are distinct networks that the penalty pulls together.

shared_parameters() returns every trunk copy: they are what the penalty couples and what the
gradient-based strategies treat as the shared part; the heads are the task parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn

from ..registry import param
from .base import build_stack
from .scheme import Body, Context, Scheme, SchemePlan, last_with_params, register_scheme
from .summary import Planner


class SoftBody(Body):
    has_representation = False
    penalty_name = "soft_sharing_penalty"

    def __init__(self, trunks: list[nn.Sequential], lam: float, norm: str) -> None:
        super().__init__()
        self.trunks = nn.ModuleList(trunks)
        self.lam = lam
        self.norm = norm

    def run(self, x: Tensor, heads: nn.ModuleList, want_rep: bool
            ) -> tuple[list[Tensor], Tensor | None]:
        return [head(trunk(x)) for head, trunk in zip(heads, self.trunks)], None

    def last_shared_parameters(self) -> list[nn.Parameter]:
        return [p for trunk in self.trunks for p in last_with_params(trunk)]

    def penalty(self) -> Tensor | None:
        flat = [[p.reshape(-1) for p in trunk.parameters()] for trunk in self.trunks]
        if len(flat) < 2 or not flat[0]:
            return None
        vectors = torch.stack([torch.cat(ps) for ps in flat])  # (T, P)
        dist = torch.pdist(vectors)  # the T(T-1)/2 pairs i < j; gradient 0 at equal copies
        total = dist.pow(2).sum() if self.norm == "squared_l2" else dist.sum()
        return self.lam * total


@register_scheme("soft", "Soft sharing: a trunk copy per task, penalty lambda * sum_{i<j} "
                         "||theta_i - theta_j||^2 pulls them together (Duong et al., ACL 2015)",
                 paper="Duong et al., ACL 2015")
class Soft(Scheme):
    @dataclass(frozen=True)
    class Params:
        lambda_: float = param(1e-3, "weight of the penalty on differences between copies",
                               low=0.0, name="lambda")
        norm: Literal["squared_l2", "l2"] = param(
            "squared_l2", "squared_l2: ||.||^2 (Duong et al.); l2: ||.||")

    def plan(self, ctx: Context, planner: Planner) -> SchemePlan:
        z = planner.stack(ctx.trunk, ctx.input_shape, "trunk", copies=len(ctx.tasks))
        return SchemePlan(tuple(z for _ in ctx.tasks), None)

    def build_body(self, ctx: Context, plan: SchemePlan) -> Body:
        trunks = [build_stack(ctx.trunk, ctx.input_shape)[0] for _ in ctx.tasks]
        return SoftBody(trunks, ctx.params.lambda_, ctx.params.norm)
