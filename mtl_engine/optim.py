"""Optimisers and learning-rate schedules, by name.

An optimiser entry is a torch optimiser class plus `kwargs`, the function that turns its typed
parameters into that class's keyword arguments; a schedule entry is a function of the 0-based
epoch, the epoch count and its typed parameters that gives the multiplier on every base rate.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch

from .registry import OPTIMIZERS, SCHEDULES, NoParams, param


def _no_kwargs(params: object) -> dict[str, Any]:  # nothing beyond lr and weight_decay
    return {}


OPTIMIZERS.declare(
    # typed parameters -> the torch optimiser's keyword arguments (besides lr and weight_decay)
    kwargs=_no_kwargs,
)


@dataclass(frozen=True)
class SGDParams:
    momentum: float = param(0.9, "momentum factor", low=0.0, high=1.0)
    nesterov: bool = param(False, "use Nesterov momentum")


@dataclass(frozen=True)
class AdamParams:
    beta1: float = param(0.9, "first-moment decay", low=0.0, high=0.9999)
    beta2: float = param(0.999, "second-moment decay", low=0.0, high=0.99999)


def _sgd_kwargs(params: SGDParams) -> dict[str, Any]:
    # torch refuses Nesterov without momentum; with none there is nothing to look ahead by
    return {"momentum": params.momentum, "nesterov": params.nesterov and params.momentum > 0}


def _adam_kwargs(params: AdamParams) -> dict[str, Any]:
    return {"betas": (params.beta1, params.beta2)}


OPTIMIZERS.register(
    "sgd", "Stochastic gradient descent with optional momentum (Nesterov optional)",
    params=SGDParams, kwargs=_sgd_kwargs,
)(torch.optim.SGD)
OPTIMIZERS.register(
    "adam", "Adam (Kingma & Ba, ICLR 2015)", params=AdamParams, kwargs=_adam_kwargs,
)(torch.optim.Adam)
OPTIMIZERS.register(
    "adamw", "AdamW: Adam with decoupled weight decay (Loshchilov & Hutter, ICLR 2019)",
    params=AdamParams, kwargs=_adam_kwargs,
)(torch.optim.AdamW)


def make_optimizer(
    name: str, groups: list[dict[str, Any]], params: Mapping[str, Any], weight_decay: float
) -> torch.optim.Optimizer:
    """`groups` are torch param groups (each with its own "lr"); `params` the optimiser's.

    Empty groups are dropped, and consecutive groups whose settings are all equal (a shared and a
    task rate left at optimizer.lr) are merged into one: the update of each parameter is the
    same, and torch's optimisers pay a fixed cost per group and step."""
    entry = OPTIMIZERS.get(name, "optimizer.name")
    kwargs = entry.meta["kwargs"](entry.parse(params, "optimizer.params"))
    groups = merge_groups([g for g in groups if g["params"]]) if MERGE_GROUPS else \
        [g for g in groups if g["params"]]
    if FOREACH and "foreach" in inspect.signature(entry.obj).parameters:
        kwargs["foreach"] = True
    return entry.obj(groups, lr=groups[0]["lr"], weight_decay=weight_decay, **kwargs)


# Module flags, so tests can compare a run with each off. Both leave every update the same:
# merge consecutive param groups with equal settings, and use torch's multi-tensor ("foreach")
# implementation on every device (torch picks it only on CUDA by default): on a CPU it runs the
# same per-tensor kernels from C++ instead of a Python loop over the parameters, about 0.1 ms a
# step less on the small MLPs, at the price of temporaries for all parameters at once.
MERGE_GROUPS = True
FOREACH = True


def merge_groups(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`groups` with each run of consecutive ones that differ only in "params" and "name" made
    one group (its parameters in order, the names joined with "+")."""
    def settings(g: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in g.items() if k not in ("params", "name")}

    out: list[dict[str, Any]] = []
    for g in groups:
        if out and settings(out[-1]) == settings(g):
            last = out[-1]
            out[-1] = {**last, "params": [*last["params"], *g["params"]],
                       "name": f"{last.get('name', '')}+{g.get('name', '')}"}
        else:
            out.append(dict(g, params=list(g["params"])))
    return out


@dataclass(frozen=True)
class StepParams:
    step_size: int = param(10, "epochs between decays", low=1)
    gamma: float = param(0.5, "decay factor", low=0.0, high=1.0)


@dataclass(frozen=True)
class CosineParams:
    min_factor: float = param(0.0, "final rate as a fraction of the first", low=0.0, high=1.0)


@SCHEDULES.register("constant", "Keep every learning rate as set")
def _constant(epoch: int, epochs: int, params: NoParams) -> float:
    return 1.0


@SCHEDULES.register(
    "step", "Multiply the learning rate by gamma every step_size epochs", params=StepParams,
)
def _step(epoch: int, epochs: int, params: StepParams) -> float:
    return params.gamma ** (epoch // params.step_size)


@SCHEDULES.register(
    "cosine", "Cosine decay from the set rate to min_factor times it over all epochs "
    "(Loshchilov & Hutter, ICLR 2017)", params=CosineParams,
)
def _cosine(epoch: int, epochs: int, params: CosineParams) -> float:
    progress = epoch / max(1, epochs)
    floor = params.min_factor
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))


def lr_factor(name: str, epoch: int, epochs: int, params: Mapping[str, Any]) -> float:
    """The multiplier on each group's base rate during 0-based `epoch`."""
    entry = SCHEDULES.get(name, "optimizer.schedule.name")
    return float(entry.obj(epoch, epochs, entry.parse(params, "optimizer.schedule.params")))
