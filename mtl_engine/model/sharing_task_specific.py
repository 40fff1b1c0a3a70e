"""Task-specific subnetworks: a shared trunk, then a private block per task before its head.

The seeds' "task-specific subnetworks" scheme; it is hard sharing (Caruana, ICML 1993) with deeper
task branches, the split-point design studied by Misra et al., CVPR 2016, section 3 ("Split
architectures"). The representation is the trunk output, which every private block reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
    layer_specs,
    register_scheme,
)
from .summary import EACH_TASK, Planner


class TaskSpecificBody(Body):
    def __init__(self, trunk: nn.Sequential, private: list[nn.Sequential]) -> None:
        super().__init__()
        self.trunk = trunk
        self.private = nn.ModuleList(private)

    def run(self, x: Tensor, heads: nn.ModuleList, want_rep: bool
            ) -> tuple[list[Tensor], Tensor | None]:
        z = self.trunk(x)
        if want_rep:
            z = as_representation(z)
        return [head(block(z)) for head, block in zip(heads, self.private)], z

    def shared_parameters(self) -> list[nn.Parameter]:
        return list(self.trunk.parameters())

    def task_parameters(self, index: int) -> list[nn.Parameter]:
        return list(self.private[index].parameters())

    def last_shared_parameters(self) -> list[nn.Parameter]:
        return last_with_params(self.trunk)


@register_scheme("task_specific", "Shared trunk, then a private block of layers per task before "
                                  "its head (task-specific subnetworks)",
                 paper="Misra et al., CVPR 2016 (split architectures)")
class TaskSpecific(Scheme):
    @dataclass(frozen=True)
    class Params:
        private: list[dict[str, Any]] = param(
            [{"type": "linear", "out_features": 32}, {"type": "relu"}],
            "layers each task gets its own copy of, between the trunk and its head", type="layers")

    def plan(self, ctx: Context, planner: Planner) -> SchemePlan:
        z = planner.stack(ctx.trunk, ctx.input_shape, "trunk")
        specs = layer_specs(ctx.params.private)
        private_out = planner.stack(specs, z, "sharing.params.private", copies=len(ctx.tasks),
                                    tasks=ctx.names, owner=EACH_TASK)
        return SchemePlan(tuple(private_out for _ in ctx.tasks), z)

    def build_body(self, ctx: Context, plan: SchemePlan) -> Body:
        assert plan.representation is not None
        specs = layer_specs(ctx.params.private)
        private = [build_stack(specs, plan.representation)[0] for _ in ctx.tasks]
        return TaskSpecificBody(build_stack(ctx.trunk, ctx.input_shape)[0], private)
