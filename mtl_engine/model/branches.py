"""The input stage of a model over named inputs (issue 15): one branch per input, then the merge.

Each input (data.base.InputSpec) goes through its own layer list (config `branches:`, the same
layer specs as `trunk:`), and a merge (registry MERGES, model/merge.py) turns the branches'
outputs into the one tensor the sharing scheme's body reads, so every scheme works unchanged.
The branches and the merge are shared: every task reads them.

A layer that reads ids (its parameters have a `vocab`: the embedding) takes the input's vocab
when its spec says `vocab: 0` (or leaves it out) and the input's padding id when it says
`padding_idx: -1`; this happens here, before the layer's parameters are parsed. A token input
(or any (L,) ids input) with a padding id has the mask `ids != padding_idx` (B, L); a mask-aware
layer
(LayerType.takes_mask) gets it while the branch's shape is still (L, D) with the input's L, and
so does the merge for a branch that ends that way.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from functools import lru_cache

import torch
from torch import Tensor, nn

from ..config import ExperimentConfig, LayerSpec
from ..data.base import DatasetSpec, InputSpec
from ..errors import ConfigError, UnknownNameError
from .base import Shape, resolve
from .merge import merge_type
from .summary import LayerInfo, Planner

MERGE_WHERE = "merge"


@dataclass(frozen=True)
class BranchPlan:
    """What shape inference found, reused by `build_inputs`: per input (config order) its
    filled-in layers, which of them get the mask, whether its output keeps it."""

    inputs: tuple[InputSpec, ...]
    layers: tuple[tuple[LayerSpec, ...], ...]
    masked: tuple[tuple[bool, ...], ...]
    keeps_mask: tuple[bool, ...]
    out_shapes: tuple[Shape, ...]
    merged: Shape


def _reads_ids(spec: LayerSpec) -> bool:
    from ..registry import LAYERS

    return "vocab" in {f.name for f in fields(LAYERS.get(spec.type).params_type)}


def fill_from_input(spec: LayerSpec, given: InputSpec) -> LayerSpec:
    """An id-reading layer's `vocab: 0` / `padding_idx: -1` (or absent) from the input's."""
    if not _reads_ids(spec):
        return spec
    params = dict(spec.params)
    if not params.get("vocab"):
        params["vocab"] = given.vocab
    if params.get("padding_idx", -1) == -1 and given.padding_idx is not None:
        params["padding_idx"] = given.padding_idx
    return replace(spec, params=params)


def check_branches(config: ExperimentConfig, spec: DatasetSpec) -> None:
    """The config's `branches:` against the dataset's inputs; ConfigError naming the field."""
    if not spec.multi_input:
        if config.branches:
            raise ConfigError("branches", f"dataset {spec.name!r} has one input (shape "
                                          f"{list(spec.input_shape)}); branches are for "
                                          "datasets with named inputs: remove `branches:` and "
                                          "`merge:` and put the layers in `trunk:`")
        return
    names = [i.name for i in spec.inputs]
    if not config.branches:
        example = ", ".join(f"{i.name}: {_example(i)}" for i in spec.inputs)
        raise ConfigError("branches", f"dataset {spec.name!r} has the named inputs "
                                      f"{', '.join(names)}; give each one its layers, e.g. "
                                      f"branches: {{{example}}}")
    for b in config.branches:
        if b.input not in names:
            raise UnknownNameError(f"input of dataset {spec.name!r}", b.input, names,
                                   f"branches.{b.input}")
    given = {b.input for b in config.branches}
    for i in spec.inputs:
        if i.name not in given:
            raise ConfigError("branches", f"has no branch for input {i.name!r} of dataset "
                                          f"{spec.name!r}; add `{i.name}: {_example(i)}`"
                                          + (" ([] passes it to the merge as it is)"
                                             if i.dtype == "float32" else ""))


def _example(i: InputSpec) -> str:
    if i.dtype == "float32":
        return "[]"
    pool = "{type: token_pool}" if i.kind == "tokens" else "{type: flatten}"
    return f"[{{type: embedding, dim: 16}}, {pool}]"


def plan_branches(config: ExperimentConfig, spec: DatasetSpec, planner: Planner
                  ) -> BranchPlan | None:
    """Infer every branch and the merge into `planner` (rows `branches.text[0]`, `merge`);
    None once something failed (the planner holds the error)."""
    by_name = {i.name: i for i in spec.inputs}
    inputs, layers, masked, keeps, outs = [], [], [], [], []
    ok = True
    for b in config.branches:
        given = by_name[b.input]
        filled = tuple(fill_from_input(s, given) for s in b.layers)
        shape, flags = _plan_one(given, filled, planner, f"branches.{b.input}")
        inputs.append(given)
        layers.append(filled)
        masked.append(flags)
        if shape is None:
            ok = False
            continue
        keeps.append(_sequence_of(given, shape))
        outs.append(shape)
    if not ok:
        return None
    shapes = {i.name: s for i, s in zip(inputs, outs)}
    merge = merge_type(config.merge.name, "merge.type")
    try:
        params = merge.parse(config.merge.params, "merge.params")
        merged = merge.infer(shapes, params, MERGE_WHERE)
        n = _merge_count(merge.name, tuple(shapes.items()), params)
    except ConfigError as exc:
        planner.fail(exc)
        planner.add(LayerInfo(MERGE_WHERE, merge.name, None, None, 0, exc.message,
                              in_shapes=tuple(shapes.items())))
        return None
    planner.add(LayerInfo(MERGE_WHERE, merge.name, None, merged, n,
                          in_shapes=tuple(shapes.items())))
    return BranchPlan(tuple(inputs), tuple(layers), tuple(masked), tuple(keeps), tuple(outs),
                      merged)


@lru_cache(maxsize=256)
def _merge_count(name: str, shapes: tuple[tuple[str, Shape], ...], params: object) -> int:
    # on the meta device, as a layer's count: shapes without memory; cached for the GUI's
    # re-check on every edit (the parameters are a frozen dataclass)
    with torch.device("meta"):
        module = merge_type(name).build(dict(shapes), params)
    return sum(t.numel() for t in module.parameters())


def _sequence_of(given: InputSpec, shape: Shape) -> bool:
    """Whether a branch at `shape` is still the padded token sequence of input `given`."""
    # tokens, or padded ids (k,) (a user's recent items): any 1-d integer input with padding
    return (given.dtype == "int64" and given.padding_idx is not None and len(shape) == 2
            and len(given.shape) == 1 and shape[0] == given.shape[0])


def _plan_one(given: InputSpec, specs: tuple[LayerSpec, ...], planner: Planner, prefix: str
              ) -> tuple[Shape | None, tuple[bool, ...]]:
    integer = given.dtype == "int64"
    if integer and (not specs or not _reads_ids(specs[0])):
        where = f"{prefix}[0]" if specs else prefix
        exc = ConfigError(where, f"input {given.name!r} holds integer {given.kind} (vocab "
                                 f"{given.vocab}); its branch must start with an embedding "
                                 "layer (vocab: 0 takes the input's)")
        planner.fail(exc)
        for i, spec in enumerate(specs):
            planner.add(LayerInfo(f"{prefix}[{i}]", spec.type, tuple(given.shape) if i == 0
                                  else None, None, 0, exc.message if i == 0 else None))
        return None, ()
    shape: Shape | None = tuple(given.shape)
    flags = []
    for i, spec in enumerate(specs):
        path = f"{prefix}[{i}]"
        if shape is None:
            planner.add(LayerInfo(path, spec.type, None, None, 0))
            flags.append(False)
            continue
        try:
            layer, params = resolve(spec, path)
            out = layer.infer(shape, params, path)
            n = layer.count(shape, params)
        except ConfigError as exc:
            planner.fail(exc)
            planner.add(LayerInfo(path, spec.type, shape, None, 0, exc.message))
            shape = None
            flags.append(False)
            continue
        flags.append(bool(layer.takes_mask) and _sequence_of(given, shape))
        planner.add(LayerInfo(path, spec.type, shape, out, n))
        shape = out
    return shape, tuple(flags)


# ---------------------------------------------------------------------- modules


class _Plain(nn.Module):
    """A layer that takes one tensor, under the branch's (x, mask) call."""

    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        self.layer = layer

    def forward(self, x: Tensor, mask: Tensor | None) -> Tensor:
        return self.layer(x)


class _Masked(nn.Module):
    """A mask-aware layer (LayerType.takes_mask) reading the token input's padding mask."""

    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        self.layer = layer

    def forward(self, x: Tensor, mask: Tensor | None) -> Tensor:
        return self.layer(x, mask)


class Branch(nn.Module):
    """One input's layers; `padding_idx` -1 when no layer and no merge needs its mask."""

    def __init__(self, steps: list[nn.Module], padding_idx: int, keeps_mask: bool) -> None:
        super().__init__()
        self.steps = nn.ModuleList(steps)
        self.padding_idx = padding_idx
        self.keeps_mask = keeps_mask

    def mask_of(self, x: Tensor) -> Tensor | None:
        if self.padding_idx < 0:
            return None
        return x != self.padding_idx

    def forward(self, x: Tensor, mask: Tensor | None) -> Tensor:
        for step in self.steps:
            x = step(x, mask)
        return x


class BranchInputs(nn.Module):
    """Named inputs (B, *shape) each -> their branches -> the merge -> (B, *merged)."""

    def __init__(self, branches: dict[str, Branch], merge: nn.Module) -> None:
        super().__init__()
        self.branches = nn.ModuleDict(branches)
        self.merge = merge

    def forward(self, x: dict[str, Tensor]) -> Tensor:
        feats: dict[str, Tensor] = {}
        masks: dict[str, Tensor] = {}
        for name, branch in self.branches.items():
            mask = branch.mask_of(x[name])
            feats[name] = branch(x[name], mask)
            if mask is not None and branch.keeps_mask:
                masks[name] = mask
        return self.merge(feats, masks)


def build_inputs(config: ExperimentConfig, plan: BranchPlan) -> BranchInputs:
    """The modules of a checked plan (shapes known good)."""
    branches: dict[str, Branch] = {}
    shapes: dict[str, Shape] = {}
    for given, specs, flags, keeps, out in zip(plan.inputs, plan.layers, plan.masked,
                                               plan.keeps_mask, plan.out_shapes):
        steps: list[nn.Module] = []
        shape = tuple(given.shape)
        for spec, masked in zip(specs, flags):
            layer, params = resolve(spec)
            module = layer.build(shape, params)
            steps.append(_Masked(module) if masked else _Plain(module))
            shape = layer.infer(shape, params, "")
        needed = keeps or any(flags)
        pad = given.padding_idx if needed and given.padding_idx is not None else -1
        branches[given.name] = Branch(steps, pad, keeps)
        shapes[given.name] = out
    merge = merge_type(config.merge.name)
    return BranchInputs(branches, merge.build(shapes, merge.parse(config.merge.params)))
