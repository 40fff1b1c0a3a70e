"""A bundle's named inputs (issue 15): read from its declaration, checked when predicting.

A model over named inputs takes a dict {input name: rows}. `check_named` is what
`LoadedModel.predict` runs first: every declared input present and no other, each (n, *shape),
floats for a float input and integers in [0, vocab) for ids and tokens (kept int64), all with
the same n; anything else is a BundleError naming the input. `read_inputs` reads the declaration's
list back (what save_bundle wrote) into InputSpecs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .data.base import DatasetSpec, InputSpec
from .errors import BundleError, short
from .preprocess import Preprocessing


def read_inputs(path: Path, raw: object) -> tuple[InputSpec, ...]:
    if not isinstance(raw, list):
        raise BundleError(f"{path}: spec.inputs must be a list, got {type(raw).__name__}")
    known = {f.name for f in dataclasses.fields(InputSpec)}
    out = []
    for i, item in enumerate(raw):
        where = f"{path}: spec.inputs[{i}]"
        if not isinstance(item, dict) or set(item) - known or "name" not in item:
            raise BundleError(f"{where} must be a mapping of {', '.join(sorted(known))}, got "
                              f"{short(item)}")
        try:
            shape = tuple(int(d) for d in item.get("shape", ()))
            out.append(InputSpec(**{**item, "shape": shape}))
        except (TypeError, ValueError) as exc:
            raise BundleError(f"{where} is damaged ({exc})") from None
    return tuple(out)


def identity_preprocessing(spec: DatasetSpec) -> Preprocessing:
    """No preprocessing at all (a bundle from before it was saved)."""
    if not spec.multi_input:
        return Preprocessing.identity(spec.input_shape)
    named = {i.name: Preprocessing.identity(i.shape) for i in spec.inputs
             if i.dtype == "float32"}
    return dataclasses.replace(Preprocessing.identity(()), named=named)


def example_inputs(spec: DatasetSpec, n: int = 2) -> torch.Tensor | dict[str, torch.Tensor]:
    """Rows the exporters trace with: zeros, and for ids an id that is not the padding one
    (a batch of nothing but padding is no example of a sequence)."""
    if not spec.multi_input:
        return torch.zeros((n, *spec.input_shape))
    out = {}
    for i in spec.inputs:
        value = 0 if i.padding_idx is None else (i.padding_idx + 1) % max(i.vocab, 1)
        out[i.name] = torch.full((n, *i.shape), value, dtype=getattr(torch, i.dtype))
    return out


def check_named(spec: DatasetSpec, x: Any) -> dict[str, np.ndarray]:
    """`x` as {input name: array of the declared dtype}, or BundleError naming the input."""
    names = [i.name for i in spec.inputs]
    if not isinstance(x, Mapping):
        raise BundleError(f"this model reads the named inputs {', '.join(names)}: pass a dict "
                          f"{{name: rows}}, got {type(x).__name__}")
    unknown = [str(k) for k in x if k not in names]
    if unknown:
        raise BundleError(f"input {short(unknown[0])} is not one this model reads (it reads "
                          f"{', '.join(names)})")
    out: dict[str, np.ndarray] = {}
    rows: set[int] = set()
    for i in spec.inputs:
        if i.name not in x:
            raise BundleError(f"input {i.name!r} is missing (this model reads "
                              f"{', '.join(names)})")
        out[i.name] = _one(i, x[i.name])
        rows.add(len(out[i.name]))
    if len(rows) > 1:
        sizes = ", ".join(f"{k} {len(v)}" for k, v in out.items())
        raise BundleError(f"the inputs must have the same number of rows, got {sizes}")
    return out


def _one(i: InputSpec, value: Any) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    try:
        a = np.asarray(value)
    except ValueError as exc:  # ragged nested lists
        raise BundleError(f"input {i.name!r}: not a rectangular array ({exc})") from None
    want = tuple(i.shape)
    if a.ndim != len(want) + 1 or a.shape[1:] != want:
        raise BundleError(f"input {i.name!r} must have shape (n, {', '.join(map(str, want))}), "
                          f"got {a.shape}".replace("(n, )", "(n,)"))
    if i.dtype == "int64":
        if a.dtype.kind not in "iu":
            raise BundleError(f"input {i.name!r} holds integer {i.kind} (int64), got "
                              f"{a.dtype} values")
        a = a.astype(np.int64)
        if a.size and (a.min() < 0 or a.max() >= i.vocab):
            raise BundleError(f"input {i.name!r}: ids must lie in [0, {i.vocab}), got "
                              f"{int(a.min())}..{int(a.max())}")
        return a
    if a.dtype.kind not in "biuf":
        raise BundleError(f"input {i.name!r} holds numbers (float32), got {a.dtype} values")
    return a.astype(np.float32)
