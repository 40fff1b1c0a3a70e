"""The registries' catalogue: every entry's name, summary, paper, schema and facts, as plain data.

Listing names (``mtl-run --list``, the window's pickers) and checking a preset need nothing but
this, yet the packages that fill the registries import torch (seconds). So `catalogue.json`
holds a generated copy, and a registry whose package has not been imported serves its entries
from it (`Registry` in registry.py): an entry's `obj` and `params_type` import the package on
first access, as does a name the catalogue lacks.

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

import hashlib
import json
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

from .registry import ALL, Entry, Param, Registry

FILE = Path(__file__).with_name("catalogue.json")
ROOT = Path(__file__).parent  # source paths in the file are relative to it
VERSION = 1
WRITE_COMMAND = "python -m mtl_engine.catalogue --write"
_TUPLE = "__tuple__"
_OBJECT = "__object__"


# -- encoding -----------------------------------------------------------------------------------
class NotPlain(ValueError):
    """A value JSON cannot hold exactly."""


def encode(value: Any) -> Any:
    """`value` as JSON data, tuples tagged; NotPlain for anything else (a function, a class, a
    subclass such as an enum member, which would read back as its base type)."""
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, tuple):
        return {_TUPLE: [encode(v) for v in value]}
    if type(value) is list:
        return [encode(v) for v in value]
    if type(value) is dict:
        if not all(isinstance(k, str) for k in value) or _TUPLE in value or _OBJECT in value:
            raise NotPlain(f"a mapping with keys JSON cannot round-trip: {sorted(map(str, value))}")
        return {k: encode(v) for k, v in value.items()}
    raise NotPlain(f"{type(value).__name__} {name_of(value)}")


def name_of(value: Any) -> str:
    """A stable name for a value that is not plain data (its qualified name, else its type's)."""
    named = value if hasattr(value, "__qualname__") else type(value)
    return f"{getattr(named, '__module__', '?')}.{named.__qualname__}"


class Unloaded:
    """Stands in, in a decoded catalogue, for a fact that is not plain data."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<not loaded: {self.name}>"


def encode_fact(value: Any) -> Any:
    try:
        return encode(value)
    except NotPlain:
        return {_OBJECT: name_of(value)}


def decode(data: Any) -> Any:
    if isinstance(data, list):
        return [decode(v) for v in data]
    if isinstance(data, dict):
        if set(data) == {_TUPLE}:
            return tuple(decode(v) for v in data[_TUPLE])
        if set(data) == {_OBJECT}:
            return Unloaded(data[_OBJECT])
        return {k: decode(v) for k, v in data.items()}
    return data


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
        if not name.startswith("mtl_engine") or name == "mtl_engine.catalogue" or not path:
            continue
        try:
            out.add(Path(path).resolve().relative_to(ROOT.resolve()).as_posix())
        except ValueError:  # a module of that name from elsewhere
            continue
    return sorted(out)


def _packages() -> dict[str, list[str]]:
    """Each registry package's module names, as `_autoload` imports them (new file, new entry)."""
    import pkgutil

    out = {}
    for package in sorted({reg.package for reg in ALL.values()}):
        folder = ROOT.joinpath(*package.split(".")[1:])
        if folder.is_dir():
            out[package] = sorted(m.name for m in pkgutil.iter_modules([str(folder)]))
    return out


def _digest(relpath: str) -> str:
    try:
        return hashlib.sha256((ROOT / relpath).read_bytes()).hexdigest()[:16]
    except OSError:
        return "missing"


def _sources(files: list[str]) -> dict[str, Any]:
    return {"files": {f: _digest(f) for f in files}, "packages": _packages()}


def stale_sources(recorded: Mapping[str, Any]) -> list[str]:
    """What changed since `recorded` (a catalogue's "sources"): files, and package listings."""
    changed = [f for f, h in recorded.get("files", {}).items() if _digest(f) != h]
    now = _packages()
    for package, names in recorded.get("packages", {}).items():
        got = now.get(package, [])
        added, gone = sorted(set(got) - set(names)), sorted(set(names) - set(got))
        changed += [f"{package}: new module {n}" for n in added]
        changed += [f"{package}: module {n} gone" for n in gone]
    return changed


# -- reading it (what registry.py uses) -----------------------------------------------------------
_lock = threading.Lock()
_records: dict[tuple[str, str], Mapping[str, Any]] | None = None


def read(path: Path = FILE) -> dict[tuple[str, str], Mapping[str, Any]]:
    """(kind, package) -> that registry's record, decoded; {} when the file is missing, damaged,
    of another version, or made from sources that have changed since."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != VERSION or stale_sources(data["sources"]):
            return {}
        return {(r["kind"], r["package"]): decode(r) for r in data["registries"].values()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def records() -> dict[tuple[str, str], Mapping[str, Any]]:
    """The shipped catalogue, read once per process."""
    global _records
    if _records is None:
        with _lock:
            if _records is None:
                _records = read()
    return _records


class Served:
    """One registry's catalogue: its entries (registration order) and its declared facts."""

    def __init__(self, entries: dict[str, Entry[Any]], facts: Mapping[str, Any]) -> None:
        self.entries = entries
        self.facts = facts


def served(registry: Registry[Any]) -> Served | None:
    """`registry`'s entries from the catalogue, or None when it has no fresh record."""
    record = records().get((registry.kind, registry.package))
    if record is None:
        return None
    entries: dict[str, Entry[Any]] = {}
    try:
        for e in record["entries"]:
            params = tuple(Param(**p) for p in e["params"])
            entries[e["name"]] = CatalogueEntry(registry, e["name"], e["summary"], params,
                                                e["paper"], dict(e["meta"]))
        facts = facts_view(dict(record["facts"]), lambda k: registry.load().facts[k])
    except (KeyError, TypeError, ValueError):  # a damaged file: the package will do
        return None
    return Served(entries, facts)


def facts_view(values: dict[str, Any], live: Callable[[str], Any]) -> Mapping[str, Any]:
    """`values` itself when all plain; else a Facts mapping that fetches the others live."""
    if any(isinstance(v, Unloaded) for v in values.values()):
        return Facts(values, live)
    return values


class Facts(Mapping[str, Any]):
    """Read-only facts of which some are fetched from the live entry (importing its package)."""

    def __init__(self, values: dict[str, Any], live: Callable[[str], Any]) -> None:
        self._values = values
        self._live = live

    def __getitem__(self, key: str) -> Any:
        value = self._values[key]
        return self._live(key) if isinstance(value, Unloaded) else value

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Facts({self._values!r})"


class CatalogueEntry(Entry[Any]):
    """An Entry read from the catalogue. `obj` and `params_type` (and any fact that is not plain
    data) are the live entry's, importing the registry's package on first access."""

    def __init__(self, registry: Registry[Any], name: str, summary: str,
                 params: tuple[Param, ...], paper: str, meta: dict[str, Any]) -> None:
        for key, value in (("name", name), ("summary", summary), ("params", params),
                           ("paper", paper), ("_registry", registry), ("_real", None),
                           ("meta", facts_view(meta, lambda k: self.live().meta[k]))):
            object.__setattr__(self, key, value)

    def live(self) -> Entry[Any]:
        """The entry the package registered under this name (importing the package)."""
        if self._real is None:
            registry = self._registry
            real = registry.load()._entries.get(self.name)  # noqa: SLF001 - its own registry
            if real is None or isinstance(real, CatalogueEntry):
                raise LookupError(f"{registry.kind} {self.name!r} is in {FILE.name} but "
                                  f"{registry.package} does not register it: run "
                                  f"{WRITE_COMMAND}")
            object.__setattr__(self, "_real", real)
        return self._real

    @property  # type: ignore[override]
    def obj(self) -> Any:
        return self.live().obj

    @property  # type: ignore[override]
    def params_type(self) -> type:
        return self.live().params_type

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Entry):
            return NotImplemented
        mine = (self.name, self.summary, self.params, self.paper)
        if mine != (other.name, other.summary, other.params, other.paper):
            return False
        return (dict(self.meta), self.obj, self.params_type) == (
            dict(other.meta), other.obj, other.params_type)

    __hash__ = None  # type: ignore[assignment]  # as Entry's: its meta is a mapping

    def __repr__(self) -> str:
        return f"CatalogueEntry(name={self.name!r}, summary={self.summary!r}, from {FILE.name})"

    def __copy__(self) -> CatalogueEntry:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> CatalogueEntry:
        return self


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
