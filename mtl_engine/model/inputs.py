"""Embedded table columns: the input module a model puts before its trunk.

A table column with many levels reaches the model as one feature holding the level's index (a
float holding an integer, 0 = missing or unseen; data/tabular.py, kind "embedded"), so the input
stays one float tensor through the preprocessing, the bundle and the exports. `EmbeddedInputs`
looks each index up in its column's nn.Embedding and gives the other features, in their order,
followed by the embeddings: the trunk reads that wider row. Its parameters are shared (every task
reads them). A dataset without embedded columns gets no input module at all.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ..data.base import DatasetSpec
from ..errors import ConfigError

WHERE = "inputs.embedding"  # the model table's row for the input module
INIT_STD = 0.01  # the embeddings' initial spread


@dataclass(frozen=True)
class InputLayout:
    """Where the embedded columns' index features are in the input row, and their tables."""

    n_features: int
    ids: tuple[int, ...]  # position of each embedded column's index feature
    sizes: tuple[int, ...]  # rows of each table: its levels + the missing/unseen row 0
    dims: tuple[int, ...]  # numbers per level
    names: tuple[str, ...]

    @property
    def rest(self) -> tuple[int, ...]:
        """Positions of the features passed through unchanged, in order."""
        ids = set(self.ids)
        return tuple(i for i in range(self.n_features) if i not in ids)

    @property
    def width(self) -> int:
        """Features the trunk reads: the others plus every embedding."""
        return self.n_features - len(self.ids) + sum(self.dims)

    @property
    def n_params(self) -> int:
        return sum(s * d for s, d in zip(self.sizes, self.dims, strict=True))


def _width(column: dict) -> int:
    if column["kind"] == "categorical":
        return len(column["levels"]) + bool(column.get("other", False))
    return 1  # numeric, embedded


def input_layout(spec: DatasetSpec) -> InputLayout | None:
    """The layout of `spec`'s embedded columns; None when it has none (no input module)."""
    columns = tuple(spec.input_columns)
    if spec.multi_input:  # named inputs get branches instead (model/branches.py)
        return None
    if not any(c["kind"] == "embedded" for c in columns):
        return None
    n = sum(_width(c) for c in columns)
    if tuple(spec.input_shape) != (n,):
        raise ConfigError("data", f"the input columns make {n} features but the dataset's input "
                                  f"shape is {list(spec.input_shape)}")
    ids, sizes, dims, names = [], [], [], []
    position = 0
    for c in columns:
        if c["kind"] == "embedded":
            ids.append(position)
            sizes.append(len(c["levels"]) + 1)
            dims.append(int(c["dim"]))
            names.append(str(c["name"]))
        position += _width(c)
    return InputLayout(n, tuple(ids), tuple(sizes), tuple(dims), tuple(names))


def model_input_shape(spec: DatasetSpec) -> tuple[int, ...]:
    """The shape the trunk reads: the dataset's, or the embedded layout's width."""
    layout = input_layout(spec)
    return tuple(spec.input_shape) if layout is None else (layout.width,)


class EmbeddedInputs(nn.Module):
    """(B, n_features) rows with index features -> (B, width): the other features, then one
    embedding per embedded column. An index is truncated to an integer and clamped to its table
    (a NaN or negative one reads row 0, missing), so no row can index outside it."""

    def __init__(self, layout: InputLayout) -> None:
        super().__init__()
        self.tables = nn.ModuleList(nn.Embedding(s, d)
                                    for s, d in zip(layout.sizes, layout.dims, strict=True))
        for table in self.tables:
            # small, as fastai does: a level no training row has (only in the validation or
            # test rows) keeps a near-zero, neutral vector instead of a random unit-scale one
            nn.init.trunc_normal_(table.weight, std=INIT_STD, a=-2 * INIT_STD, b=2 * INIT_STD)
        self.ids = layout.ids
        self.top = tuple(s - 1 for s in layout.sizes)
        # not in the state dict: it follows from the dataset declaration
        self.register_buffer("rest", torch.tensor(layout.rest, dtype=torch.long),
                             persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        parts = [x.index_select(1, self.rest)]
        for table, i, top in zip(self.tables, self.ids, self.top, strict=True):
            index = torch.nan_to_num(x[:, i], nan=0.0).long().clamp(0, top)
            parts.append(table(index).to(x.dtype))
        return torch.cat(parts, dim=1)
