"""The only module that reads or writes YAML (safe_load only), and where built-in presets live."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from .config import ExperimentConfig, from_dict, to_dict
from .errors import ConfigError
from .fileio import atomic_write_text

PRESETS_DIR = Path(__file__).resolve().parent.parent / "presets"
DEFAULT_PRESET = "multimnist_uncertainty"


def builtin_presets() -> dict[str, Path]:
    """Name (file stem) -> path of every preset shipped in the repository's presets/ folder."""
    return {p.stem: p for p in sorted(PRESETS_DIR.glob("*.yaml"))}


def resolve(name_or_path: str | os.PathLike[str]) -> Path:
    """A path, or the name of a built-in preset."""
    p = Path(name_or_path)
    if p.exists():
        return p
    builtin = builtin_presets()
    if str(name_or_path) in builtin:
        return builtin[str(name_or_path)]
    from .errors import UnknownNameError

    raise UnknownNameError("preset (no such file, nor a built-in name)", str(name_or_path),
                           builtin)


def loads(text: str, source: str = "preset") -> ExperimentConfig:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError("", f"{source}: not valid YAML{where}: {problem}") from None
    if raw is None:
        raise ConfigError("", f"{source}: the file is empty")
    return from_dict(raw)


def load(path: str | os.PathLike[str]) -> ExperimentConfig:
    p = resolve(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError("", f"{p}: cannot read: {exc}") from None
    return loads(text, str(p))


class _Dumper(yaml.SafeDumper):
    """Presets people read: small leaf mappings (a layer, a few params) on one line, everything
    else in block style; long text folded."""


def _is_scalar(v: Any) -> bool:
    return v is None or isinstance(v, (str, int, float, bool))


def _dict(dumper: yaml.SafeDumper, data: dict[str, Any]) -> yaml.Node:
    leaf = all(_is_scalar(v) or (isinstance(v, list) and all(map(_is_scalar, v)))
               for v in data.values())
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(),
                                    flow_style=leaf and len(data) <= 6)


def _list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data,
                                     flow_style=all(map(_is_scalar, data)))


def _str(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    style = ">" if len(data) > 80 and "\n" not in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(dict, _dict)
_Dumper.add_representer(list, _list)
_Dumper.add_representer(str, _str)


def dumps(config: ExperimentConfig | dict[str, Any]) -> str:
    data = to_dict(config) if isinstance(config, ExperimentConfig) else config
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, width=100, allow_unicode=True)


def save(config: ExperimentConfig, path: str | os.PathLike[str]) -> Path:
    p = Path(path)
    atomic_write_text(p, dumps(config))
    return p
