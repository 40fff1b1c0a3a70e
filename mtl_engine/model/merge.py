"""What every merge (registry.MERGES) offers: how a multi-input model's branches become the one
tensor the shared trunk reads (issue 15).

A model over named inputs has one branch per input (a layer list, config `branches:`); a merge
takes every branch's output and gives one tensor. An entry's `obj` is a `MergeType` with a
frozen `Params` dataclass, exactly as a layer's (model/base.py): `infer` maps the branches'
output shapes (name -> shape, no batch dimension, in the config's branch order) to the merged
shape or raises errors.ConfigError naming the merge's path; `build` makes the module.

The module's forward is `forward(feats: Dict[str, Tensor], masks: Dict[str, Tensor]) -> Tensor`
(TorchScript-friendly): `feats` holds each branch's output by input name; `masks` holds, for a
branch whose output is still a padded token sequence (B, L, D), its (B, L) bool mask, True at
real tokens; a branch without one is absent from `masks`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from torch import nn

from ..errors import ConfigError
from ..registry import MERGES, NoParams, parse_params
from .base import Shape


class MergeType:
    """Base class of a merge entry. Subclasses set `Params` and override `infer` and `build`."""

    name: str = ""
    Params: type = NoParams

    def parse(self, params: Mapping[str, Any] | None = None, path: str = "") -> Any:
        return parse_params(self.Params, params, path or self.name)

    def infer(self, shapes: Mapping[str, Shape], p: Any, path: str) -> Shape:
        raise NotImplementedError

    def build(self, shapes: Mapping[str, Shape], p: Any) -> nn.Module:
        raise NotImplementedError

    def fail(self, path: str, shapes: Mapping[str, Shape], message: str) -> ConfigError:
        shown = ", ".join(f"{k} {list(v)}" for k, v in shapes.items())
        return ConfigError(path, f"{self.name} cannot merge the branch outputs {shown}: "
                                 f"{message}")


def register_merge(name: str, summary: str, paper: str = "") -> Callable[[type], type]:
    """Class decorator: instantiate the MergeType and put it in MERGES with its `Params`."""

    def deco(cls: type) -> type:
        obj = cls()
        obj.name = name
        MERGES.register(name, summary, params=cls.Params, paper=paper)(obj)
        return cls

    return deco


def merge_type(name: str, path: str = "") -> MergeType:
    return MERGES.get(name, path).obj
