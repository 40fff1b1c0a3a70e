"""Rows of a model's input, one tensor or a dict of named tensors (issue 15: typed inputs).

A one-input model reads a (N, *shape) float tensor; a model over named inputs reads a dict of
them, each in its own dtype (int64 ids stay int64). These helpers take rows of either the same
way, so the training loop, evaluation and predict need no case of their own.
"""

from __future__ import annotations

from typing import Union

import torch
from torch import Tensor

Inputs = Union[Tensor, dict[str, Tensor]]  # noqa: UP007 - a runtime alias


def n_rows(x: Inputs) -> int:
    if isinstance(x, dict):
        return int(next(iter(x.values())).shape[0]) if x else 0
    return int(x.shape[0])


def take(x: Inputs, idx: Tensor) -> Inputs:
    """Rows `idx` (a 1-d index tensor on the inputs' device) of every input, each in the memory
    layout of its source."""
    if isinstance(x, dict):
        return {k: _rows(v, idx) for k, v in x.items()}
    return _rows(x, idx)


def _rows(v: Tensor, idx: Tensor) -> Tensor:
    # index_select copies into row-major strides; indexing keeps the source's, which matters
    # for images: a convolution picks its kernel by the input's layout, and a one-channel image
    # tensor stored channels-last (N, 1, H, W with strides (HW, 1, W, 1)) trained 13-15 % slower
    # per step as a row-major copy (mnist_localisation, docs/engine.md). For tables and ids
    # index_select is the faster copy and the strides are the same.
    return v[idx] if v.dim() > 2 else v.index_select(0, idx)


def part(x: Inputs, rows: slice) -> Inputs:
    """A contiguous slice of rows of every input."""
    if isinstance(x, dict):
        return {k: v[rows] for k, v in x.items()}
    return x[rows]


def float_dtype(x: Inputs) -> torch.dtype:
    """The floating dtype the model computes in: a float input's (float32 when all are ids)."""
    if isinstance(x, dict):
        return next((v.dtype for v in x.values() if v.is_floating_point()), torch.float32)
    return x.dtype


def to_device(x: Inputs, device: torch.device | str) -> Inputs:
    """Moved to `device`, each input keeping its dtype (int64 stays int64)."""
    if isinstance(x, dict):
        return {k: v.to(device) for k, v in x.items()}
    return x.to(device)
