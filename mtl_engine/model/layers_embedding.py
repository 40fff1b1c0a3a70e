"""Embedding: a learnt table that turns integer ids into vectors (Bengio et al., "A neural
probabilistic language model", JMLR 2003, section 2: the shared feature matrix C).

Input: one id () -> (dim,), k ids (k,) -> (k, dim), a padded token sequence (L,) -> (L, dim).
The ids must be int64 in [0, vocab). `vocab: 0` and `padding_idx: -1` mean "take them from the
input this branch reads": the branch builder fills them in from the dataset's InputSpec before
the layer is parsed; a padding_idx still -1 then means the input has no padding. The padding
row starts at zero and gets no gradient (torch's padding_idx), so padded positions embed to 0.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from ..registry import param
from .base import LayerType, Shape, register_layer


@register_layer("embedding", "Look integer ids up in a learnt table: () -> (dim,), ids or tokens "
                             "(L,) -> (L, dim); vocab 0 / padding_idx -1 = from the input "
                             "(Bengio et al., JMLR 2003)",
                paper="Bengio et al., JMLR 2003")
class Embedding(LayerType):
    @dataclass(frozen=True)
    class Params:
        vocab: int = param(0, "rows of the table (distinct ids); 0 = the vocabulary of the "
                              "input this branch reads", low=0)
        dim: int = param(32, "numbers per id (the embedding width)", low=1)
        padding_idx: int = param(-1, "the id that pads a sequence (its row stays 0 and is not "
                                     "trained); -1 = the input's padding id, or none", low=-1)

    def infer(self, in_shape: Shape, p: Params, path: str) -> Shape:
        if p.vocab == 0:
            raise self.fail(path, in_shape, "vocab is 0 ('from the input'), which only an "
                                            "embedding at the start of a branch over an ids or "
                                            "tokens input can fill in; set vocab to the number "
                                            "of distinct ids")
        if p.padding_idx >= p.vocab:
            raise self.fail(path, in_shape, f"padding_idx {p.padding_idx} is not an id of the "
                                            f"table: it must be below vocab {p.vocab}")
        if len(in_shape) > 1:
            raise self.fail(path, in_shape, "embedding reads integer ids: one id () or a "
                                            "sequence of ids (L,); this input has already been "
                                            "embedded or is a feature map")
        return (*in_shape, p.dim)

    def count(self, in_shape: Shape, p: Params) -> int:
        # The table itself, without building it: nn.Embedding's normal_ initialisation on the
        # meta device imports torch._dynamo, seconds the first time (a stall in the GUI).
        return p.vocab * p.dim

    def build(self, in_shape: Shape, p: Params) -> nn.Module:
        padding = None if p.padding_idx < 0 else p.padding_idx
        return nn.Embedding(p.vocab, p.dim, padding_idx=padding)
