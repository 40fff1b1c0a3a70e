"""Convolution and pooling over (C, H, W) feature maps.

Convolutional networks: LeCun et al., "Gradient-based learning applied to document recognition",
Proc. IEEE 1998 (LeNet). Output size per spatial axis: floor((n + 2 padding - kernel) / stride) + 1.
A 1x1 convolution maps channels position by position (Lin, Chen & Yan, "Network in network",
ICLR 2014), the seeds' channel-alignment block. Adaptive pooling (fixed output size whatever the
input) aligns feature maps of different sizes, as in spatial pyramid pooling (He et al., ECCV 2014).
"""

from __future__ import annotations

from typing import Any

from torch import nn

from ..registry import Param
from .base import LayerType, Shape, register_layer


def _out_size(n: int, kernel: int, stride: int, padding: int) -> int:
    return (n + 2 * padding - kernel) // stride + 1


class _Windowed(LayerType):
    """Shared shape rule of layers that slide a square kernel over the map."""

    def _check_window(self, in_shape: Shape, kernel: int, padding: int, path: str) -> None:
        _, h, w = self.need_map(in_shape, path)
        if kernel > h + 2 * padding or kernel > w + 2 * padding:
            padded = f" (padded by {padding})" if padding else ""
            raise self.fail(path, in_shape, f"kernel {kernel} is larger than the {h}x{w} "
                                            f"input{padded}")


@register_layer("conv2d", "2-d convolution over (C, H, W); kernel_size 1 is the 1x1 "
                          "channel-mapping case (Lin et al., ICLR 2014)",
                paper="LeCun et al., Proc. IEEE 1998")
class Conv2d(_Windowed):
    params = (
        Param("out_channels", "int", 16, "number of output channels (filters)", low=1),
        Param("kernel_size", "int", 3, "side of the square kernel; 1 maps channels only", low=1),
        Param("stride", "int", 1, "step between kernel positions", low=1),
        Param("padding", "int", 0, "zeros added on each side of H and W", low=0),
        Param("bias", "bool", True, "add a learnable bias per output channel"),
    )

    def infer(self, in_shape: Shape, params: dict[str, Any], path: str) -> Shape:
        p = self.full(params)
        k, s, pad = int(p["kernel_size"]), int(p["stride"]), int(p["padding"])
        self._check_window(in_shape, k, pad, path)
        _, h, w = in_shape
        return (int(p["out_channels"]), _out_size(h, k, s, pad), _out_size(w, k, s, pad))

    def build(self, in_shape: Shape, params: dict[str, Any]) -> nn.Module:
        p = self.full(params)
        return nn.Conv2d(in_shape[0], p["out_channels"], p["kernel_size"], stride=p["stride"],
                         padding=p["padding"], bias=p["bias"])


class _Pool(_Windowed):
    params = (
        Param("kernel_size", "int", 2, "side of the square pooling window", low=1),
        Param("stride", "int", None, "step between windows; empty = kernel_size", low=1,
              optional=True),
    )
    module: type[nn.Module] = nn.MaxPool2d

    def _ks(self, params: dict[str, Any]) -> tuple[int, int]:
        p = self.full(params)
        k = int(p["kernel_size"])
        return k, int(p["stride"]) if p["stride"] is not None else k

    def infer(self, in_shape: Shape, params: dict[str, Any], path: str) -> Shape:
        k, s = self._ks(params)
        self._check_window(in_shape, k, 0, path)
        c, h, w = in_shape
        return (c, _out_size(h, k, s, 0), _out_size(w, k, s, 0))

    def build(self, in_shape: Shape, params: dict[str, Any]) -> nn.Module:
        k, s = self._ks(params)
        return type(self).module(k, stride=s)


@register_layer("maxpool2d", "Max pooling over square windows of a (C, H, W) map")
class MaxPool2d(_Pool):
    module = nn.MaxPool2d


@register_layer("avgpool2d", "Average pooling over square windows of a (C, H, W) map")
class AvgPool2d(_Pool):
    module = nn.AvgPool2d


class _AdaptivePool(LayerType):
    params = (
        Param("height", "int", 1, "output rows, whatever the input size", low=1),
        Param("width", "int", 1, "output columns, whatever the input size", low=1),
    )
    module: type[nn.Module] = nn.AdaptiveAvgPool2d

    def infer(self, in_shape: Shape, params: dict[str, Any], path: str) -> Shape:
        c, _, _ = self.need_map(in_shape, path)
        p = self.full(params)
        return (c, int(p["height"]), int(p["width"]))

    def build(self, in_shape: Shape, params: dict[str, Any]) -> nn.Module:
        p = self.full(params)
        return type(self).module((p["height"], p["width"]))


@register_layer("adaptive_avgpool2d", "Average-pool a (C, H, W) map to a fixed height x width "
                                      "(aligns maps of different sizes)")
class AdaptiveAvgPool2d(_AdaptivePool):
    module = nn.AdaptiveAvgPool2d


@register_layer("adaptive_maxpool2d", "Max-pool a (C, H, W) map to a fixed height x width "
                                      "(aligns maps of different sizes)")
class AdaptiveMaxPool2d(_AdaptivePool):
    module = nn.AdaptiveMaxPool2d
