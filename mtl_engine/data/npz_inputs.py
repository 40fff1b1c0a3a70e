"""Named, typed inputs read from a user's NPZ (issue 15): `data.params.inputs` lists the arrays.

Each entry is ``"name"`` or ``"name:kind"``, kind one of features, image, ids, tokens. Without a
kind, an integer array is ids and a float (or bool) array is features (one value or a row per
sample) or an image (samples, C, H, W). Ids and tokens must be whole numbers >= 0; their vocab is
the largest id + 1; tokens are padded with 0 (their padding_idx). Errors name the file and the
array (as the column).
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError, DataError, short
from .base import INPUT_KINDS, InputSpec

INPUTS_HELP = ("arrays to read as the model's named inputs, instead of x: 'name' or "
               "'name:kind' (features, image, ids, tokens; tokens are padded with 0). Without a "
               "kind an integer array is ids, a float one features or an image (N, C, H, W)")


def parse_input_specs(raw: list[str]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for i, item in enumerate(raw):
        path = f"data.params.inputs[{i}]"
        name, _, kind = str(item).partition(":")
        name, kind = name.strip(), kind.strip()
        if not name:
            raise ConfigError(path, f"needs an array name, got {short(item)}")
        if kind and kind not in INPUT_KINDS:
            raise ConfigError(path, f"unknown input kind {short(kind)} (one of "
                                    f"{', '.join(INPUT_KINDS)})")
        if name in [n for n, _ in out]:
            raise ConfigError(path, f"array {short(name)} is listed twice")
        out.append((name, kind))
    return out


def read_inputs(arrays: dict[str, np.ndarray], specs: list[tuple[str, str]], src: str
                ) -> tuple[tuple[InputSpec, ...], dict[str, np.ndarray]]:
    """The listed arrays as InputSpecs and arrays of their dtypes (all with the same rows)."""
    declared, x = [], {}
    n = None
    for name, kind in specs:
        if name not in arrays:
            raise DataError(src, f"has no array named {short(name)}; arrays: "
                                 f"{', '.join(arrays)}", column=name)
        a = arrays[name]
        if a.dtype.kind not in "biuf" or a.ndim == 0 or a.shape[0] == 0:
            raise DataError(src, f"an input must be numbers with one entry per sample, got "
                                 f"dtype {a.dtype} shape {a.shape}", column=name)
        if n is not None and a.shape[0] != n:
            raise DataError(src, f"has {a.shape[0]} samples but {declared[0].name!r} has {n}",
                            column=name)
        n = a.shape[0]
        kind = kind or _guess(a)
        spec, values = (_ids(name, kind, a, src) if kind in ("ids", "tokens")
                        else _floats(name, kind, a, src))
        declared.append(spec)
        x[name] = values
    return tuple(declared), x


def _guess(a: np.ndarray) -> str:
    if a.dtype.kind in "iu":
        return "ids"
    return "image" if a.ndim == 4 else "features"


def _ids(name: str, kind: str, a: np.ndarray, src: str) -> tuple[InputSpec, np.ndarray]:
    if a.dtype.kind == "f":
        if not np.isfinite(a).all() or not (a == np.round(a)).all():
            raise DataError(src, f"{kind} must be whole numbers", column=name)
    elif a.dtype.kind not in "iu":
        raise DataError(src, f"{kind} must be integers, got dtype {a.dtype}", column=name)
    ids = a.astype(np.int64)
    if ids.min() < 0:
        raise DataError(src, f"{kind} must be >= 0, got {int(ids.min())}", column=name)
    if kind == "tokens" and ids.ndim != 2:
        raise DataError(src, f"tokens need shape (samples, length), got {a.shape}", column=name)
    vocab = int(ids.max()) + 1
    if kind == "tokens":
        vocab = max(vocab, 2)  # the padding id 0 and at least one real one
    pad = 0 if kind == "tokens" else None
    return InputSpec(name, tuple(ids.shape[1:]), "int64", kind, vocab, pad), ids


def _floats(name: str, kind: str, a: np.ndarray, src: str) -> tuple[InputSpec, np.ndarray]:
    x = a.astype(np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if kind == "features" and x.ndim != 2:
        raise DataError(src, f"features need shape (samples, features), got {a.shape}",
                        column=name)
    if kind == "image" and x.ndim != 4:
        raise DataError(src, f"an image input needs shape (samples, C, H, W), got {a.shape}",
                        column=name)
    if np.isinf(x).any():
        raise DataError(src, "holds an infinite value", column=name)
    return InputSpec(name, tuple(x.shape[1:]), "float32", kind), x.astype(np.float32)
