"""One small generic registry, and the parameter schema every entry declares.

Every name a preset can hold (layer, sharing scheme, strategy, dataset, loss, metric, optimiser)
resolves through a `Registry`. Each entry carries a one-line summary, the paper it comes from, its
parameters and the other facts about itself (`facts`: a strategy's family and toy settings, a
dataset's smoke-test parameters, an importer's file suffixes, ...), which is all a GUI needs to
build a picker and a form, all `validate_params` needs to check a preset, and all the contract
tests need to pick a new entry up without edits.

Parameters are declared once, as a frozen dataclass whose fields are made with `param(...)`; the
`Param` schema is derived from it (`schema_of`) and the code reads typed values (`p.temp`), so a
default is written in exactly one place. A registry imports the package that fills it on first use
(`Registry(kind, package=...)`), so no caller has to remember to load anything. Until then it
serves names, summaries, schemas and facts from the generated catalogue (catalogue.py), which
imports no torch; an entry's `obj` and `params_type` import the package when first read.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib
import math
import sys
import threading
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Generic, Literal, TypeVar, Union

from .errors import ConfigError, UnknownNameError, short

T = TypeVar("T")

INT_MAX = 2**63 - 1
PARAM_TYPES = ("int", "float", "bool", "str", "choice", "floats", "ints", "strs", "layers")


@dataclass(frozen=True)
class Param:
    """One parameter of a registry entry: enough to validate it and to draw a form field.

    `type` is one of PARAM_TYPES; "floats"/"ints"/"strs" are lists. `optional` admits None (shown as
    "auto"/"off" in a form). `low`/`high` bound numbers (and each list item) inclusively.
    """

    name: str
    type: str
    default: Any
    help: str = ""
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    optional: bool = False

    def __post_init__(self) -> None:
        if self.type not in PARAM_TYPES:
            raise ValueError(f"Param {self.name}: type must be one of {PARAM_TYPES}")
        if self.type == "choice" and not self.choices:
            raise ValueError(f"Param {self.name}: a choice needs choices")

    def check(self, value: Any, path: str) -> Any:
        """Return `value` coerced to this parameter's type, or raise ConfigError naming `path`."""
        if value is None:
            if self.optional:
                return None
            raise ConfigError(path, f"must be {self.describe()}, got nothing")
        if self.type == "layers":
            # Items are checked against the layer registry by config.py, which knows it.
            if not isinstance(value, (list, tuple)) or not all(isinstance(v, dict) for v in value):
                raise ConfigError(path, f"must be a list of layers, got {short(value)}")
            return [dict(v) for v in value]
        if self.type in ("floats", "ints", "strs"):
            if not isinstance(value, (list, tuple)):
                raise ConfigError(path, f"must be a list of {self.type[:-1]}s, got {short(value)}")
            item = Param(self.name, self.type[:-1], None, low=self.low, high=self.high)
            return [item.check(v, f"{path}[{i}]") for i, v in enumerate(value)]
        if self.type == "bool":
            if isinstance(value, bool):
                return value
            raise ConfigError(path, f"must be true or false, got {short(value)}")
        if self.type == "int":
            given = value  # messages quote what the user wrote (1.0e+300, not its 301 digits)
            if isinstance(value, bool) or not isinstance(value, int):
                if isinstance(value, float) and value.is_integer():
                    value = int(value)
                else:
                    raise ConfigError(path, f"must be {self.describe()}, got {short(value)}")
            value = self._in_range(value, path, given)
            if abs(value) > INT_MAX:  # every int ends up in torch or numpy as an int64
                raise ConfigError(path, f"must be {self.describe()}, got {short(given)}, "
                                        "beyond the range of a 64-bit integer")
            return value
        if self.type == "float":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(path, f"must be {self.describe()}, got {short(value)}")
            try:
                value = float(value)
            except OverflowError:  # an int with hundreds of digits
                raise ConfigError(path, f"must be {self.describe()}, got {short(value)}, "
                                        "beyond the range of a number") from None
            if not math.isfinite(value):
                raise ConfigError(path, f"must be a finite number, got {short(value)}")
            return self._in_range(value, path)
        if self.type == "choice":
            if value not in self.choices:
                raise UnknownNameError(self.name, value, self.choices, path)
            return value
        if not isinstance(value, str):
            raise ConfigError(path, f"must be text, got {short(value)}")
        return value

    def _in_range(self, value: float, path: str, given: object = None) -> float:
        if (self.low is not None and value < self.low) or (
            self.high is not None and value > self.high
        ):
            shown = value if given is None else given
            raise ConfigError(path, f"must be {self.describe()}, got {short(shown)}")
        return value

    def describe(self) -> str:
        kind = {"int": "an integer", "float": "a number"}.get(self.type, self.type)
        if self.type == "int" and self.low == 1 and self.high is None:
            return "a positive integer"
        if self.low is not None and self.high is not None:
            return f"{kind} in [{_num(self.low)}, {_num(self.high)}]"
        if self.low is not None:
            return f"{kind} >= {_num(self.low)}"
        if self.high is not None:
            return f"{kind} <= {_num(self.high)}"
        return kind


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def validate_params(
    schema: tuple[Param, ...], given: Mapping[str, Any] | None, path: str
) -> dict[str, Any]:
    """Check `given` against `schema`; return a full dict with defaults filled in, schema order."""
    given = dict(given or {})
    if not isinstance(given, dict):
        raise ConfigError(path, f"must be a mapping of parameters, got {short(given)}")
    names = [p.name for p in schema]
    for key in given:
        if key not in names:
            if not names:
                raise ConfigError(f"{path}.{key}", "unknown parameter; this entry takes none")
            raise UnknownNameError("parameter", key, names, f"{path}.{key}")
    out: dict[str, Any] = {}
    for p in schema:
        value = given.get(p.name, p.default)
        out[p.name] = p.check(value, f"{path}.{p.name}")
    return out


# -- typed parameters -----------------------------------------------------------------------
_PARAM = "mtl_param"  # the dataclass field metadata key `param` writes and `schema_of` reads
_SCALARS = {int: "int", float: "float", bool: "bool", str: "str"}
_LISTS = {int: "ints", float: "floats", str: "strs"}


def param(
    default: Any,
    help: str = "",  # noqa: A002 - the Param field it fills has this name
    *,
    low: float | None = None,
    high: float | None = None,
    type: str | None = None,  # noqa: A002 - only for kinds an annotation cannot say ("layers")
    name: str | None = None,
) -> Any:
    """A field of a parameter dataclass: its default, its help line and its bounds.

    The `Param` type comes from the annotation: int, float, bool, str, ``Literal["a", "b"]``
    (a choice), ``list[float]`` / ``list[int]`` / ``list[str]``, each optionally ``| None``.
    `name` is the parameter's name in presets when it cannot be the field's: a Python keyword
    (field ``lambda_``, name ``"lambda"``).
    """
    meta = {_PARAM: {"help": help, "low": low, "high": high, "type": type, "name": name}}
    if isinstance(default, (list, dict)):  # each instance gets its own copy of a mutable default
        return field(default_factory=lambda: copy.deepcopy(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class NoParams:
    """The parameters of an entry that takes none."""


@cache
def schema_of(cls: type) -> tuple[Param, ...]:
    """The `Param` schema of a parameter dataclass, in field order."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a parameter dataclass")
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        info = f.metadata.get(_PARAM)
        if info is None:
            raise TypeError(f"{cls.__qualname__}.{f.name}: declare it with registry.param(...)")
        kind, choices, optional = _kind(hints[f.name], info["type"], f"{cls.__qualname__}.{f.name}")
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        out.append(Param(info["name"] or f.name, kind, default, info["help"], info["low"],
                         info["high"], choices, optional))
    return tuple(out)


def _kind(hint: Any, given: str | None, where: str) -> tuple[str, tuple[str, ...], bool]:
    args = typing.get_args(hint)
    optional = typing.get_origin(hint) in (Union, types.UnionType) and type(None) in args
    if optional:
        rest = [a for a in args if a is not type(None)]
        hint = rest[0] if len(rest) == 1 else Union[tuple(rest)]  # noqa: UP007
    if given is not None:
        return given, (), optional
    if typing.get_origin(hint) is Literal:
        return "choice", tuple(str(a) for a in typing.get_args(hint)), optional
    if typing.get_origin(hint) is list and typing.get_args(hint)[0] in _LISTS:
        return _LISTS[typing.get_args(hint)[0]], (), optional
    if hint in _SCALARS:
        return _SCALARS[hint], (), optional
    raise TypeError(f"{where}: no parameter type for annotation {hint!r}")


P = TypeVar("P")


def parse_params(cls: type[P], given: Mapping[str, Any] | None, path: str = "params") -> P:
    """`given` checked against `cls`'s schema (ConfigError naming `path`), as a `cls` instance."""
    if isinstance(given, cls):
        return given
    schema = schema_of(cls)
    values = validate_params(schema, given, path)  # keyed by the schema's (preset) names
    return cls(**{f.name: values[p.name] for f, p in zip(dataclasses.fields(cls), schema)})



# -- entries and registries ---------------------------------------------------------------
@dataclass(frozen=True)
class Entry(Generic[T]):
    """A registered thing: its factory plus what a user needs to choose and configure it.

    `params_type` is the entry's parameter dataclass and `params` the schema derived from it;
    `meta` holds the registry's declared facts (see `Registry.facts`).
    """

    name: str
    obj: T
    summary: str
    params: tuple[Param, ...] = ()
    paper: str = ""
    meta: Mapping[str, Any] = field(default_factory=dict)
    params_type: type = NoParams

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def parse(self, given: Mapping[str, Any] | None, path: str = "params") -> Any:
        """The entry's typed parameters from a (possibly partial) mapping."""
        return parse_params(self.params_type, given, path)


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
        self._catalogue: Any = None  # catalogue.Served, False when there is none; read once

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
        """The catalogue's entries while the package is not imported (catalogue.Served), else
        None: then the registry's own entries are the truth."""
        if self._loaded or self.package in sys.modules:  # imported, or being imported
            return None
        if self._catalogue is None:
            with self._lock:
                if self._catalogue is None:
                    from . import catalogue

                    self._catalogue = catalogue.served(self) or False
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
