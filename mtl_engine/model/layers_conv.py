"""Convolution and pooling over (C, H, W) feature maps.

Convolutional networks: LeCun et al., "Gradient-based learning applied to document recognition",
Proc. IEEE 1998 (LeNet). Output size per spatial axis: floor((n + 2 padding - kernel) / stride) + 1.
A 1x1 convolution maps channels position by position (Lin, Chen & Yan, "Network in network",
ICLR 2014), the seeds' channel-alignment block. Adaptive pooling (fixed output size whatever the
input) aligns feature maps of different sizes, as in spatial pyramid pooling (He et al., ECCV 2014).
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from ..registry import param
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
    @dataclass(frozen=True)
    class Params:
        out_channels: int = param(16, "number of output channels (filters)", low=1)
        kernel_size: int = param(3, "side of the square kernel; 1 maps channels only", low=1)
        stride: int = param(1, "step between kernel positions", low=1)
        padding: int = param(0, "zeros added on each side of H and W", low=0)
        bias: bool = param(True, "add a learnable bias per output channel")

    def infer(self, in_shape: Shape, p: Params, path: str) -> Shape:
        self._check_window(in_shape, p.kernel_size, p.padding, path)
        _, h, w = in_shape
        return (p.out_channels, _out_size(h, p.kernel_size, p.stride, p.padding),
                _out_size(w, p.kernel_size, p.stride, p.padding))

    def build(self, in_shape: Shape, p: Params) -> nn.Module:
        return nn.Conv2d(in_shape[0], p.out_channels, p.kernel_size, stride=p.stride,
                         padding=p.padding, bias=p.bias)


class _Pool(_Windowed):
    @dataclass(frozen=True)
    class Params:
        kernel_size: int = param(2, "side of the square pooling window", low=1)
        stride: int | None = param(None, "step between windows; empty = kernel_size", low=1)

    module: type[nn.Module] = nn.MaxPool2d

    @staticmethod
    def _stride(p: Params) -> int:
        return p.kernel_size if p.stride is None else p.stride

    def infer(self, in_shape: Shape, p: Params, path: str) -> Shape:
        self._check_window(in_shape, p.kernel_size, 0, path)
        c, h, w = in_shape
        stride = self._stride(p)
        return (c, _out_size(h, p.kernel_size, stride, 0), _out_size(w, p.kernel_size, stride, 0))

    def build(self, in_shape: Shape, p: Params) -> nn.Module:
        return type(self).module(p.kernel_size, stride=self._stride(p))


@register_layer("maxpool2d", "Max pooling over square windows of a (C, H, W) map")
class MaxPool2d(_Pool):
    module = nn.MaxPool2d


@register_layer("avgpool2d", "Average pooling over square windows of a (C, H, W) map")
class AvgPool2d(_Pool):
    module = nn.AvgPool2d


class _AdaptivePool(LayerType):
    @dataclass(frozen=True)
    class Params:
        height: int = param(1, "output rows, whatever the input size", low=1)
        width: int = param(1, "output columns, whatever the input size", low=1)

    module: type[nn.Module] = nn.AdaptiveAvgPool2d

    def infer(self, in_shape: Shape, p: Params, path: str) -> Shape:
        c, _, _ = self.need_map(in_shape, path)
        return (c, p.height, p.width)

    def build(self, in_shape: Shape, p: Params) -> nn.Module:
        return type(self).module((p.height, p.width))


@register_layer("adaptive_avgpool2d", "Average-pool a (C, H, W) map to a fixed height x width "
                                      "(aligns maps of different sizes)")
class AdaptiveAvgPool2d(_AdaptivePool):
    module = nn.AdaptiveAvgPool2d


@register_layer("adaptive_maxpool2d", "Max-pool a (C, H, W) map to a fixed height x width "
                                      "(aligns maps of different sizes)")
class AdaptiveMaxPool2d(_AdaptivePool):
    module = nn.AdaptiveMaxPool2d
