"""Optimisers and learning-rate schedules, by name."""

from __future__ import annotations

import math
from typing import Any

import torch

from .registry import OPTIMIZERS, SCHEDULES, Param

OPTIMIZERS.register(
    "sgd", "Stochastic gradient descent with optional momentum (Nesterov optional)",
    params=(Param("momentum", "float", 0.9, "momentum factor", low=0.0, high=1.0),
            Param("nesterov", "bool", False, "use Nesterov momentum")),
)(torch.optim.SGD)
OPTIMIZERS.register(
    "adam", "Adam (Kingma & Ba, ICLR 2015)",
    params=(Param("beta1", "float", 0.9, "first-moment decay", low=0.0, high=0.9999),
            Param("beta2", "float", 0.999, "second-moment decay", low=0.0, high=0.99999)),
)(torch.optim.Adam)
OPTIMIZERS.register(
    "adamw", "AdamW: Adam with decoupled weight decay (Loshchilov & Hutter, ICLR 2019)",
    params=(Param("beta1", "float", 0.9, "first-moment decay", low=0.0, high=0.9999),
            Param("beta2", "float", 0.999, "second-moment decay", low=0.0, high=0.99999)),
)(torch.optim.AdamW)


def make_optimizer(
    name: str, groups: list[dict[str, Any]], params: dict[str, Any], weight_decay: float
) -> torch.optim.Optimizer:
    """`groups` are torch param groups (each with its own "lr"); `params` from the registry."""
    cls = OPTIMIZERS.get(name).obj
    kw: dict[str, Any] = {"weight_decay": weight_decay}
    if name == "sgd":
        kw.update(momentum=params["momentum"], nesterov=params["nesterov"] and
                  params["momentum"] > 0)
    else:
        kw["betas"] = (params["beta1"], params["beta2"])
    groups = [g for g in groups if g["params"]]
    return cls(groups, lr=groups[0]["lr"], **kw)


@SCHEDULES.register("constant", "Keep every learning rate as set")
def _constant(epoch: int, epochs: int, params: dict[str, Any]) -> float:
    return 1.0


@SCHEDULES.register(
    "step", "Multiply the learning rate by gamma every step_size epochs",
    params=(Param("step_size", "int", 10, "epochs between decays", low=1),
            Param("gamma", "float", 0.5, "decay factor", low=0.0, high=1.0)),
)
def _step(epoch: int, epochs: int, params: dict[str, Any]) -> float:
    return params["gamma"] ** (epoch // params["step_size"])


@SCHEDULES.register(
    "cosine", "Cosine decay from the set rate to min_factor times it over all epochs "
    "(Loshchilov & Hutter, ICLR 2017)",
    params=(Param("min_factor", "float", 0.0, "final rate as a fraction of the first",
                  low=0.0, high=1.0),),
)
def _cosine(epoch: int, epochs: int, params: dict[str, Any]) -> float:
    t = epoch / max(1, epochs)
    return params["min_factor"] + (1 - params["min_factor"]) * 0.5 * (1 + math.cos(math.pi * t))


def lr_factor(name: str, epoch: int, epochs: int, params: dict[str, Any]) -> float:
    """The multiplier on each group's base rate during 0-based `epoch`."""
    return float(SCHEDULES.get(name).obj(epoch, epochs, params))
