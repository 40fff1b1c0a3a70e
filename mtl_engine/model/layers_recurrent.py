"""Recurrent layers over a padded token sequence: LSTM (Hochreiter & Schmidhuber, "Long short-term
memory", Neural Computation 1997) and GRU (Cho et al., "Learning phrase representations using RNN
encoder-decoder for statistical machine translation", EMNLP 2014), optionally bidirectional
(Schuster & Paliwal, "Bidirectional recurrent neural networks", IEEE Trans. Signal Processing
1997) and stacked with dropout between the layers.

Input (L, D) -> (L, hidden_size * directions); at each position the forward direction's state comes
first, then the backward one's. Padding never leaks into a real position: sequences are padded on
the right (real tokens first) and the mask (B, L) is True at real tokens. The forward direction is
causal, so real positions never see the padding after them. The backward direction reads each
sequence reversed within its own length (an index gather: positions 0..n-1 become n-1..0, the
padding stays behind them), runs, and is reversed back the same way, so it starts at the last real
token exactly as it would on the unpadded sequence. Padded positions of the output are 0. Each
stacked layer concatenates both directions before the next one reads them. (pack_padded_sequence
would do the same but cannot be exported with torch.export.)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ..registry import param
from .base import LayerType, Shape, register_layer

_CELLS = {"lstm": nn.LSTM, "gru": nn.GRU}


def reverse_within_length(x: Tensor, lengths: Tensor) -> Tensor:
    """x (B, L, D) with positions 0..n-1 of row b reversed (n = lengths[b]), the rest in place.

    Applying it twice gives x back.
    """
    pos = torch.arange(x.shape[1], device=x.device).unsqueeze(0)  # (1, L)
    n = lengths.unsqueeze(1)  # (B, 1)
    index = torch.where(pos < n, n - 1 - pos, pos)  # (B, L)
    return x.gather(1, index.unsqueeze(-1).expand(-1, -1, x.shape[2]))


class _RecurrentLayer(nn.Module):
    """One stacked layer: a forward cell and, when bidirectional, a backward one."""

    def __init__(self, cell: str, width: int, hidden: int, bidirectional: bool) -> None:
        super().__init__()
        make = _CELLS[cell]
        self.forward_cell = make(width, hidden, batch_first=True)
        self.backward_cell = make(width, hidden, batch_first=True) if bidirectional else None

    def forward(self, x: Tensor, mask: Tensor | None, lengths: Tensor | None) -> Tensor:
        out = self.forward_cell(x)[0]
        if self.backward_cell is not None:
            if lengths is None:
                back = torch.flip(self.backward_cell(torch.flip(x, [1]))[0], [1])
            else:
                back = reverse_within_length(
                    self.backward_cell(reverse_within_length(x, lengths))[0], lengths)
            out = torch.cat([out, back], dim=-1)
        if mask is not None:
            out = out.masked_fill(~mask.unsqueeze(-1), 0.0)
        return out


class _Recurrent(nn.Module):
    def __init__(self, cell: str, width: int, hidden: int, layers: int, bidirectional: bool,
                 dropout: float) -> None:
        super().__init__()
        directions = 2 if bidirectional else 1
        self.layers = nn.ModuleList(
            _RecurrentLayer(cell, width if i == 0 else hidden * directions, hidden, bidirectional)
            for i in range(layers))
        self.between = nn.Dropout(dropout)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        lengths = None if mask is None else mask.sum(dim=1)
        for i, layer in enumerate(self.layers):
            if i > 0:
                x = self.between(x)
            x = layer(x, mask, lengths)
        return x


class _RecurrentType(LayerType):
    takes_mask = True

    @dataclass(frozen=True)
    class Params:
        hidden_size: int = param(64, "numbers in the state of each direction", low=1)
        num_layers: int = param(1, "stacked layers, each reading the one before", low=1)
        bidirectional: bool = param(False, "add a direction that reads the sequence backwards "
                                           "(output width doubles)")
        dropout: float = param(0.0, "dropout between stacked layers (not after the last)",
                               low=0.0, high=1.0)

    def infer(self, in_shape: Shape, p: Params, path: str) -> Shape:
        if len(in_shape) == 1:
            raise self.fail(path, in_shape, f"{self.name} needs a token sequence (L, D); put an "
                                            "embedding before it to turn token ids (L,) into "
                                            "(L, dim)")
        if len(in_shape) != 2:
            raise self.fail(path, in_shape, f"{self.name} needs a token sequence (L, D), not a "
                                            "feature map; use conv2d layers on images")
        return (in_shape[0], p.hidden_size * (2 if p.bidirectional else 1))

    def build(self, in_shape: Shape, p: Params) -> nn.Module:
        return _Recurrent(self.name, in_shape[1], p.hidden_size, p.num_layers, p.bidirectional,
                          p.dropout)


@register_layer("lstm", "LSTM over a padded token sequence (L, D) -> (L, hidden * directions); "
                        "masked so padding never reaches a real token "
                        "(Hochreiter & Schmidhuber, 1997)",
                paper="Hochreiter & Schmidhuber, Neural Computation 1997")
class LSTM(_RecurrentType):
    pass


@register_layer("gru", "GRU over a padded token sequence (L, D) -> (L, hidden * directions); "
                       "masked so padding never reaches a real token (Cho et al., EMNLP 2014)",
                paper="Cho et al., EMNLP 2014")
class GRU(_RecurrentType):
    pass
