"""The parameter schema every registry entry declares, and the entry itself.

Parameters are declared once, as a frozen dataclass whose fields are made with `param(...)`; the
`Param` schema is derived from it (`schema_of`) and the code reads typed values (`p.temp`), so a
default is written in exactly one place. `Entry` is a registered thing with its summary, paper,
schema and facts. registry.py holds the registries and re-exports these names; this module imports
neither it nor the catalogue, so both can build on it.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import types
import typing
from collections.abc import Mapping
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
