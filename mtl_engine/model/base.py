"""What every entry of the layer catalogue (registry.LAYERS) offers, and how stacks are built.

An entry's `obj` is a `LayerType` with a frozen `Params` dataclass (its schema, defaults and bounds
in one place). `parse` turns a config's plain mapping into a `Params`; `resolve` is the one place a
layer spec's mapping is parsed, and everything below it reads typed values. `infer` maps an input
shape (no batch dimension) to the output shape or raises errors.ShapeError naming the layer's path,
`build` makes the torch module, and `count` gives its parameter count without allocating anything
(the module is built once on the meta device and the count is cached), so the GUI can re-check a
whole model on every keystroke.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any

import torch
from torch import nn

from ..errors import ShapeError
from ..registry import LAYERS, NoParams, parse_params

Shape = tuple[int, ...]


class LayerType:
    """Base class of a layer entry. Subclasses set `Params` and override `infer` and `build`.

    `infer`, `build` and `count` take the typed `Params` instance (see `parse`).
    """

    name: str = ""
    Params: type = NoParams
    # A mask-aware layer (lstm, gru, token_pool, conv1d over tokens): its module's forward is
    # `forward(x, mask: Optional[Tensor]) -> Tensor` with x a padded sequence (B, L, D) and mask
    # (B, L) bool, True at real tokens (None: no padding). The branch that runs it passes the
    # mask of its token input while the output is still a sequence of the input's length L, and
    # drops it once the shape changes (token_pool's (D,)). Other layers take one tensor.
    takes_mask: bool = False

    def parse(self, params: Mapping[str, Any] | None = None, path: str = "") -> Any:
        """`params` (possibly partial) checked and completed as this layer's `Params`."""
        return parse_params(self.Params, params, path or self.name)

    def infer(self, in_shape: Shape, p: Any, path: str) -> Shape:
        raise NotImplementedError

    def build(self, in_shape: Shape, p: Any) -> nn.Module:
        raise NotImplementedError

    def count(self, in_shape: Shape, p: Any) -> int:
        """Number of parameters of the module `build` would make for this input."""
        # Layer parameters are scalars, so the frozen instance is its own cache key.
        return _count(self.name, tuple(in_shape), p)

    # -- helpers for subclasses --------------------------------------------------------------
    def fail(self, path: str, in_shape: Shape, message: str) -> ShapeError:
        return ShapeError(path, self.name, in_shape, message)

    def need_map(self, in_shape: Shape, path: str) -> Shape:
        """Require a (C, H, W) feature map; tell the user how to get one otherwise."""
        if len(in_shape) == 3:
            return in_shape
        if len(in_shape) == 1:
            hint = "add an unflatten layer before it to read the features as (C, H, W)"
        else:
            hint = "it works on images, not on tokens (L, D)"
        raise self.fail(path, in_shape, f"{self.name} needs a feature map (C, H, W); {hint}")

    def need_flat(self, in_shape: Shape, path: str) -> Shape:
        if len(in_shape) == 1:
            return in_shape
        raise self.fail(path, in_shape, f"{self.name} needs a flat input (features,); add a "
                                        "flatten layer before it")


def register_layer(name: str, summary: str, paper: str = "") -> Callable[[type], type]:
    """Class decorator: instantiate the LayerType and put it in LAYERS with its `Params`."""

    def deco(cls: type) -> type:
        obj = cls()
        obj.name = name
        LAYERS.register(name, summary, params=cls.Params, paper=paper)(obj)
        return cls

    return deco


@lru_cache(maxsize=4096)
def _count(name: str, in_shape: Shape, p: Any) -> int:
    # The meta device gives shapes without memory, so a 100M-parameter layer costs nothing here.
    with torch.device("meta"):
        module = LAYERS.get(name).obj.build(in_shape, p)
    return sum(t.numel() for t in module.parameters())


def layer_type(name: str, path: str = "") -> LayerType:
    return LAYERS.get(name, path).obj


def resolve(spec: Any, path: str = "") -> tuple[LayerType, Any]:
    """A config.LayerSpec's layer type and typed parameters; errors name `path` (the layer's)."""
    lt = layer_type(spec.type, f"{path}.type" if path else "")
    return lt, lt.parse(spec.params, path)


def build_stack(specs: Sequence[Any], in_shape: Shape) -> tuple[nn.Sequential, Shape]:
    """Build a list of config.LayerSpec into one Sequential; shapes must already be checked."""
    modules = []
    shape = tuple(in_shape)
    for spec in specs:
        layer, params = resolve(spec)
        modules.append(layer.build(shape, params))
        shape = layer.infer(shape, params, "")
    return nn.Sequential(*modules), shape
