"""Multi-gate mixture of experts (MMoE).

Ma, Zhao, Yi, Chen, Hong & Chi, "Modeling task relationships in multi-task learning with multi-gate
mixture-of-experts", KDD 2018, eq. 5-6: E expert networks f_e (here: copies of the trunk); per task
k a gate g_k(x) = softmax(W_gk x) over the experts, computed from the flattened input; task k's head
reads f^k(x) = sum_e g_k(x)_e f_e(x). Experts and gates count as shared parameters.

The representation (for gradients taken on it) is the stack of expert outputs, shape (E, *trunk
output): every head reads it through its gate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ..registry import param
from .base import build_stack
from .scheme import (
    Body,
    Context,
    Scheme,
    SchemePlan,
    as_representation,
    last_with_params,
    register_scheme,
)
from .summary import LayerInfo, Planner


class MMoEBody(Body):
    def __init__(self, experts: list[nn.Sequential], gates: list[nn.Linear]) -> None:
        super().__init__()
        self.experts = nn.ModuleList(experts)
        self.gates = nn.ModuleList(gates)

    def run(self, x: Tensor, heads: nn.ModuleList, want_rep: bool
            ) -> tuple[list[Tensor], Tensor | None]:
        stacked = torch.stack([e(x) for e in self.experts], dim=1)  # (B, E, ...)
        if want_rep:
            stacked = as_representation(stacked)
        flat_x = x.reshape(x.shape[0], -1)
        extra = (1,) * (stacked.dim() - 2)
        outs = []
        for head, gate in zip(heads, self.gates):
            g = torch.softmax(gate(flat_x), dim=-1)
            outs.append(head((g.view(*g.shape, *extra) * stacked).sum(dim=1)))
        return outs, stacked

    def last_shared_parameters(self) -> list[nn.Parameter]:
        return [p for e in self.experts for p in last_with_params(e)]


@register_scheme("mmoe", "MMoE: E expert trunks mixed per task by a softmax gate on the input "
                         "(Ma et al., KDD 2018)", paper="Ma et al., KDD 2018")
class MMoE(Scheme):
    @dataclass(frozen=True)
    class Params:
        experts: int = param(4, "number of expert trunks (the paper uses 4-8)", low=1)

    def plan(self, ctx: Context, planner: Planner) -> SchemePlan:
        e = ctx.params.experts
        z = planner.stack(ctx.trunk, ctx.input_shape, "trunk", copies=e)
        n_in = math.prod(ctx.input_shape)
        for path in ctx.paths:
            planner.add(LayerInfo(f"{path}.gate", "gate", tuple(ctx.input_shape), (e,),
                                  n_in * e + e))
        return SchemePlan(tuple(z for _ in ctx.tasks), None if z is None else (e, *z))

    def build_body(self, ctx: Context, plan: SchemePlan) -> Body:
        e = ctx.params.experts
        experts = [build_stack(ctx.trunk, ctx.input_shape)[0] for _ in range(e)]
        n_in = math.prod(ctx.input_shape)
        return MMoEBody(experts, [nn.Linear(n_in, e) for _ in ctx.tasks])
