"""Multi-head self-attention over tokens (Vaswani et al., "Attention is all you need", NeurIPS 2017,
eq. 1 and section 3.2.2): softmax(Q K^T / sqrt(d_k)) V per head, heads concatenated and projected.

A (C, H, W) map is read as H*W tokens of width C (the seeds' attention over flattened spatial
tokens), an (L, D) input as L tokens of width D. With `residual` (the default) the block returns
x + attention(x), as in the Transformer's sub-layers; the output shape always equals the input's.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn
from torch.nn import functional as F

from ..registry import param
from .base import LayerType, Shape, register_layer


class _SelfAttention(nn.Module):
    # Written out with scaled_dot_product_attention rather than nn.MultiheadAttention, whose
    # evaluation fast path changes the graph between runs and fails TorchScript's trace check.
    def __init__(self, width: int, heads: int, dropout: float, residual: bool) -> None:
        super().__init__()
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)
        self.heads = heads
        self.dropout = dropout
        self.residual = residual

    def forward(self, x: Tensor) -> Tensor:
        image = x.dim() == 4
        tokens = x.flatten(2).transpose(1, 2) if image else x  # (B, L, D); L = H*W for a map
        b, n, d = tokens.shape
        q, k, v = (t.reshape(b, n, self.heads, d // self.heads).transpose(1, 2)
                   for t in self.qkv(tokens).chunk(3, dim=-1))
        mixed = F.scaled_dot_product_attention(q, k, v,
                                               dropout_p=self.dropout if self.training else 0.0)
        out = self.out(mixed.transpose(1, 2).reshape(b, n, d))
        if self.residual:
            out = out + tokens
        return out.transpose(1, 2).reshape(x.shape) if image else out


@register_layer("self_attention", "Multi-head self-attention over tokens ((C, H, W) read as H*W "
                                  "tokens of width C); adds the input back (residual) unless "
                                  "residual is off (Vaswani et al., NeurIPS 2017)",
                paper="Vaswani et al., NeurIPS 2017")
class SelfAttention(LayerType):
    @dataclass(frozen=True)
    class Params:
        num_heads: int = param(1, "attention heads; must divide the token width", low=1)
        dropout: float = param(0.0, "dropout on the attention weights", low=0.0, high=1.0)
        residual: bool = param(True, "return x + attention(x) instead of attention(x)")

    def infer(self, in_shape: Shape, p: Params, path: str) -> Shape:
        if len(in_shape) == 3:
            width, what = in_shape[0], "channels C"
        elif len(in_shape) == 2:
            width, what = in_shape[1], "token width D"
        else:
            raise self.fail(path, in_shape, "self_attention needs tokens (L, D) or a feature map "
                                            "(C, H, W); a flat (features,) input is one token")
        if width % p.num_heads:
            raise self.fail(path, in_shape,
                            f"num_heads {p.num_heads} must divide the {what} = {width}")
        return tuple(in_shape)

    def build(self, in_shape: Shape, p: Params) -> nn.Module:
        width = in_shape[0] if len(in_shape) == 3 else in_shape[1]
        return _SelfAttention(width, p.num_heads, p.dropout, p.residual)
