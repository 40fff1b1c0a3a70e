"""The registries' catalogue: every entry's name, summary, paper, schema and facts, as plain data.

Listing names (``mtl-run --list``, the window's pickers) and checking a preset need nothing but
this, yet the packages that fill the registries import torch (seconds). So `catalogue.json`
holds a generated copy, and a registry whose package has not been imported serves its entries
from it (`Registry` in registry.py, reading it through catalogue_read.py): an entry's `obj` and
`params_type` import the package on first access, as does a name the catalogue lacks.

The file is regenerated from the live registries with ``python -m mtl_engine.catalogue
--write``; ``--check`` exits 1 (with a one-line summary) when it is stale. It also records a
hash of every engine source file the packages import and the module names of each package
(what `_autoload` imports), and is used only while those still match: an edit made without
``--write`` costs start-up time, never a wrong default. tests/engine/test_catalogue.py fails on
a stale file.

Encoding: JSON, with tuples tagged ``{"__tuple__": [...]}`` so that the round trip is exact in
type as well as value. A fact that is not plain data (a function, a class: a loss's `fused`, an
optimiser's `kwargs`, an importer's `preview`) is stored as ``{"__object__": "<its name>"}``;
a served entry's `meta` (a read-only `Facts` mapping then) hands the live entry's value for it,
importing the package at that moment.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

from .catalogue_read import (
    FILE,
    OBJECT_KEY,
    ROOT,
    TUPLE_KEY,
    VERSION,
    WRITE_COMMAND,
    digest,
    package_modules,
    stale_sources,
)
from .registry import ALL, Entry, Param

_SELF = ("mtl_engine.catalogue", "mtl_engine.catalogue_read")  # not sources of the entries


# -- encoding -----------------------------------------------------------------------------------
class NotPlain(ValueError):
    """A value JSON cannot hold exactly."""


def encode(value: Any) -> Any:
    """`value` as JSON data, tuples tagged; NotPlain for anything else (a function, a class, a
    subclass such as an enum member, which would read back as its base type)."""
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, tuple):
        return {TUPLE_KEY: [encode(v) for v in value]}
    if type(value) is list:
        return [encode(v) for v in value]
    if type(value) is dict:
        if not all(isinstance(k, str) for k in value) or TUPLE_KEY in value or OBJECT_KEY in value:
            raise NotPlain(f"a mapping with keys JSON cannot round-trip: {sorted(map(str, value))}")
        return {k: encode(v) for k, v in value.items()}
    raise NotPlain(f"{type(value).__name__} {name_of(value)}")


def name_of(value: Any) -> str:
    """A stable name for a value that is not plain data (its qualified name, else its type's)."""
    named = value if hasattr(value, "__qualname__") else type(value)
    return f"{getattr(named, '__module__', '?')}.{named.__qualname__}"


def encode_fact(value: Any) -> Any:
    try:
        return encode(value)
    except NotPlain:
        return {OBJECT_KEY: name_of(value)}


# -- the live registries as catalogue data --------------------------------------------------------
def entry_data(entry: Entry[Any]) -> dict[str, Any]:
    params = []
    for p in entry.params:
        try:
            params.append({f.name: encode(getattr(p, f.name)) for f in fields(Param)})
        except NotPlain as exc:  # a schema is plain data by design: refuse rather than guess
            raise NotPlain(f"{entry.name}.{p.name}: {exc}") from None
    return {
        "name": entry.name,
        "summary": entry.summary,
        "paper": entry.paper,
        "params": params,
        "meta": {k: encode_fact(v) for k, v in entry.meta.items()},
    }


def live() -> dict[str, Any]:
    """The whole catalogue, from the registries with every package imported."""
    regs = {key: reg.load() for key, reg in ALL.items()}
    return {
        "version": VERSION,
        "generated_by": WRITE_COMMAND + " (do not edit by hand)",
        "sources": _sources(_imported_files()),
        "registries": {
            key: {"kind": reg.kind, "package": reg.package,
                  "facts": {k: encode_fact(v) for k, v in reg.facts.items()},
                  "entries": [entry_data(e) for e in reg]}
            for key, reg in regs.items()
        },
    }


def dumps(data: Mapping[str, Any]) -> str:
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


# -- freshness: the sources the catalogue was made from -------------------------------------------
def _imported_files() -> list[str]:
    """The engine's source files now imported (after loading every registry), relative to ROOT."""
    out = set()
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if not name.startswith("mtl_engine") or name in _SELF or not path:
            continue
        try:
            out.add(Path(path).resolve().relative_to(ROOT.resolve()).as_posix())
        except ValueError:  # a module of that name from elsewhere
            continue
    return sorted(out)


def _packages() -> dict[str, list[str]]:
    """Each registry package's module names, as `_autoload` imports them (new file, new entry)."""
    out = {}
    for package in sorted({reg.package for reg in ALL.values()}):
        names = package_modules(package)
        if names is not None:
            out[package] = names
    return out


def _sources(files: list[str]) -> dict[str, Any]:
    return {"files": {f: digest(f) for f in files}, "packages": _packages()}


# -- the command ----------------------------------------------------------------------------------
def differences(shipped: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """What differs between two catalogues' registries, one short phrase per registry."""
    out = []
    old_regs, new_regs = shipped.get("registries", {}), now["registries"]
    for key, new in new_regs.items():
        old = old_regs.get(key)
        if not isinstance(old, dict):
            out.append(f"{key}: missing")
            continue
        before = {e.get("name"): e for e in old.get("entries", [])}
        after = {e["name"]: e for e in new["entries"]}
        parts = [f"+{n}" for n in after if n not in before]
        parts += [f"-{n}" for n in before if n not in after]
        parts += [f"~{n}" for n in after if n in before and dumps(before[n]) != dumps(after[n])]
        if not parts and list(before) != list(after):
            parts.append("order")
        if any(old.get(k) != new[k] for k in ("kind", "package")) or dumps(
                old.get("facts", {})) != dumps(new["facts"]):
            parts.append("declared facts")
        if parts:
            out.append(f"{key}: {' '.join(parts)}")
    out += [f"{key}: no longer a registry" for key in old_regs if key not in new_regs]
    return out


def check(path: Path = FILE) -> list[str]:
    """Why the catalogue at `path` is stale ([] when it is not): entries that differ from the
    live registries', and source files changed since it was written."""
    try:
        shipped = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(shipped, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as exc:
        return [f"cannot read {path.name}: {exc}"]
    if shipped.get("version") != VERSION:
        return [f"version {shipped.get('version')!r}, not {VERSION}"]
    out = differences(shipped, live())
    try:
        changed = stale_sources(shipped.get("sources", {}))
    except (AttributeError, TypeError):
        changed = ["unreadable"]
    if changed:
        out.append(f"sources changed ({', '.join(changed[:4])}"
                   f"{f' and {len(changed) - 4} more' if len(changed) > 4 else ''})")
    return out


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m mtl_engine.catalogue",
                                description="Regenerate or check mtl_engine/catalogue.json.")
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="regenerate it from the registries")
    mode.add_argument("--check", action="store_true", help="exit 1 when it is stale")
    args = p.parse_args(argv)
    if args.write:
        text = dumps(live())  # first: the sources it records are the registries' alone
        from .fileio import atomic_write_text

        atomic_write_text(FILE, text)
        print(f"wrote {FILE}")
        return 0
    problems = check()
    if problems:
        print(f"{FILE.name} is stale: {'; '.join(problems)}; run {WRITE_COMMAND}",
              file=sys.stderr)
        return 1
    print(f"{FILE.name} is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
