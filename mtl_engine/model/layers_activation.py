"""Element-wise activations; none has parameters and every one keeps the input shape.

ReLU: Nair & Hinton, ICML 2010. Leaky ReLU: Maas, Hannun & Ng, ICML Workshop 2013,
f(x) = x if x > 0 else a x. GELU: Hendrycks & Gimpel, arXiv:1606.08415 (2016), f(x) = x Phi(x).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import nn

from ..registry import param
from .base import LayerType, Shape, register_layer


class _Elementwise(LayerType):
    make: Callable[[Any], nn.Module] = staticmethod(lambda p: nn.Identity())

    def infer(self, in_shape: Shape, p: Any, path: str) -> Shape:
        return tuple(in_shape)

    def build(self, in_shape: Shape, p: Any) -> nn.Module:
        return type(self).make(p)


_PLAIN = {
    "relu": (nn.ReLU, "Rectified linear unit max(0, x) (Nair & Hinton, ICML 2010)"),
    "gelu": (nn.GELU, "Gaussian error linear unit x Phi(x) (Hendrycks & Gimpel, 2016)"),
    "tanh": (nn.Tanh, "Hyperbolic tangent, squashes to (-1, 1)"),
    "sigmoid": (nn.Sigmoid, "Logistic sigmoid, squashes to (0, 1)"),
}

for _name, (_cls, _summary) in _PLAIN.items():
    register_layer(_name, _summary)(
        type(f"_{_name.title()}", (_Elementwise,),
             {"make": staticmethod(lambda p, c=_cls: c())})
    )


@register_layer("leaky_relu", "Leaky ReLU: x if x > 0 else negative_slope * x "
                              "(Maas et al., ICML Workshop 2013)")
class LeakyReLU(_Elementwise):
    @dataclass(frozen=True)
    class Params:
        negative_slope: float = param(0.01, "slope for negative inputs", low=0.0)

    make = staticmethod(lambda p: nn.LeakyReLU(p.negative_slope))
