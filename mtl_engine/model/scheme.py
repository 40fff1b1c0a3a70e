"""What every sharing scheme (registry.SHARING) offers.

A scheme's `obj` is a `Scheme` with a frozen `Params` dataclass; the model parses the config's
mapping into it once (multitask.py) and the scheme reads typed values from `Context.params`. `plan`
infers shapes and parameter counts into a Planner and says what each task's head reads;
`build_body` makes a `Body`, the module that runs the shared part and calls the heads (a scheme
such as cascade must interleave the two). Heads and their output layers are the same for every
scheme and live in `multitask.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from ..build import ResolvedTask
from ..config import LayerSpec
from ..registry import SHARING, NoParams
from .base import Shape
from .summary import Planner


@dataclass(frozen=True)
class Context:
    """Everything a scheme needs: the trunk, the enabled tasks and the scheme's parameters."""

    trunk: tuple[LayerSpec, ...]
    tasks: tuple[ResolvedTask, ...]  # enabled tasks, config order
    paths: tuple[str, ...]  # config path of each enabled task: "tasks[2]"
    input_shape: Shape
    params: Any  # the scheme's `Params` instance
    all_names: tuple[str, ...] = ()  # every config task, disabled ones included

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tasks)


@dataclass(frozen=True)
class SchemePlan:
    head_inputs: tuple[Shape | None, ...]  # per task: the shape its head layers read
    representation: Shape | None  # the shared tensor the heads read (None: no single one)
    extra: Any = None  # scheme-specific facts `build_body` reuses (e.g. cascade order)


class Body(nn.Module):
    """The shared part of a model. `run` returns the raw head outputs in task order."""

    has_representation = True
    penalty_name = ""

    def run(self, x: Tensor, heads: nn.ModuleList, want_rep: bool
            ) -> tuple[list[Tensor], Tensor | None]:
        raise NotImplementedError

    def shared_parameters(self) -> list[nn.Parameter]:
        return list(self.parameters())

    def task_parameters(self, index: int) -> list[nn.Parameter]:
        """Parameters the body holds for one task only (e.g. a private block)."""
        return []

    def last_shared_parameters(self) -> list[nn.Parameter]:
        return []

    def penalty(self) -> Tensor | None:
        return None


class Scheme:
    Params: type = NoParams

    def plan(self, ctx: Context, planner: Planner) -> SchemePlan:
        raise NotImplementedError

    def build_body(self, ctx: Context, plan: SchemePlan) -> Body:
        raise NotImplementedError


def register_scheme(name: str, summary: str, paper: str = "") -> Callable[[type], type]:
    def deco(cls: type) -> type:
        SHARING.register(name, summary, params=cls.Params, paper=paper)(cls())
        return cls

    return deco


def layer_specs(raw: Sequence[dict[str, Any]]) -> tuple[LayerSpec, ...]:
    """Layer lists in scheme params arrive as canonical dicts ({type: ..., **params})."""
    return tuple(LayerSpec(d["type"], {k: v for k, v in d.items() if k != "type"}) for d in raw)


def as_representation(z: Tensor) -> Tensor:
    """Make sure gradients w.r.t. `z` can be taken, even when nothing upstream has parameters."""
    if not z.requires_grad and torch.is_grad_enabled():
        z = z.detach().requires_grad_()
    return z


def last_with_params(modules: nn.Module) -> list[nn.Parameter]:
    """Parameters of the last sub-module (in order) that has any; [] if none has."""
    for m in reversed(list(modules.children())):
        params = list(m.parameters())
        if params:
            return params
    return []
