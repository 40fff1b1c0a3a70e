"""One small generic registry; the parameter schema every entry declares is in params.py.

Every name a preset can hold (layer, sharing scheme, strategy, dataset, loss, metric, optimiser)
resolves through a `Registry`. Each entry carries a one-line summary, the paper it comes from, its
parameters and the other facts about itself (`facts`: a strategy's family and toy settings, a
dataset's smoke-test parameters, an importer's file suffixes, ...), which is all a GUI needs to
build a picker and a form, all `validate_params` needs to check a preset, and all the contract
tests need to pick a new entry up without edits.

Parameters are declared once, as a frozen dataclass whose fields are made with `param(...)`
(params.py, re-exported here with `Param`, `Entry` and the rest). A registry imports the
package that fills it on first use (`Registry(kind, package=...)`), so no caller has to remember
to load anything. Until then it
serves names, summaries, schemas and facts from the generated catalogue (catalogue_read.py),
which imports no torch; an entry's `obj` and `params_type` import the package when first read.
"""

from __future__ import annotations

import copy
import importlib
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Generic, TypeVar

from .errors import UnknownNameError
from .params import (  # noqa: F401 - re-exported: registry is where entries are declared
    INT_MAX,
    PARAM_TYPES,
    Entry,
    NoParams,
    Param,
    param,
    parse_params,
    schema_of,
    validate_params,
)

T = TypeVar("T")


class Registry(Generic[T]):
    """Names -> entries for one kind of thing. Refuses duplicates; unknown names get suggestions.

    `package` is imported on first use (every module in it registers itself), so the registry is
    complete whenever anyone reads it. Until something needs more than the catalogue holds
    (an entry's `obj` or `params_type`, a name it lacks), the entries come from catalogue.json,
    without importing the package; entries registered meanwhile replace the catalogue's.
    `facts` names the extra keyword facts an entry may carry (with their defaults); anything
    else given to `register` is a typo and is refused.
    """

    def __init__(self, kind: str, package: str = "", facts: Mapping[str, Any] | None = None
                 ) -> None:
        self.kind = kind
        self.package = package
        self._facts: dict[str, Any] = dict(facts or {})
        self._entries: dict[str, Entry[T]] = {}
        self._loaded = not package
        self._lock = threading.RLock()
        self._catalogue: Any = None  # catalogue_read.Served, False when there is none; read once

    @property
    def facts(self) -> Mapping[str, Any]:
        """The declared facts and their defaults (the catalogue's until the package loads)."""
        served = self._served()
        return self._facts if served is None else served.facts

    def register(
        self,
        name: str,
        summary: str,
        params: type | None = None,
        paper: str = "",
        **meta: Any,
    ) -> Callable[[T], T]:
        """Decorator: ``@STRATEGIES.register("dwa", "Dynamic weight average", params=DWAParams)``.

        `params` is the entry's parameter dataclass; without it, an `obj` that is a class with a
        `Params` dataclass attribute supplies its own.
        """

        def deco(obj: T) -> T:
            if not self._loaded and self.package not in sys.modules:
                self.load()  # its declared facts first (the package's own modules skip this)
            kind = params if params is not None else getattr(obj, "Params", NoParams)
            unknown = set(meta) - set(self._facts)
            if unknown:
                raise TypeError(f"{self.kind} {name!r}: unknown facts {sorted(unknown)}; "
                                f"this registry declares {sorted(self._facts)}")
            facts = {**copy.deepcopy(self._facts), **meta}  # no two entries share a default
            self.add(Entry(name, obj, summary, schema_of(kind), paper, facts, kind))
            return obj

        return deco

    def add(self, entry: Entry[T]) -> None:
        if entry.name in self._entries:
            raise ValueError(f"{self.kind} {entry.name!r} is registered twice")
        self._entries[entry.name] = entry

    def declare(self, **facts: Any) -> None:
        """Name the facts (with defaults) this registry's entries may carry. The package that
        fills the registry calls it before its modules register."""
        self._facts.update(facts)

    def load(self) -> Registry[T]:
        """Import the package that fills this registry (once; later calls return at once)."""
        if self._loaded:
            return self
        with self._lock:  # a second thread waits; the importing thread itself may re-enter
            if not self._loaded:
                self._loaded = True
                try:
                    importlib.import_module(self.package)
                except BaseException:
                    self._loaded = False
                    raise
        return self

    def _served(self) -> Any:
        """The catalogue's entries while the package is not imported (catalogue_read.Served), else
        None: then the registry's own entries are the truth."""
        if self._loaded or self.package in sys.modules:  # imported, or being imported
            return None
        if self._catalogue is None:
            with self._lock:
                if self._catalogue is None:
                    from . import catalogue_read

                    self._catalogue = catalogue_read.served(self) or False
        return self._catalogue or None

    def _view(self) -> dict[str, Entry[T]]:
        served = self._served()
        if served is None:
            return self.load()._entries
        if not self._entries:
            return served.entries
        return {**served.entries, **self._entries}  # registered ones replace the catalogue's

    def get(self, name: str, path: str = "") -> Entry[T]:
        view = self._view()
        try:
            return view[name]
        except TypeError:  # unhashable: no registry holds it
            raise UnknownNameError(self.kind, name, view, path) from None
        except KeyError:
            pass
        entries = self.load()._entries  # not in the catalogue: the package may register it
        if name in entries:
            return entries[name]
        raise UnknownNameError(self.kind, name, entries, path)

    def __contains__(self, name: object) -> bool:
        return name in self._view() or name in self.load()._entries

    def __iter__(self) -> Iterator[Entry[T]]:
        return iter(list(self._view().values()))

    def __len__(self) -> int:
        return len(self._view())

    def names(self) -> list[str]:
        return list(self._view())

    def entries(self) -> list[Entry[T]]:
        return list(self._view().values())

    def where(self, fact: str, value: Any = True) -> list[str]:
        """Names of the entries whose `fact` equals `value`, in registration order."""
        if fact not in self.facts:
            raise KeyError(f"{self.kind} entries have no fact {fact!r}")
        return [e.name for e in self if e.meta[fact] == value]


# The registries themselves, each with the package that fills it on first use. That package
# declares the facts its entries carry (`declare`) and its modules register the entries.
LAYERS: Registry[Any] = Registry("layer", "mtl_engine.model")
SHARING: Registry[Any] = Registry("sharing scheme", "mtl_engine.model")
MERGES: Registry[Any] = Registry("merge", "mtl_engine.model")
STRATEGIES: Registry[Any] = Registry("strategy", "mtl_engine.strategies")
DATASETS: Registry[Any] = Registry("dataset", "mtl_engine.data")
LOSSES: Registry[Any] = Registry("loss", "mtl_engine.losses")
METRICS: Registry[Any] = Registry("metric", "mtl_engine.metrics")
OPTIMIZERS: Registry[Any] = Registry("optimiser", "mtl_engine.optim")
SCHEDULES: Registry[Any] = Registry("lr schedule", "mtl_engine.optim")

ALL: dict[str, Registry[Any]] = {
    "strategies": STRATEGIES,
    "datasets": DATASETS,
    "layers": LAYERS,
    "sharing": SHARING,
    "merges": MERGES,
    "losses": LOSSES,
    "metrics": METRICS,
    "optimizers": OPTIMIZERS,
    "schedules": SCHEDULES,
}
