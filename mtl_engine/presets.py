"""The only module that reads or writes YAML (a stricter safe_load); the built-in presets."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from .args import as_config, check_path
from .config import ExperimentConfig, from_dict, to_dict
from .errors import ArgumentError, ConfigError, short
from .fileio import atomic_write_text

PRESETS_DIR = Path(__file__).resolve().parent.parent / "presets"
DEFAULT_PRESET = "multimnist_uncertainty"


def builtin_presets() -> dict[str, Path]:
    """Name (file stem) -> path of every preset shipped in the repository's presets/ folder."""
    return {p.stem: p for p in sorted(PRESETS_DIR.glob("*.yaml"))}


def resolve(name_or_path: str | os.PathLike[str]) -> Path:
    """A path, or the name of a built-in preset."""
    p = Path(check_path(name_or_path, "resolve", "name_or_path"))
    if p.exists():
        return p
    builtin = builtin_presets()
    if str(name_or_path) in builtin:
        return builtin[str(name_or_path)]
    from .errors import UnknownNameError

    raise UnknownNameError("preset (no such file, nor a built-in name)", str(name_or_path),
                           builtin)


MAX_BYTES = 4 * 1024 * 1024  # a real preset is a few kB; this bounds every parse
MAX_NODES = 20_000  # ... and has a few hundred values; this bounds the work done per value
_Base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml if built


class _Refused(yaml.MarkedYAMLError):
    """Well-formed YAML a preset may not hold: an alias, a duplicate key, an unreadable number."""


class _Loader(_Base):  # type: ignore[misc, valid-type]
    """safe_load, stricter: no aliases (so no "billion laughs" expansion, in the constructor or
    anywhere downstream), no duplicate keys (YAML forbids them; PyYAML keeps the last silently),
    and numbers Python cannot read (past 4300 digits) reported with their line."""

    def resolve(self, kind: type, value: Any, implicit: Any) -> str:
        # Called once per node while composing (libyaml's composer too): the place to stop a
        # file of a million tiny values before Python spends seconds on each of them.
        self._nodes = getattr(self, "_nodes", 0) + 1
        if self._nodes > MAX_NODES:
            raise _Refused(None, None, f"holds more than {MAX_NODES:,} values; a preset holds "
                                       "a few hundred", None)
        return super().resolve(kind, value, implicit)

    def get_single_node(self) -> yaml.Node | None:
        node = super().get_single_node()
        if node is not None:
            _refuse_aliases(node)
        return node

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue  # complex keys: the base constructor says what is wrong
            key = self.construct_object(key_node)
            try:
                first = seen.setdefault(key, key_node)
            except TypeError:
                continue
            if first is not key_node:
                raise _Refused(None, None, f"duplicate key {short(key)} (first at line "
                                           f"{first.start_mark.line + 1}); each key may appear "
                                           "once", key_node.start_mark)
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        try:
            return super().construct_yaml_int(node)
        except ValueError:
            raise _Refused(None, None, f"the number {short(node.value)} has too many digits",
                           node.start_mark) from None


_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_yaml_int)


def _refuse_aliases(root: yaml.Node) -> None:
    """A node reached twice is an alias (``*name``) of an anchored node: refuse it. Iterative,
    and linear in the size of the file."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            raise _Refused(None, None, "the value anchored here (&name) is used again through an "
                                       "alias (*name); presets do not accept aliases, write "
                                       "the value out", node.start_mark)
        seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            stack.extend(reversed(node.value))
        elif isinstance(node, yaml.MappingNode):
            for k, v in reversed(node.value):
                stack.extend((v, k))


def parse(text: str, source: str = "preset") -> Any:
    """Plain data of a preset's YAML text; ConfigError (one line, naming `source` and the line)
    for anything too big, malformed or refused. Bounded in time and memory by MAX_BYTES."""
    if not isinstance(text, str):
        raise ArgumentError("loads", "text", "a str", text)
    if len(text) > MAX_BYTES:
        raise ConfigError("", f"{source}: is {len(text):,} characters; a preset may hold at most "
                              f"{MAX_BYTES:,}")
    try:
        raw = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader, stricter still
    except _Refused as exc:
        raise ConfigError("", f"{source}{_where(exc)}: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigError("", f"{source}: not valid YAML{_syntax(exc, len(text))}") from None
    except RecursionError:
        raise ConfigError("", f"{source}: nested too deeply to be a preset") from None
    if raw is None:
        raise ConfigError("", f"{source}: the file is empty")
    return raw


def _where(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    return f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""


def _at(mark: Any) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}"


def _syntax(exc: yaml.YAMLError, size: int) -> str:
    """Where and what. Where the parser noticed, except when it noticed at the end of the file:
    then something was never closed (a bracket, a quote), and where it was opened is the place
    to fix (libyaml and PyYAML also disagree on the end's line)."""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context, cmark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    pmark = getattr(exc, "problem_mark", None)
    if pmark is None:
        return f": {problem}"
    if context and cmark is not None:
        if pmark.index >= size - 1:
            return f" at {_at(cmark)}: {context}, {problem} (at the end of the file)"
        return f" at {_at(pmark)}: {problem} ({context} from {_at(cmark)})"
    return f" at {_at(pmark)}: {problem}"


def loads(text: str, source: str = "preset") -> ExperimentConfig:
    return from_dict(parse(text, source))


def load(path: str | os.PathLike[str]) -> ExperimentConfig:
    p = resolve(check_path(path, "load_preset", "path"))
    try:
        if p.is_dir():
            raise ConfigError("", f"{p}: is a folder, not a preset file")
        size = p.stat().st_size
        if size > MAX_BYTES:  # refused before reading or parsing a byte of it
            raise ConfigError("", f"{p}: is {size:,} bytes; a preset may hold at most "
                                  f"{MAX_BYTES:,}")
        with open(p, "rb") as f:
            data = f.read(MAX_BYTES + 1)  # a file growing meanwhile is still bounded
        text = data.decode("utf-8")
    except OSError as exc:
        raise ConfigError("", f"{p}: cannot read: {(exc.strerror or str(exc)).lower()}"
                          ) from None
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError("", f"{p}: is not UTF-8 text (line {line})") from None
    return _beside(loads(text, str(p)), p.parent)


def _beside(config: ExperimentConfig, folder: Path) -> ExperimentConfig:
    """A relative data file (`data.params.path`) is where the preset is, not where the program
    happens to run: made absolute against the preset's folder."""
    path = config.data.params.get("path")
    if not isinstance(path, str) or not path.strip() or Path(path).expanduser().is_absolute():
        return config
    params = {**config.data.params, "path": str((folder / path).resolve())}
    return replace(config, data=replace(config.data, params=params))


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
    """YAML of a config; a dict is validated first, so what is written always loads back."""
    data = to_dict(as_config(config, "dumps"))
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, width=100, allow_unicode=True)


def dumps_data(data: dict[str, Any]) -> str:
    """YAML of plain data in the presets' style (a study file, say); no validation."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, width=100, allow_unicode=True)


def save(config: ExperimentConfig | dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write `config` (an ExperimentConfig, or a dict validated first: ConfigError naming the
    field and nothing written) as a preset; FileWriteError when the file cannot be written."""
    p = Path(check_path(path, "save_preset", "path"))
    text = dumps(as_config(config, "save_preset"))
    atomic_write_text(p, text)
    return p
