"""Concatenation-then-fusion merge (the seeds' feature-alignment notes): the branches' features
side by side, then one learnt map to `width`.

Feature maps (C1, H, W), (C2, H, W), ... of one spatial size are concatenated along the channels
and fused by a 1x1 convolution (Lin, Chen & Yan, "Network in network", ICLR 2014): at every
pixel, a linear map of the concatenated channels, giving (width, H, W). Flat features (F1,),
(F2,), ... are concatenated and fused by a linear layer, giving (width,). Maps of different sizes
must be aligned in their branches first (adaptive_avgpool2d to one height and width).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ..registry import param
from .base import Shape
from .merge import MergeType, register_merge


class _ConcatFusion(nn.Module):
    def __init__(self, names: tuple[str, ...], fuse: nn.Module) -> None:
        super().__init__()
        self.names = list(names)
        self.fuse = fuse

    def forward(self, feats: dict[str, Tensor], masks: dict[str, Tensor]) -> Tensor:
        return self.fuse(torch.cat([feats[n] for n in self.names], dim=1))


@register_merge("concat_fusion", "Concatenate two or more branches' features (maps of one size "
                                 "along channels, or flat rows), then a 1x1 conv or linear layer "
                                 "to width (Lin et al., ICLR 2014)",
                paper="Lin, Chen & Yan, ICLR 2014")
class ConcatFusion(MergeType):
    @dataclass(frozen=True)
    class Params:
        width: int = param(64, "channels (maps) or features (flat) after the fusion", low=1)
        bias: bool = param(True, "add a learnable bias to the fusion")

    def infer(self, shapes: Mapping[str, Shape], p: Params, path: str) -> Shape:
        if len(shapes) < 2:
            raise self.fail(path, shapes, "concat_fusion joins two or more branches")
        ranks = {len(s) for s in shapes.values()}
        if ranks == {1}:
            return (p.width,)
        if ranks == {3}:
            sizes = {tuple(s[1:]) for s in shapes.values()}
            if len(sizes) > 1:
                shown = ", ".join(f"{n} {s[1]}x{s[2]}" for n, s in shapes.items())
                h, w = min(s[1] for s in shapes.values()), min(s[2] for s in shapes.values())
                raise self.fail(path, shapes, f"feature maps of different sizes ({shown}) "
                                              "cannot be concatenated along channels; end each "
                                              f"branch in an adaptive_avgpool2d to one size "
                                              f"(e.g. height {h}, width {w})")
            return (p.width, *next(iter(sizes)))
        for name, s in shapes.items():
            if len(s) == 2:
                raise self.fail(path, shapes, f"branch {name!r} is still a token sequence "
                                              f"{list(s)}; end it in a token_pool layer")
        raise self.fail(path, shapes, "concat_fusion joins feature maps (C, H, W) or flat "
                                      "features (F,), not a mix; add a flatten layer at the end "
                                      "of the map branches")

    def build(self, shapes: Mapping[str, Shape], p: Params) -> nn.Module:
        joined = sum(s[0] for s in shapes.values())
        if len(next(iter(shapes.values()))) == 3:
            fuse: nn.Module = nn.Conv2d(joined, p.width, kernel_size=1, bias=p.bias)
        else:
            fuse = nn.Linear(joined, p.width, bias=p.bias)
        return _ConcatFusion(tuple(shapes), fuse)
