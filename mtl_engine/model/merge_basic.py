"""The two parameter-free merges of a multi-input model's branches (issue 15).

concat: every branch's flat features side by side, (F1,) + (F2,) + ... -> (F1 + F2 + ...,), the
"combined" step of the wide-and-deep and two-tower recommenders (Cheng et al., DLRS 2016,
section 3.3: the wide and deep parts' features joined before the output). A branch that is still
a sequence (L, D) or a map (C, H, W) must be pooled or flattened first.

sum: the branches' outputs added elementwise, all of one shape (the "add" of factorisation-style
models, where user and item embeddings of one width are combined).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor, nn

from ..registry import NoParams
from .base import Shape
from .merge import MergeType, register_merge


class _Concat(nn.Module):
    def __init__(self, names: tuple[str, ...]) -> None:
        super().__init__()
        self.names = names

    def forward(self, feats: dict[str, Tensor], masks: dict[str, Tensor]) -> Tensor:
        return torch.cat([feats[n] for n in self.names], dim=1)


class _Sum(nn.Module):
    def __init__(self, names: tuple[str, ...]) -> None:
        super().__init__()
        self.names = names

    def forward(self, feats: dict[str, Tensor], masks: dict[str, Tensor]) -> Tensor:
        out = feats[self.names[0]]
        for n in self.names[1:]:
            out = out + feats[n]
        return out


@register_merge("concat", "Concatenate the branches' flat features into one (F1 + F2 + ...,) "
                          "row (Cheng et al., DLRS 2016)", paper="Cheng et al., DLRS 2016")
class Concat(MergeType):
    Params = NoParams

    def infer(self, shapes: Mapping[str, Shape], p: NoParams, path: str) -> Shape:
        for name, shape in shapes.items():
            if len(shape) != 1:
                what = ("a token sequence (L, D): pool it first (a token_pool layer at the end "
                        "of its branch)" if len(shape) == 2 else
                        "not flat: add a flatten layer at the end of its branch")
                raise self.fail(path, shapes, f"concat joins flat features (F,); branch "
                                              f"{name!r} gives {list(shape)}, {what}")
        return (sum(s[0] for s in shapes.values()),)

    def build(self, shapes: Mapping[str, Shape], p: NoParams) -> nn.Module:
        return _Concat(tuple(shapes))


@register_merge("sum", "Add the branches' outputs elementwise (all of one shape)")
class Sum(MergeType):
    Params = NoParams

    def infer(self, shapes: Mapping[str, Shape], p: NoParams, path: str) -> Shape:
        distinct = {tuple(s) for s in shapes.values()}
        if len(distinct) != 1:
            raise self.fail(path, shapes, "sum adds outputs of one shape; make the branches end "
                                          "in the same width (a linear layer of one "
                                          "out_features in each)")
        return next(iter(distinct))

    def build(self, shapes: Mapping[str, Shape], p: NoParams) -> nn.Module:
        return _Sum(tuple(shapes))
