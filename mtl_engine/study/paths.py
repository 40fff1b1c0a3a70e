"""Dotted config paths: ``training.lr``, ``strategy.params.calpha``, ``tasks[1].weight``,
``tasks[left].weight`` (a task by name), ``trunk[0].out_features``.

A path is applied to the canonical config dict (config.to_dict): every part must exist there,
except a new key directly under a ``params`` mapping (a method's parameter the base leaves at its
default); config.from_dict then validates the value itself.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import ConfigError, UnknownNameError, short

_PART = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)((?:\[[^\]]+\])*)")
_INDEX = re.compile(r"\[([^\]]+)\]")

# A field that picks a registry entry: changing it makes the sibling `params` those of the new
# entry (their defaults), not the old entry's, unless the same run sets them too.
NAME_FIELDS = ("data.dataset", "sharing.scheme", "strategy.name", "optimizer.name",
               "optimizer.schedule.name")


def parse(path: Any, where: str) -> list[str | int]:
    """``tasks[1].weight`` -> ["tasks", 1, "weight"]; ConfigError at `where` if malformed."""
    if not isinstance(path, str) or not path.strip():
        raise ConfigError(where, f"must be a dotted config path such as training.lr, got "
                                 f"{short(path)}")
    parts: list[str | int] = []
    for chunk in path.split("."):
        m = _PART.fullmatch(chunk)
        if not m:
            raise ConfigError(where, f"{short(path)} is not a dotted config path (the part "
                                     f"{short(chunk)}); write it like tasks[1].weight")
        parts.append(m.group(1))
        for index in _INDEX.findall(m.group(2)):
            index = index.strip().strip("'\"")
            parts.append(int(index) if index.lstrip("-").isdigit() else index)
    return parts


def render(parts: list[str | int]) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else p)
    return out


def assign(config: dict[str, Any], path: str, value: Any, where: str) -> None:
    """Set `path` in the config dict `config` (in place). `where` names the study field in
    errors (``grid.strategy.name``)."""
    parts = parse(path, where)
    node: Any = config
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        so_far = render(parts[:i + 1])
        if isinstance(node, list):
            index = _list_index(node, part, so_far, where)
            if last:
                node[index] = value
                return
            node = node[index]
            continue
        if not isinstance(node, dict):
            raise ConfigError(where, f"{render(parts[:i])} is a value ({short(node)}), so it has "
                                     f"no field {short(part)}")
        if isinstance(part, int):
            raise ConfigError(where, f"{render(parts[:i])} is a mapping, not a list: write "
                                     f".name instead of [{part}]")
        if part not in node:
            free = i > 0 and parts[i - 1] == "params"  # a method parameter left at its default
            if not (free and last):
                raise UnknownNameError(f"config field under {render(parts[:i]) or 'the config'}",
                                       part, sorted(node), where)
        if last:
            node[part] = value
            return
        node = node[part]


def _list_index(node: list[Any], part: str | int, so_far: str, where: str) -> int:
    if isinstance(part, int):
        if -len(node) <= part < len(node):
            return part % len(node)
        raise ConfigError(where, f"{so_far}: there are {len(node)} entries (index 0 to "
                                 f"{len(node) - 1})")
    names = [x.get("name") for x in node if isinstance(x, dict)]
    if part in names:  # tasks[left]: a task by its name
        return names.index(part)
    raise UnknownNameError("list entry", part, [n for n in names if isinstance(n, str)],
                           where)


def sort_name_fields_first(items: list[tuple[str, Any, str]]) -> list[tuple[str, Any, str]]:
    """Registry-name fields before everything else, so `strategy.name` then `strategy.params.x`
    works whatever order a study lists them in."""
    return sorted(items, key=lambda it: it[0] not in NAME_FIELDS)


def apply(config: dict[str, Any], items: list[tuple[str, Any, str]]) -> dict[str, Any]:
    """Apply (path, value, where) assignments to `config` in place; a registry-name field that
    changes resets its sibling params (see NAME_FIELDS)."""
    for path, value, where in sort_name_fields_first(items):
        if path in NAME_FIELDS:
            section = config
            *parents, leaf = path.split(".")
            for p in parents:
                section = section[p]
            if section.get(leaf) != value:
                section["params"] = {}
        assign(config, path, value, where)
    return config
