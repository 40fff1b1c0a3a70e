"""Layers over a padded token sequence (L, D) that respect its mask (True at real tokens; the
sequence is padded on the right, real tokens first).

token_pool: one (D,) summary of the sequence. `last` is the last real token's row, the usual
summary of a recurrent layer's output (the seed's "last hidden state"); `first` the row at
position 0; `mean` / `max` run over the real tokens only. For a bidirectional lstm / gru the
backward half of the last token's row has only read that one token (it starts there), so mode
`ends` takes the forward half at the last real token and the backward half at position 0, where
each direction has read the whole sequence (the standard bidirectional summary, Schuster &
Paliwal 1997; e.g. the final states of both directions in Bahdanau et al., ICLR 2015).

conv1d: a 1-d convolution over token positions (Kim, "Convolutional neural networks for sentence
classification", EMNLP 2014), odd kernel, stride 1 and "same" padding, so (L, D) -> (L,
out_channels). Padded positions are zeroed before the convolution and in its output, so a real
position's output is exactly the one of the sequence zero-padded beyond its end.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn

from ..registry import param
from .base import LayerType, Shape, register_layer


def _need_tokens(layer: LayerType, in_shape: Shape, path: str) -> Shape:
    if len(in_shape) == 2:
        return in_shape
    if len(in_shape) == 1:
        hint = ("put an embedding before it to turn token ids (L,) into (L, dim), or an lstm / "
                "gru / conv1d after one")
    else:
        hint = "it works on tokens, not on feature maps (C, H, W)"
    raise layer.fail(path, in_shape, f"{layer.name} needs a token sequence (L, D); {hint}")


class _TokenPool(nn.Module):
    def __init__(self, mode: str) -> None:
        super().__init__()
        self.mode = mode

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        if self.mode == "first":
            return x[:, 0]
        if mask is None:
            real_at = torch.ones(x.shape[0], x.shape[1], dtype=torch.bool, device=x.device)
        else:
            real_at = mask
        real = real_at.unsqueeze(-1)  # (B, L, 1)
        if self.mode == "mean":
            count = real.sum(dim=1).clamp(min=1).to(x.dtype)
            return x.masked_fill(~real, 0.0).sum(dim=1) / count
        if self.mode == "max":  # a sequence without real tokens pools to 0
            top = x.masked_fill(~real, float("-inf")).amax(dim=1)
            return top.masked_fill(~real.any(dim=1), 0.0)
        last = (real_at.sum(dim=1) - 1).clamp(min=0)  # (B,): the last real position
        rows = x.gather(1, last.view(-1, 1, 1).expand(-1, 1, x.shape[2])).squeeze(1)
        if self.mode == "last":
            return rows
        half = x.shape[2] // 2  # "ends": forward half at the last token, backward half at 0
        return torch.cat([rows[:, :half], x[:, 0, half:]], dim=1)


@register_layer("token_pool", "Pool a padded token sequence (L, D) into (D,): the last real "
                              "token, the first, the mean or max over real tokens, or a "
                              "bidirectional layer's two ends")
class TokenPool(LayerType):
    takes_mask = True

    @dataclass(frozen=True)
    class Params:
        mode: Literal["last", "mean", "max", "first", "ends"] = param(
            "last", "last: the last real token's row; mean / max: over the real tokens; first: "
                    "position 0; ends: for a bidirectional lstm / gru, the forward half at the "
                    "last real token and the backward half at position 0")

    def infer(self, in_shape: Shape, p: Params, path: str) -> Shape:
        length, width = _need_tokens(self, in_shape, path)
        if p.mode == "ends" and width % 2:
            raise self.fail(path, in_shape, f"mode ends splits the width into forward and "
                                            f"backward halves, but D = {width} is odd; use it "
                                            "after a bidirectional lstm or gru")
        return (width,)

    def build(self, in_shape: Shape, p: Params) -> nn.Module:
        return _TokenPool(p.mode)


class _TokenConv(nn.Module):
    def __init__(self, width: int, out_channels: int, kernel: int, bias: bool) -> None:
        super().__init__()
        self.conv = nn.Conv1d(width, out_channels, kernel, padding=kernel // 2, bias=bias)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        if mask is not None:
            x = x.masked_fill(~mask.unsqueeze(-1), 0.0)
        out = self.conv(x.transpose(1, 2)).transpose(1, 2)
        if mask is not None:
            out = out.masked_fill(~mask.unsqueeze(-1), 0.0)
        return out


@register_layer("conv1d", "1-d convolution over token positions (L, D) -> (L, out_channels), odd "
                          "kernel with 'same' padding; masked (Kim, EMNLP 2014)",
                paper="Kim, EMNLP 2014")
class Conv1d(LayerType):
    takes_mask = True

    @dataclass(frozen=True)
    class Params:
        out_channels: int = param(64, "numbers per position in the output (filters)", low=1)
        kernel_size: int = param(3, "positions each output reads (odd, centred on it)", low=1)
        bias: bool = param(True, "add a learnable bias per output channel")

    def infer(self, in_shape: Shape, p: Params, path: str) -> Shape:
        length, _ = _need_tokens(self, in_shape, path)
        if p.kernel_size % 2 == 0:
            raise self.fail(path, in_shape, f"kernel_size {p.kernel_size} is even; an odd "
                                            "kernel keeps each output centred on its token")
        return (length, p.out_channels)

    def build(self, in_shape: Shape, p: Params) -> nn.Module:
        return _TokenConv(in_shape[1], p.out_channels, p.kernel_size, p.bias)
