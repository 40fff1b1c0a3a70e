"""Customized Gate Control (CGC): shared experts plus experts of each task's own, gated per task.

Tang, Liu, Zhao & Gong, "Progressive Layered Extraction (PLE): A Novel Multi-Task Learning (MTL)
Model for Personalized Recommendations", RecSys 2020, section 4.2: task k's head reads
    g^k(x) = w^k(x) S^k(x),  w^k(x) = softmax(W_g^k x),  S^k(x) = [E_k,1 .. E_k,mk, E_s,1 .. E_s,ms]
the softmax-gated sum of its own m_k experts and the m_s shared experts (task experts first, as in
S^k). Every expert is a copy of the trunk layers; the gate is one linear layer on the flattened
input (as MMoE's). The shared experts are the shared parameters; task k's experts and its gate
belong to task k (its gate reads the input only, so nothing of another task reaches it).

The representation (for gradients taken on it) is the stack of the shared experts' outputs, shape
(m_s, *trunk output): it is the only way the shared parameters reach a head.

The stacked form (PLE, sharing_ple.py) is the same network with more levels; `ExtractionBody` runs
both: this module builds it with one level.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ..config import LayerSpec
from ..registry import param
from .base import Shape, build_stack
from .scheme import (
    Body,
    Context,
    Scheme,
    SchemePlan,
    as_representation,
    last_with_params,
    register_scheme,
)
from .summary import EACH_TASK, SHARED, LayerInfo, Planner

PAPER = "Tang et al., RecSys 2020"


class ExtractionLevel(nn.Module):
    """One extraction network: per-task experts, shared experts, a gate per task and, below the
    top of a PLE, a shared gate over every expert (each task's, then the shared ones)."""

    def __init__(self, task_experts: list[list[nn.Sequential]], shared_experts: list[nn.Sequential],
                 task_gates: list[nn.Linear], shared_gate: nn.Linear | None) -> None:
        super().__init__()
        self.task_experts = nn.ModuleList(nn.ModuleList(e) for e in task_experts)
        self.shared_experts = nn.ModuleList(shared_experts)
        self.task_gates = nn.ModuleList(task_gates)
        self.shared_gate = shared_gate


def _mix(gate: nn.Module, gate_input: Tensor, experts: Tensor) -> Tensor:
    """softmax(gate(flattened input)) over dim 1 of `experts` (B, E, ...), summed over it."""
    w = torch.softmax(gate(gate_input.reshape(gate_input.shape[0], -1)), dim=-1)
    return (w.view(*w.shape, *((1,) * (experts.dim() - 2))) * experts).sum(dim=1)


class ExtractionBody(Body):
    """Levels of CGC. Level 1 reads the input everywhere; above it, task k's experts and gate read
    task k's gated output of the level below, the shared experts and shared gate read the shared
    gate's output. The heads read the top level's task outputs."""

    def __init__(self, levels: list[ExtractionLevel]) -> None:
        super().__init__()
        self.levels = nn.ModuleList(levels)
        # One level: every shared parameter reaches the heads through the shared experts' stack.
        # More: the shared gates also mix task experts, so no single tensor carries them all.
        self.has_representation = len(levels) == 1

    def run(self, x: Tensor, heads: nn.ModuleList, want_rep: bool
            ) -> tuple[list[Tensor], Tensor | None]:
        task_in = [x for _ in heads]
        shared_in = x
        rep: Tensor | None = None
        for level in self.levels:
            own = [torch.stack([e(h) for e in experts], dim=1)
                   for experts, h in zip(level.task_experts, task_in)]
            shared = torch.stack([e(shared_in) for e in level.shared_experts], dim=1)
            if want_rep and self.has_representation:
                shared = as_representation(shared)
                rep = shared
            new_in = [_mix(gate, h, torch.cat([mine, shared], dim=1))
                      for gate, h, mine in zip(level.task_gates, task_in, own)]
            if level.shared_gate is not None:
                shared_in = _mix(level.shared_gate, shared_in, torch.cat([*own, shared], dim=1))
            task_in = new_in
        return [head(h) for head, h in zip(heads, task_in)], rep

    def shared_parameters(self) -> list[nn.Parameter]:
        out: list[nn.Parameter] = []
        for level in self.levels:
            out += list(level.shared_experts.parameters())
            if level.shared_gate is not None:
                out += list(level.shared_gate.parameters())
        return out

    def task_parameters(self, index: int) -> list[nn.Parameter]:
        out: list[nn.Parameter] = []
        for level in self.levels:
            out += list(level.task_experts[index].parameters())
            out += list(level.task_gates[index].parameters())
        return out

    def last_shared_parameters(self) -> list[nn.Parameter]:
        """The top level's shared experts' last layer with parameters (every copy); where those
        have none, the shared gate below them, and so on down."""
        for level in reversed(list(self.levels)):
            if level.shared_gate is not None:
                return list(level.shared_gate.parameters())
            last = [p for e in level.shared_experts for p in last_with_params(e)]
            if last:
                return last
        return []


@dataclass(frozen=True)
class LevelPlan:
    """What `build_levels` needs: each level's trunk slice and its experts' input shape."""

    bounds: tuple[tuple[int, int], ...]  # trunk[begin:end] per level
    in_shapes: tuple[Shape, ...]


def plan_levels(ctx: Context, planner: Planner, bounds: Sequence[tuple[int, int]],
                gate_name: str) -> SchemePlan:
    """Rows and counts of the levels whose experts copy trunk[begin:end]; `gate_name` formats a
    task gate's row (`{path}` the task's config path, `{level}` the level's index)."""
    t, ms, mt = len(ctx.tasks), ctx.params.shared_experts, ctx.params.task_experts
    shape: Shape | None = tuple(ctx.input_shape)
    in_shapes: list[Shape] = []
    for j, (begin, end) in enumerate(bounds):
        if shape is not None:
            in_shapes.append(shape)
        level_in = shape
        first = len(planner.rows)
        shape = planner.stack(ctx.trunk[begin:end], level_in, "trunk", copies=ms, start=begin)
        for r in planner.rows[first:]:  # the same layers again, copied for every task's experts
            planner.add(LayerInfo(f"{r.where}.task_experts", r.type, r.in_shape, r.out_shape,
                                  r.n_params // ms * t * mt, r.error, copies=t * mt,
                                  owner=EACH_TASK), ctx.names)
        n_in = math.prod(level_in) if level_in is not None else 0
        for path, name in zip(ctx.paths, ctx.names):
            _gate_row(planner, gate_name.format(path=path, level=j), level_in, n_in, mt + ms,
                      name)
        if j < len(bounds) - 1:
            _gate_row(planner, f"sharing.shared_gate[{j}]", level_in, n_in, t * mt + ms, SHARED)
    rep = None if shape is None or len(bounds) > 1 else (ms, *shape)
    return SchemePlan(tuple(shape for _ in ctx.tasks), rep,
                      extra=LevelPlan(tuple(bounds), tuple(in_shapes)))


def _gate_row(planner: Planner, where: str, in_shape: Shape | None, n_in: int, n_out: int,
              owner: str) -> None:
    known = in_shape is not None
    planner.add(LayerInfo(where, "gate", in_shape, (n_out,) if known else None,
                          n_in * n_out + n_out if known else 0, owner=owner),
                () if owner == SHARED else (owner,))


def build_levels(ctx: Context, plan: SchemePlan) -> ExtractionBody:
    lp: LevelPlan = plan.extra
    t, ms, mt = len(ctx.tasks), ctx.params.shared_experts, ctx.params.task_experts
    levels = []
    for j, ((begin, end), in_shape) in enumerate(zip(lp.bounds, lp.in_shapes)):
        specs: tuple[LayerSpec, ...] = ctx.trunk[begin:end]
        task_experts = [[build_stack(specs, in_shape)[0] for _ in range(mt)] for _ in range(t)]
        shared_experts = [build_stack(specs, in_shape)[0] for _ in range(ms)]
        n_in = math.prod(in_shape)
        gates = [nn.Linear(n_in, mt + ms) for _ in range(t)]
        shared_gate = nn.Linear(n_in, t * mt + ms) if j < len(lp.bounds) - 1 else None
        levels.append(ExtractionLevel(task_experts, shared_experts, gates, shared_gate))
    return ExtractionBody(levels)


@dataclass(frozen=True)
class ExpertCounts:
    shared_experts: int = param(2, "m_s: shared experts (copies of the trunk) every task's gate "
                                   "mixes", low=1)
    task_experts: int = param(1, "m_k: experts of each task's own (copies of the trunk) only its "
                                 "gate mixes", low=1)


@register_scheme("cgc", "CGC: shared experts plus each task's own experts (trunk copies), mixed "
                        "per task by a softmax gate on the input (Tang et al., RecSys 2020)",
                 paper=PAPER)
class CGC(Scheme):
    Params = ExpertCounts

    def plan(self, ctx: Context, planner: Planner) -> SchemePlan:
        return plan_levels(ctx, planner, [(0, len(ctx.trunk))], "{path}.gate")

    def build_body(self, ctx: Context, plan: SchemePlan) -> Body:
        return build_levels(ctx, plan)
