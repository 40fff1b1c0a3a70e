"""Fully connected layers, reshaping and dropout.

linear: y = W x + b (the perceptron layer, Rosenblatt 1958). dropout: Srivastava et al., "Dropout: a
simple way to prevent neural networks from overfitting", JMLR 2014, eq. 2-4 (inverted scaling by
1/(1-p) at training time, identity at evaluation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from torch import nn

from ..registry import NoParams, param
from .base import LayerType, Shape, register_layer


@register_layer("linear", "Fully connected layer y = Wx + b on a flat (features,) input")
class Linear(LayerType):
    @dataclass(frozen=True)
    class Params:
        out_features: int = param(64, "number of output features", low=1)
        bias: bool = param(True, "add a learnable bias")

    def infer(self, in_shape: Shape, p: Params, path: str) -> Shape:
        self.need_flat(in_shape, path)
        return (p.out_features,)

    def build(self, in_shape: Shape, p: Params) -> nn.Module:
        return nn.Linear(in_shape[0], p.out_features, bias=p.bias)


@register_layer("flatten", "Flatten everything but the batch dimension into (features,)")
class Flatten(LayerType):
    def infer(self, in_shape: Shape, p: NoParams, path: str) -> Shape:
        return (math.prod(in_shape),)

    def build(self, in_shape: Shape, p: NoParams) -> nn.Module:
        return nn.Flatten()


@register_layer("unflatten", "Read a flat (features,) input as a (channels, height, width) map "
                             "so convolutions can follow")
class Unflatten(LayerType):
    @dataclass(frozen=True)
    class Params:
        channels: int = param(1, "channels of the map", low=1)
        height: int = param(8, "rows of the map", low=1)
        width: int = param(8, "columns of the map", low=1)

    def infer(self, in_shape: Shape, p: Params, path: str) -> Shape:
        out = (p.channels, p.height, p.width)
        if len(in_shape) != 1:
            raise self.fail(path, in_shape, "unflatten needs a flat input (features,); add a "
                                            "flatten layer before it")
        if math.prod(out) != in_shape[0]:
            raise self.fail(path, in_shape, f"channels x height x width = {out[0]}x{out[1]}x"
                                            f"{out[2]} = {math.prod(out)}, but the input has "
                                            f"{in_shape[0]} features")
        return out

    def build(self, in_shape: Shape, p: Params) -> nn.Module:
        return nn.Unflatten(1, (p.channels, p.height, p.width))


@register_layer("dropout", "Dropout: zero each value with probability p while training "
                           "(Srivastava et al., JMLR 2014)",
                paper="Srivastava et al., JMLR 2014")
class Dropout(LayerType):
    @dataclass(frozen=True)
    class Params:
        p: float = param(0.5, "probability of zeroing a value", low=0.0, high=1.0)

    def infer(self, in_shape: Shape, params: Params, path: str) -> Shape:
        return tuple(in_shape)

    def build(self, in_shape: Shape, params: Params) -> nn.Module:
        return nn.Dropout(params.p)
