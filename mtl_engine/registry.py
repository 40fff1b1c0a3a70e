"""One small generic registry, and the parameter schema every entry declares.

Every name a preset can hold (layer, sharing scheme, strategy, dataset, loss, metric, optimiser)
resolves through a `Registry`. Each entry carries a one-line summary, the paper it comes from and a
tuple of `Param` records, which is all a GUI needs to build a form and all `validate_params` needs
to check a preset.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

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


@dataclass(frozen=True)
class Entry(Generic[T]):
    """A registered thing: its factory plus what a user needs to choose and configure it."""

    name: str
    obj: T
    summary: str
    params: tuple[Param, ...] = ()
    paper: str = ""
    meta: Mapping[str, Any] = field(default_factory=dict)

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}


class Registry(Generic[T]):
    """Names -> entries for one kind of thing. Refuses duplicates; unknown names get suggestions."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Entry[T]] = {}

    def register(
        self,
        name: str,
        summary: str,
        params: tuple[Param, ...] = (),
        paper: str = "",
        **meta: Any,
    ) -> Callable[[T], T]:
        """Decorator: ``@STRATEGIES.register("dwa", "Dynamic weight average", params=...)``."""

        def deco(obj: T) -> T:
            self.add(Entry(name, obj, summary, tuple(params), paper, dict(meta)))
            return obj

        return deco

    def add(self, entry: Entry[T]) -> None:
        if entry.name in self._entries:
            raise ValueError(f"{self.kind} {entry.name!r} is registered twice")
        self._entries[entry.name] = entry

    def get(self, name: str, path: str = "") -> Entry[T]:
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            raise UnknownNameError(self.kind, name, self._entries, path) from None

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[Entry[T]]:
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def names(self) -> list[str]:
        return list(self._entries)

    def entries(self) -> list[Entry[T]]:
        return list(self._entries.values())



# The registries themselves. Implementations register into them when their modules are imported;
# `mtl_engine.catalog.load_all()` imports every one of them.
LAYERS: Registry[Any] = Registry("layer")
SHARING: Registry[Any] = Registry("sharing scheme")
STRATEGIES: Registry[Any] = Registry("strategy")
DATASETS: Registry[Any] = Registry("dataset")
LOSSES: Registry[Any] = Registry("loss")
METRICS: Registry[Any] = Registry("metric")
OPTIMIZERS: Registry[Any] = Registry("optimiser")
SCHEDULES: Registry[Any] = Registry("lr schedule")

ALL: dict[str, Registry[Any]] = {
    "strategies": STRATEGIES,
    "datasets": DATASETS,
    "layers": LAYERS,
    "sharing": SHARING,
    "losses": LOSSES,
    "metrics": METRICS,
    "optimizers": OPTIMIZERS,
    "schedules": SCHEDULES,
}
