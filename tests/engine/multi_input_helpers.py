"""A tiny dataset over three named, typed inputs and two stand-in layers, for the multi-input
tests. Registered by `registered()` only while a test runs, and removed afterwards.

Inputs: `feats` (4,) float32 features (mean 3, std 2: the preprocessing has work to do), `words`
(6,) int64 tokens over a vocabulary of 10 with padding id 0 (1..6 real tokens, then 0s), `user`
() int64 ids over 5 users. Tasks: `score` (regression) = 2 * feats[0] (raw units) + the mean value
of the real words (word t is worth t - 5) + a per-user offset; `flag` (binary) = feats[1] + the
user's offset > 3.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from mtl_engine.data.base import Dataset, DatasetSpec, DataTask, InputSpec
from mtl_engine.model.base import LayerType, Shape, register_layer
from mtl_engine.registry import DATASETS, LAYERS, param

DATASET = "multi_input_toy"
EMBED = "test_embed"
POOL = "test_mask_pool"
L, VOCAB, USERS = 6, 10, 5
INPUTS = (
    InputSpec("feats", (4,), "float32", "features", description="four float features"),
    InputSpec("words", (L,), "int64", "tokens", vocab=VOCAB, padding_idx=0),
    InputSpec("user", (), "int64", "ids", vocab=USERS),
)
OFFSETS = np.array([-1.0, 0.0, 1.0, 2.0, -2.0])


def make(n: int, seed: int) -> Dataset:
    rng = np.random.default_rng(seed)
    feats = (3.0 + 2.0 * rng.normal(size=(n, 4))).astype(np.float32)
    lengths = rng.integers(1, L + 1, size=n)
    words = rng.integers(1, VOCAB, size=(n, L))
    words[np.arange(L)[None, :] >= lengths[:, None]] = 0
    user = rng.integers(0, USERS, size=n)
    real = words > 0
    word_mean = np.where(real, words - 5.0, 0.0).sum(axis=1) / real.sum(axis=1)
    score = 2.0 * feats[:, 0] + word_mean + OFFSETS[user]
    flag = (feats[:, 1] + OFFSETS[user] > 3.0).astype(np.float32)
    tasks = (DataTask("score", "regression", loss="mse", metric="mse"),
             DataTask("flag", "binary", 2, loss="bce", metric="accuracy"))
    spec = DatasetSpec(DATASET, (4,), tasks, n, "three typed inputs", "generated",
                       inputs=INPUTS)
    x = {"feats": feats, "words": words.astype(np.int64), "user": user.astype(np.int64)}
    return Dataset(spec, x, {"score": score.astype(np.float32), "flag": flag})


@dataclass(frozen=True)
class _ToyParams:
    n_samples: int = param(600, "rows", low=10)


class TestEmbed(LayerType):
    """A stand-in for the sequence helper's embedding: ids (...) -> (..., dim)."""

    @dataclass(frozen=True)
    class Params:
        vocab: int = param(0, "ids (0: the input's vocab)", low=0)
        dim: int = param(4, "numbers per id", low=1)
        padding_idx: int = param(-1, "padding id (-1: the input's)", low=-1)

    def infer(self, in_shape: Shape, p: Any, path: str) -> Shape:
        if p.vocab < 1:
            raise self.fail(path, in_shape, "vocab was not filled in")
        return (*in_shape, p.dim)

    def count(self, in_shape: Shape, p: Any) -> int:
        return p.vocab * p.dim  # as the real embedding: no table built on the meta device

    def build(self, in_shape: Shape, p: Any) -> nn.Module:
        return nn.Embedding(p.vocab, p.dim, padding_idx=None if p.padding_idx < 0
                            else p.padding_idx)


class _MaskMean(nn.Module):
    def forward(self, x: Tensor, mask: Tensor | None) -> Tensor:
        if mask is None:
            return x.mean(dim=1)
        w = mask.to(x.dtype).unsqueeze(-1)
        return (x * w).sum(dim=1) / w.sum(dim=1).clamp_min(1.0)


class TestMaskPool(LayerType):
    """A stand-in for token_pool: the mean over the real tokens, (L, D) -> (D,)."""

    takes_mask = True

    def infer(self, in_shape: Shape, p: Any, path: str) -> Shape:
        if len(in_shape) != 2:
            raise self.fail(path, in_shape, "needs (L, D)")
        return (in_shape[1],)

    def build(self, in_shape: Shape, p: Any) -> nn.Module:
        return _MaskMean()


@contextlib.contextmanager
def registered() -> Iterator[None]:
    """The toy dataset and the two stand-in layers, registered for the block's duration."""
    DATASETS.load()
    LAYERS.load()
    DATASETS.register(DATASET, "three typed inputs (tests only)", params=_ToyParams)(
        lambda given, seed: make(int((given or {}).get("n_samples", 600)), seed))
    register_layer(EMBED, "test embedding")(TestEmbed)
    register_layer(POOL, "test masked mean")(TestMaskPool)
    try:
        yield
    finally:
        for reg, name in ((DATASETS, DATASET), (LAYERS, EMBED), (LAYERS, POOL)):
            reg._entries.pop(name, None)  # noqa: SLF001 - no public unregister: tests only


def config(**changes: Any) -> dict[str, Any]:
    d: dict[str, Any] = {
        "name": "three inputs",
        "data": {"dataset": DATASET, "val_fraction": 0.25},
        "branches": {
            "feats": [],
            "words": [{"type": EMBED, "dim": 8}, {"type": POOL}],
            "user": [{"type": EMBED, "dim": 3}],
        },
        "merge": {"type": "concat"},
        "trunk": [{"type": "linear", "out_features": 32}, {"type": "relu"}],
        "tasks": [{"name": "score"}, {"name": "flag"}],
        "optimizer": {"name": "adam", "lr": 0.01},
        "training": {"epochs": 6, "batch_size": 64, "seed": 1, "device": "cpu",
                     "log_every": 5},
    }
    d.update(changes)
    return d


def torch_rows(ds: Dataset, rows: slice) -> dict[str, torch.Tensor]:
    assert isinstance(ds.x, dict)
    return {k: torch.as_tensor(v[rows]) for k, v in ds.x.items()}
