"""Hard parameter sharing: one trunk for every task, then one head per task.

Caruana, "Multitask learning: a knowledge-based source of inductive bias", ICML 1993 (and Machine
Learning 28, 1997, section 2): the hidden layers are shared, only the output layers are
task-specific.
"""

from __future__ import annotations

from torch import Tensor, nn

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
from .summary import Planner


class HardBody(Body):
    def __init__(self, trunk: nn.Sequential) -> None:
        super().__init__()
        self.trunk = trunk

    def run(self, x: Tensor, heads: nn.ModuleList, want_rep: bool
            ) -> tuple[list[Tensor], Tensor | None]:
        z = self.trunk(x)
        if want_rep:
            z = as_representation(z)
        return [head(z) for head in heads], z

    def last_shared_parameters(self) -> list[nn.Parameter]:
        return last_with_params(self.trunk)


@register_scheme("hard", "Hard sharing: one trunk shared by all tasks, one head per task "
                         "(Caruana, ICML 1993)", paper="Caruana, ICML 1993")
class Hard(Scheme):
    def plan(self, ctx: Context, planner: Planner) -> SchemePlan:
        z = planner.stack(ctx.trunk, ctx.input_shape, "trunk")
        return SchemePlan(tuple(z for _ in ctx.tasks), z)

    def build_body(self, ctx: Context, plan: SchemePlan) -> Body:
        return HardBody(build_stack(ctx.trunk, ctx.input_shape)[0])
