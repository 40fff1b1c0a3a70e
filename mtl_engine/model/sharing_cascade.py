"""Cascade (sequential) sharing: task k's head also reads task k-1's output.

The seeds' cascade scheme, in the spirit of cascaded multi-task networks (Dai, He & Sun, "Instance-
aware semantic segmentation via multi-task network cascades", CVPR 2016): one shared trunk; tasks
run in a user-set order and each head after the first reads concat(representation, previous task's
raw output) (logits or predicted values, flattened). The representation is the trunk output, which
must then be flat (features,).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ..errors import ConfigError, ShapeError
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


class CascadeBody(Body):
    def __init__(self, trunk: nn.Sequential, order: tuple[int, ...], detach: bool) -> None:
        super().__init__()
        self.trunk = trunk
        self.order = order
        self.detach = detach

    def run(self, x: Tensor, heads: nn.ModuleList, want_rep: bool
            ) -> tuple[list[Tensor], Tensor | None]:
        z = self.trunk(x)
        if want_rep:
            z = as_representation(z)
        outs: list[Tensor | None] = [None] * len(heads)
        prev: Tensor | None = None
        for k in self.order:
            inp = z
            if prev is not None:
                fed = prev.detach() if self.detach else prev
                inp = torch.cat([z, fed.reshape(fed.shape[0], -1)], dim=1)
            outs[k] = prev = heads[k](inp)
        return outs, z  # type: ignore[return-value]

    def last_shared_parameters(self) -> list[nn.Parameter]:
        return last_with_params(self.trunk)


def resolve_order(ctx: Context, all_tasks: tuple[str, ...], order: list[str]) -> tuple[int, ...]:
    """Indices of the enabled tasks in cascade order: listed ones first, the rest in config order.

    Disabled tasks may be listed (toggling a task must not break the preset); they are skipped.
    """
    picked: list[int] = []
    for i, name in enumerate(order):
        path = f"sharing.params.order[{i}]"
        if name not in all_tasks:
            raise ConfigError(path, f"{name!r} is not a task; tasks: {', '.join(all_tasks)}")
        if name in order[:i]:
            raise ConfigError(path, f"{name!r} is listed twice")
        if name in ctx.names:
            picked.append(ctx.names.index(name))
    return tuple(picked) + tuple(k for k in range(len(ctx.names)) if k not in picked)


@register_scheme("cascade", "Cascade: one trunk; each task's head also reads the previous task's "
                            "output, in a set order", paper="Dai, He & Sun, CVPR 2016")
class Cascade(Scheme):
    @dataclass(frozen=True)
    class Params:
        order: list[str] = param([], "task names in cascade order; empty = config order")
        detach: bool = param(False, "stop a task's loss from training the previous task's head")

    def plan(self, ctx: Context, planner: Planner) -> SchemePlan:
        z = planner.stack(ctx.trunk, ctx.input_shape, "trunk")
        try:
            order = resolve_order(ctx, ctx.all_names or ctx.names, list(ctx.params.order))
        except ConfigError as exc:
            planner.fail(exc)
            order = tuple(range(len(ctx.tasks)))
        inputs: list[tuple[int, ...] | None] = [None] * len(ctx.tasks)
        prev: int | None = None
        for k in order:
            inputs[k] = z if prev is None else self._concat(ctx, planner, k, prev, z)
            prev = k
        return SchemePlan(tuple(inputs), z, extra=order)

    def _concat(self, ctx: Context, planner: Planner, k: int, prev: int,
                z: tuple[int, ...] | None) -> tuple[int, ...] | None:
        where = f"{ctx.paths[k]}.input"
        n_prev = ctx.tasks[prev].n_outputs
        if z is None:
            planner.add(LayerInfo(where, "concat", None, None, 0, owner=ctx.names[k]))
            return None
        if len(z) != 1:
            exc = ShapeError(where, "concat", z, f"cascade joins task {ctx.names[prev]!r}'s "
                             "output to the representation, which must be flat (features,); end "
                             "the trunk with a flatten layer")
            planner.fail(exc)
            planner.add(LayerInfo(where, "concat", z, None, 0, exc.message, owner=ctx.names[k]))
            return None
        out = (z[0] + n_prev,)
        planner.add(LayerInfo(where, "concat", z, out, 0, owner=ctx.names[k]))
        return out

    def build_body(self, ctx: Context, plan: SchemePlan) -> Body:
        return CascadeBody(build_stack(ctx.trunk, ctx.input_shape)[0], plan.extra,
                           ctx.params.detach)
