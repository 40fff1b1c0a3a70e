"""What load_bundle checks in a bundle's payload before it builds anything from it.

Every part must be there and fit the others: the config (valid), the dataset declaration and the
resolved tasks (exactly their fields), the weights (exactly the entries, of exactly the shapes,
the config builds). Anything else is a BundleError naming the file and what does not match, the
same error a damaged or hostile file gets.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .build import ResolvedTask
from .bundle_inputs import read_inputs
from .config import ExperimentConfig, from_dict
from .data.base import DatasetSpec, DataTask
from .errors import ArgumentError, BundleError, ConfigError, short

FORMAT = "mtl-explorer-bundle"
VERSION = 1

_REQUIRED = ("config", "spec", "tasks", "state_dict")


def check_device(device: object) -> torch.device:
    if not isinstance(device, (str, torch.device)):
        raise ArgumentError("load_bundle", "device", "a device name like 'cpu' or 'cuda'", device)
    try:
        return torch.device(device)
    except (RuntimeError, ValueError):
        raise ArgumentError("load_bundle", "device", "a device name like 'cpu' or 'cuda'",
                            device) from None


def read_payload(path: Path, device: torch.device) -> dict[str, Any]:
    try:
        payload = torch.load(path, map_location=device, weights_only=True)
    except FileNotFoundError:
        raise BundleError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise BundleError(f"{path}: is a folder, not a model bundle") from None
    except Exception as exc:  # the unpickler raises many kinds on a damaged or hostile file
        raise BundleError(f"{path}: not a model bundle this app can load safely "
                          f"({first_line(exc)})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise BundleError(f"{path}: not an MTL Explorer model bundle")
    if payload.get("version") != VERSION:
        raise BundleError(f"{path}: bundle version {short(payload.get('version'))} is not "
                          f"supported (this app reads version {VERSION})")
    missing = [k for k in _REQUIRED if k not in payload]
    if missing:
        raise BundleError(f"{path}: the bundle has no {', '.join(map(repr, missing))} entry; "
                          "it is incomplete or was edited")
    return payload


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


def bundle_config(path: Path, payload: dict[str, Any]) -> ExperimentConfig:
    try:
        return from_dict(payload["config"])
    except ConfigError as exc:
        raise BundleError(f"{path}: the bundle's config is not valid ({exc})") from None


def _fields(path: Path, raw: object, cls: type, what: str) -> dict[str, Any]:
    """`raw` as keyword arguments of dataclass `cls`: exactly its fields, or BundleError."""
    if not isinstance(raw, dict):
        raise BundleError(f"{path}: {what} must be a mapping, got {type(raw).__name__}")
    names = {f.name for f in dataclasses.fields(cls)}
    required = {f.name for f in dataclasses.fields(cls)
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
    unknown = sorted(str(k) for k in raw if k not in names)
    if unknown:
        raise BundleError(f"{path}: {what} has unknown field {short(unknown[0])} (known: "
                          f"{', '.join(sorted(names))})")
    absent = sorted(required - set(raw))
    if absent:
        raise BundleError(f"{path}: {what} lacks the field {absent[0]!r}")
    return dict(raw)


def bundle_spec(path: Path, raw: object) -> DatasetSpec:
    s = _fields(path, raw, _SpecFields, "the dataset declaration ('spec')")
    tasks = s["tasks"]
    if not isinstance(tasks, list):
        raise BundleError(f"{path}: spec.tasks must be a list, got {type(tasks).__name__}")
    # checked before the try: a BundleError is a ValueError, which must not be re-wrapped below
    fields = [_fields(path, t, DataTask, f"spec.tasks[{i}]") for i, t in enumerate(tasks)]
    inputs = read_inputs(path, s.get("inputs") or [])
    try:
        declared = tuple(DataTask(**f) for f in fields)
        shape = tuple(int(d) for d in s["input_shape"])
        columns = _input_columns(path, s.get("input_columns") or [])
        return DatasetSpec(str(s["name"]), shape, declared, int(s["n_samples"]),
                           str(s.get("description", "")), input_columns=columns, inputs=inputs)
    except (TypeError, ValueError) as exc:
        raise BundleError(f"{path}: the dataset declaration ('spec') is damaged ({exc})"
                          ) from None


def _input_columns(path: Path, raw: object) -> tuple[dict[str, Any], ...]:
    """A table's input columns as save_bundle wrote them, checked (names, kinds, text levels)."""
    if not isinstance(raw, list):
        raise BundleError(f"{path}: spec.input_columns must be a list, got {type(raw).__name__}")
    out = []
    for i, col in enumerate(raw):
        where = f"{path}: spec.input_columns[{i}]"
        if not isinstance(col, dict) or not isinstance(col.get("name"), str):
            raise BundleError(f"{where} must be a mapping with a name, got {short(col)}")
        kind = col.get("kind")
        if kind == "categorical":
            levels = col.get("levels")
            if not isinstance(levels, list) or not all(isinstance(v, str) for v in levels):
                raise BundleError(f"{where}.levels must be a list of text, got {short(levels)}")
            out.append({"name": col["name"], "kind": kind, "levels": list(levels),
                        "other": bool(col.get("other", False))})
        elif kind == "embedded":
            levels, dim = col.get("levels"), col.get("dim")
            if not isinstance(levels, list) or not all(isinstance(v, str) for v in levels):
                raise BundleError(f"{where}.levels must be a list of text, got {short(levels)}")
            if not isinstance(dim, int) or isinstance(dim, bool) or dim < 1:
                raise BundleError(f"{where}.dim must be a positive integer, got {short(dim)}")
            out.append({"name": col["name"], "kind": kind, "levels": list(levels), "dim": dim})
        elif kind == "numeric":
            out.append({"name": col["name"], "kind": kind})
        else:
            raise BundleError(f"{where}.kind must be numeric, categorical or embedded, got "
                              f"{short(kind)}")
    return tuple(out)


@dataclass
class _SpecFields:
    """The keys save_bundle writes under 'spec' (DatasetSpec minus its source)."""

    name: str
    input_shape: list[int]
    n_samples: int
    tasks: list[dict[str, Any]]
    description: str = ""
    input_columns: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    inputs: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # named inputs


def bundle_tasks(path: Path, raw: object, config: ExperimentConfig
                  ) -> tuple[ResolvedTask, ...]:
    if not isinstance(raw, list):
        raise BundleError(f"{path}: 'tasks' must be a list, got {type(raw).__name__}")
    tasks = tuple(ResolvedTask(**_fields(path, t, ResolvedTask, f"tasks[{i}]"))
                  for i, t in enumerate(raw))
    names = [t.name for t in tasks]
    want = [t.name for t in config.enabled_tasks]
    if names != want:
        raise BundleError(f"{path}: the bundle's tasks {short(names)} do not match its config's "
                          f"enabled tasks {short(want)}")
    return tasks


def load_weights(path: Path, model: torch.nn.Module, state: object) -> None:
    if not isinstance(state, dict):
        raise BundleError(f"{path}: 'state_dict' must be a mapping of tensors, got "
                          f"{type(state).__name__}")
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [str(k) for k in state if k not in expected]
    if missing or unexpected:
        parts = ([f"missing {', '.join(missing[:3])}" + (" ..." if len(missing) > 3 else "")]
                 if missing else [])
        parts += ([f"unexpected {', '.join(map(short, unexpected[:3]))}"
                   + (" ..." if len(unexpected) > 3 else "")] if unexpected else [])
        raise BundleError(f"{path}: the weights do not match the model the config builds "
                          f"({'; '.join(parts)})")
    for k, want in expected.items():
        got = state[k]
        if not isinstance(got, torch.Tensor):
            raise BundleError(f"{path}: weight {k!r} is not a tensor ({type(got).__name__})")
        if tuple(got.shape) != tuple(want.shape):
            raise BundleError(f"{path}: weight {k!r} has shape {tuple(got.shape)} but the config "
                              f"builds {tuple(want.shape)}; the config does not fit the weights")
    model.load_state_dict(state, strict=True)
