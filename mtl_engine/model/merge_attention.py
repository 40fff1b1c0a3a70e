"""Cross-attention merge: the tokens of one branch (the queries) attend over the tokens of another
(keys and values), the encoder-decoder attention of Vaswani et al., "Attention is all you need",
NeurIPS 2017 (eq. 1 and section 3.2.2): softmax(Q K^T / sqrt(d_k)) V per head, heads concatenated
and projected; with the seeds' use, image queries over text keys / values.

A branch output (C, H, W) is read as H*W tokens of width C, (L, D) as L tokens of width D and (D,)
as one token. The queries are first mapped to `dim` (the residual stream x); the output is
x + attention(x, keys), shape (Lq, dim), or its mean over the (real) queries, (dim,), when `pool`
is on (the default, so a flat trunk can follow). The key branch's padding mask (when its output
is still a padded sequence) keeps padded keys out of every softmax: they get weight 0, and a
query whose keys are all padding gets attention 0 (its output is x). A padded query branch's
padded positions give 0 and are left out of the pooled mean.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ..registry import param
from .base import Shape
from .merge import MergeType, register_merge


def _tokens(x: Tensor) -> Tensor:
    """(B, C, H, W) -> (B, H*W, C); (B, L, D) unchanged; (B, D) -> (B, 1, D)."""
    if x.dim() == 4:
        return x.flatten(2).transpose(1, 2)
    if x.dim() == 2:
        return x.unsqueeze(1)
    return x


def _token_count_and_width(shape: Shape) -> tuple[int, int]:
    if len(shape) == 3:
        return shape[1] * shape[2], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    return 1, shape[0]


class _CrossAttention(nn.Module):
    def __init__(self, query: str, keys: str, query_width: int, key_width: int, dim: int,
                 heads: int, pool: bool) -> None:
        super().__init__()
        self.query = query
        self.keys = keys
        self.heads = heads
        self.pool = pool
        self.embed = nn.Linear(query_width, dim)  # queries -> the residual stream x
        self.q = nn.Linear(dim, dim)
        self.k = nn.Linear(key_width, dim)
        self.v = nn.Linear(key_width, dim)
        self.out = nn.Linear(dim, dim)

    def _split(self, t: Tensor) -> Tensor:  # (B, N, dim) -> (B, heads, N, dim / heads)
        b, n, d = t.shape
        return t.reshape(b, n, self.heads, d // self.heads).transpose(1, 2)

    def forward(self, feats: dict[str, Tensor], masks: dict[str, Tensor]) -> Tensor:
        x = self.embed(_tokens(feats[self.query]))  # (B, Lq, dim)
        kv = _tokens(feats[self.keys])  # (B, Lk, Ck)
        q, k, v = self._split(self.q(x)), self._split(self.k(kv)), self._split(self.v(kv))
        scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (B, heads, Lq, Lk)
        b, n, d = x.shape
        if self.keys in masks:
            real = masks[self.keys][:, None, None, :]  # (B, 1, 1, Lk)
            anything = real.any(dim=-1, keepdim=True)  # (B, 1, 1, 1): any real key at all
            # Padded keys get weight 0; a batch row without real keys gets no attention (its
            # scores are set finite first, so the softmax never sees only -inf).
            scores = scores.masked_fill(~real, float("-inf")).masked_fill(~anything, 0.0)
            weights = torch.softmax(scores, dim=-1).masked_fill(~real, 0.0)
            attended = self.out((weights @ v).transpose(1, 2).reshape(b, n, d))
            attended = attended.masked_fill(~anything.view(b, 1, 1), 0.0)
        else:
            weights = torch.softmax(scores, dim=-1)
            attended = self.out((weights @ v).transpose(1, 2).reshape(b, n, d))
        out = x + attended
        if self.query in masks:
            real_q = masks[self.query].unsqueeze(-1)  # (B, Lq, 1)
            out = out.masked_fill(~real_q, 0.0)
            if self.pool:
                return out.sum(dim=1) / real_q.sum(dim=1).clamp(min=1).to(out.dtype)
        if self.pool:
            return out.mean(dim=1)
        return out


@register_merge("cross_attention", "Queries from one branch attend over the tokens of another "
                                   "(keys / values), masked, with a residual; mean-pooled to "
                                   "(dim,) unless pool is off (Vaswani et al., NeurIPS 2017)",
                paper="Vaswani et al., NeurIPS 2017")
class CrossAttention(MergeType):
    @dataclass(frozen=True)
    class Params:
        query: str = param("", "the input whose branch gives the queries; empty = the first "
                               "branch")
        keys: str = param("", "the input whose branch gives the keys and values; empty = the "
                              "other branch (name it when there are more than two)")
        dim: int = param(64, "width of the queries, keys and values (the output width)", low=1)
        heads: int = param(1, "attention heads; must divide dim", low=1)
        pool: bool = param(True, "average the attended queries into one (dim,) row; off: "
                                 "(queries, dim)")

    def _names(self, shapes: Mapping[str, Shape], p: Params, path: str) -> tuple[str, str]:
        names = list(shapes)
        if len(names) < 2:
            raise self.fail(path, shapes, "cross_attention needs two branches, one for the "
                                          "queries and one for the keys and values")
        query = p.query or names[0]
        if query not in shapes:
            raise self.fail(path, shapes, f"query {query!r} is not a branch; choose one of "
                                          f"{', '.join(names)}")
        others = [n for n in names if n != query]
        if p.keys:
            keys = p.keys
            if keys not in shapes:
                raise self.fail(path, shapes, f"keys {keys!r} is not a branch; choose one of "
                                              f"{', '.join(others)}")
            if keys == query:
                raise self.fail(path, shapes, f"keys and query are both {keys!r}; the keys "
                                              "come from another branch (use a self_attention "
                                              "layer for one branch)")
        elif len(others) == 1:
            keys = others[0]
        else:
            raise self.fail(path, shapes, f"with {len(names)} branches, name the branch of the "
                                          f"keys and values in keys (one of "
                                          f"{', '.join(others)})")
        unused = [n for n in names if n not in (query, keys)]
        if unused:
            raise self.fail(path, shapes, f"cross_attention merges two branches; "
                                          f"{', '.join(unused)} would be unused")
        for name in (query, keys):
            if not 1 <= len(shapes[name]) <= 3:
                raise self.fail(path, shapes, f"branch {name!r} gives {list(shapes[name])}; "
                                              "cross_attention reads features (D,), tokens "
                                              "(L, D) or a feature map (C, H, W)")
        return query, keys

    def infer(self, shapes: Mapping[str, Shape], p: Params, path: str) -> Shape:
        query, _ = self._names(shapes, p, path)
        if p.dim % p.heads:
            raise self.fail(path, shapes, f"heads {p.heads} must divide dim {p.dim}")
        if p.pool:
            return (p.dim,)
        return (_token_count_and_width(shapes[query])[0], p.dim)

    def build(self, shapes: Mapping[str, Shape], p: Params) -> nn.Module:
        query, keys = self._names(shapes, p, "merge")
        return _CrossAttention(query, keys, _token_count_and_width(shapes[query])[1],
                               _token_count_and_width(shapes[keys])[1], p.dim, p.heads, p.pool)
