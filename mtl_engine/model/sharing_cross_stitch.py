"""Cross-stitch networks: one trunk copy per task, streams mixed after every layer with parameters.

Misra, Shrivastava, Gupta & Hebert, "Cross-stitch networks for multi-task learning", CVPR 2016,
eq. 1: given the task streams' activations x_1..x_T at a layer, the next layer reads
x~_i = sum_j alpha_ij x_j with a learnable T x T matrix alpha per stitch point (section 4.1
initialises it identity-heavy; here 0.9 on the diagonal and 0.1/(T-1) off it, rows summing to 1;
a single task gets 1). Stitch matrices and all copies count as shared parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ..registry import param
from .base import build_stack
from .scheme import Body, Context, Scheme, SchemePlan, last_with_params, register_scheme
from .summary import LayerInfo, Planner


def stitch_init(n_tasks: int, self_weight: float) -> Tensor:
    if n_tasks == 1:
        return torch.ones(1, 1)
    off = (1.0 - self_weight) / (n_tasks - 1)
    return torch.full((n_tasks, n_tasks), off) + (self_weight - off) * torch.eye(n_tasks)


class CrossStitchBody(Body):
    has_representation = False

    def __init__(self, copies: list[list[nn.Sequential]], n_stitches: int,
                 self_weight: float) -> None:
        super().__init__()
        # copies[t][s]: task t's trunk segment s; a stitch follows segments 0 .. n_stitches-1
        self.copies = nn.ModuleList(nn.ModuleList(segs) for segs in copies)
        t = len(copies)
        self.stitches = nn.ParameterList(
            nn.Parameter(stitch_init(t, self_weight)) for _ in range(n_stitches))

    def run(self, x: Tensor, heads: nn.ModuleList, want_rep: bool
            ) -> tuple[list[Tensor], Tensor | None]:
        streams = [x for _ in self.copies]
        n_segments = len(self.copies[0]) if len(self.copies) else 0
        for s in range(n_segments):
            streams = [segs[s](h) for segs, h in zip(self.copies, streams)]
            if s < len(self.stitches):
                mixed = torch.tensordot(self.stitches[s], torch.stack(streams), dims=1)
                streams = list(mixed.unbind(0))
        return [head(h) for head, h in zip(heads, streams)], None

    def last_shared_parameters(self) -> list[nn.Parameter]:
        last = []
        for segs in self.copies:
            for seg in reversed(segs):
                found = last_with_params(seg)
                if found:
                    last += found
                    break
        return last + ([self.stitches[-1]] if len(self.stitches) else [])


@register_scheme("cross_stitch", "Cross-stitch: a trunk copy per task; after each layer with "
                                 "parameters a learnable T x T mixing of the task streams "
                                 "(Misra et al., CVPR 2016)", paper="Misra et al., CVPR 2016")
class CrossStitch(Scheme):
    @dataclass(frozen=True)
    class Params:
        self_weight: float = param(0.9, "initial diagonal of each stitch matrix; the rest of a "
                                        "row shares 1 - self_weight", low=0.0, high=1.0)

    def plan(self, ctx: Context, planner: Planner) -> SchemePlan:
        t = len(ctx.tasks)
        shape = ctx.input_shape
        cuts: list[int] = []  # trunk indices followed by a stitch
        for i, spec in enumerate(ctx.trunk):
            shape = planner.stack([spec], shape, "trunk", copies=t, start=i)
            if planner.rows[-1].n_params > 0:  # unknown after an error: nothing is built then
                cuts.append(i)
                planner.add(LayerInfo(f"trunk[{i}].stitch", "cross_stitch", shape, shape,
                                      t * t, copies=1))
        return SchemePlan(tuple(shape for _ in ctx.tasks), None, extra=tuple(cuts))

    def build_body(self, ctx: Context, plan: SchemePlan) -> Body:
        cuts: tuple[int, ...] = plan.extra
        bounds = [0, *(c + 1 for c in cuts)]
        if bounds[-1] < len(ctx.trunk):
            bounds.append(len(ctx.trunk))
        copies = []
        for _ in ctx.tasks:
            segs, shape = [], ctx.input_shape
            for begin, end in zip(bounds, bounds[1:]):
                seg, shape = build_stack(ctx.trunk[begin:end], shape)
                segs.append(seg)
            copies.append(segs)
        return CrossStitchBody(copies, len(cuts), ctx.params.self_weight)
