"""Normalisation layers.

batchnorm: Ioffe & Szegedy, "Batch normalization", ICML 2015, Algorithm 1 (statistics over the
batch, per feature or per channel; running averages at evaluation). layernorm: Ba, Kiros &
Hinton, "Layer normalization", arXiv:1607.06450 (2016), eq. 4 (statistics over the features of one
position).
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from ..registry import param
from .base import LayerType, Shape, register_layer


@register_layer("batchnorm", "Batch normalisation: 1-d over (features,), 2-d per channel over "
                             "(C, H, W) (Ioffe & Szegedy, ICML 2015)",
                paper="Ioffe & Szegedy, ICML 2015")
class BatchNorm(LayerType):
    @dataclass(frozen=True)
    class Params:
        affine: bool = param(True, "learn a scale and shift per feature/channel")

    def infer(self, in_shape: Shape, p: Params, path: str) -> Shape:
        if len(in_shape) not in (1, 3):
            raise self.fail(path, in_shape, "batchnorm takes (features,) or (C, H, W); use "
                                            "layernorm for tokens (L, D)")
        return tuple(in_shape)

    def build(self, in_shape: Shape, p: Params) -> nn.Module:
        cls = nn.BatchNorm1d if len(in_shape) == 1 else nn.BatchNorm2d
        return cls(in_shape[0], affine=p.affine)


class _ChannelLayerNorm(nn.Module):
    """Layer norm over the channels of each pixel of a (B, C, H, W) map."""

    def __init__(self, channels: int, affine: bool) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(channels, elementwise_affine=affine)

    def forward(self, x: Tensor) -> Tensor:
        return self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


@register_layer("layernorm", "Layer normalisation over the features of each position: all of "
                             "(F,), each token's D of (L, D), each pixel's C of (C, H, W) "
                             "(Ba et al., 2016)", paper="Ba, Kiros & Hinton, 2016")
class LayerNorm(LayerType):
    @dataclass(frozen=True)
    class Params:
        affine: bool = param(True, "learn a scale and shift per feature")

    def infer(self, in_shape: Shape, p: Params, path: str) -> Shape:
        if len(in_shape) not in (1, 2, 3):
            raise self.fail(path, in_shape, "layernorm takes (features,), (L, D) or (C, H, W)")
        return tuple(in_shape)

    def build(self, in_shape: Shape, p: Params) -> nn.Module:
        if len(in_shape) == 3:
            return _ChannelLayerNorm(in_shape[0], p.affine)
        return nn.LayerNorm(in_shape[-1], elementwise_affine=p.affine)
