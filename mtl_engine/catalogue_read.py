"""Reading the registries' catalogue (catalogue.json): what registry.py serves from it.

A registry whose package has not been imported serves its names, summaries, schemas and facts
from here, without importing torch; catalogue.py writes the file and checks it is fresh (see its
docstring for the format). This module imports no registry, only the entry types (params.py), so
registry.py can import it without a circle.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .params import Entry, Param

if TYPE_CHECKING:
    from .registry import Registry

FILE = Path(__file__).with_name("catalogue.json")
ROOT = Path(__file__).parent  # source paths in the file are relative to it
VERSION = 1
WRITE_COMMAND = "python -m mtl_engine.catalogue --write"
TUPLE_KEY = "__tuple__"
OBJECT_KEY = "__object__"


class Unloaded:
    """Stands in, in a decoded catalogue, for a fact that is not plain data."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<not loaded: {self.name}>"


def decode(data: Any) -> Any:
    if isinstance(data, list):
        return [decode(v) for v in data]
    if isinstance(data, dict):
        if set(data) == {TUPLE_KEY}:
            return tuple(decode(v) for v in data[TUPLE_KEY])
        if set(data) == {OBJECT_KEY}:
            return Unloaded(data[OBJECT_KEY])
        return {k: decode(v) for k, v in data.items()}
    return data


# -- freshness: the sources the catalogue was made from ---------------------------------------
def digest(relpath: str) -> str:
    try:
        return hashlib.sha256((ROOT / relpath).read_bytes()).hexdigest()[:16]
    except OSError:
        return "missing"


def package_modules(package: str) -> list[str] | None:
    """The module names in a registry package, as `_autoload` imports them; None when there is
    no such folder."""
    import pkgutil

    folder = ROOT.joinpath(*package.split(".")[1:])
    if not folder.is_dir():
        return None
    return sorted(m.name for m in pkgutil.iter_modules([str(folder)]))


def stale_sources(recorded: Mapping[str, Any]) -> list[str]:
    """What changed since `recorded` (a catalogue's "sources"): files, and package listings."""
    changed = [f for f, h in recorded.get("files", {}).items() if digest(f) != h]
    for package, names in recorded.get("packages", {}).items():
        got = package_modules(package) or []
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
