"""The generic registry and parameter schema."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from typing import Literal

import pytest

from mtl_engine.errors import ConfigError, UnknownNameError
from mtl_engine.registry import (
    ALL,
    Param,
    Registry,
    param,
    parse_params,
    schema_of,
    validate_params,
)


def test_duplicates_are_refused() -> None:
    reg: Registry[int] = Registry("thing")
    reg.register("a", "first")(1)
    with pytest.raises(ValueError, match="registered twice"):
        reg.register("a", "again")(2)


def test_unknown_name_lists_choices_and_close_match() -> None:
    reg: Registry[int] = Registry("thing")
    for n in ("alpha", "beta", "gamma"):
        reg.register(n, n)(0)
    with pytest.raises(UnknownNameError) as info:
        reg.get("alpah", "x.name")
    msg = str(info.value)
    assert msg.startswith("x.name: unknown thing 'alpah'. Did you mean 'alpha'?")
    assert "Choices: alpha, beta, gamma" in msg


def test_validate_params_fills_defaults_and_checks_ranges() -> None:
    schema = (Param("n", "int", 4, low=1), Param("p", "float", 0.5, low=0.0, high=1.0),
              Param("mode", "choice", "a", choices=("a", "b")),
              Param("xs", "floats", [1.0], low=0.0), Param("cap", "float", None, optional=True))
    assert validate_params(schema, {"n": 2}, "s") == {"n": 2, "p": 0.5, "mode": "a",
                                                      "xs": [1.0], "cap": None}
    with pytest.raises(ConfigError, match=r"^s\.p: must be a number in \[0, 1\], got 2"):
        validate_params(schema, {"p": 2}, "s")
    with pytest.raises(ConfigError, match=r"^s\.xs\[1\]: must be a number >= 0"):
        validate_params(schema, {"xs": [1, -2]}, "s")
    with pytest.raises(UnknownNameError, match=r"^s\.mode: unknown mode 'c'"):
        validate_params(schema, {"mode": "c"}, "s")
    with pytest.raises(ConfigError, match=r"^s\.n: must be a positive integer, got True"):
        validate_params(schema, {"n": True}, "s")
    assert validate_params(schema, {"n": 3.0}, "s")["n"] == 3


@pytest.mark.parametrize("kind", sorted(ALL))
def test_every_entry_documents_itself(kind: str) -> None:
    reg = ALL[kind]
    assert len(reg) > 0, f"the {kind} registry is empty"
    for entry in reg:
        assert entry.summary and len(entry.summary) < 200, entry.name
        # defaults must pass their own schema: a form pre-filled with them is valid
        validate_params(entry.params, entry.defaults(), f"{kind}.{entry.name}")
        for p in entry.params:
            assert p.help or p.type == "layers", f"{kind}.{entry.name}.{p.name} has no help"


@dataclass(frozen=True)
class _Knobs:
    temp: float = param(2.0, "temperature", low=1e-3)
    passes: int = param(8, "passes", low=1)
    mode: Literal["fast", "exact"] = param("exact", "how")
    scale: float | None = param(None, "scale, or automatic")
    widths: list[int] = param([4, 2], "widths", low=1)


def test_schema_is_derived_from_the_parameter_dataclass() -> None:
    schema = {p.name: p for p in schema_of(_Knobs)}
    assert [p for p in schema] == ["temp", "passes", "mode", "scale", "widths"]
    assert (schema["temp"].type, schema["temp"].default, schema["temp"].low) == ("float", 2.0, 1e-3)
    assert schema["passes"].type == "int" and schema["passes"].help == "passes"
    assert schema["mode"].type == "choice" and schema["mode"].choices == ("fast", "exact")
    assert schema["scale"].optional and schema["scale"].type == "float"
    assert schema["widths"].type == "ints" and schema["widths"].default == [4, 2]


def test_parse_params_gives_typed_values_and_errors_naming_the_field() -> None:
    p = parse_params(_Knobs, {"passes": 3.0, "mode": "fast"}, "strategy.params")
    assert (p.temp, p.passes, p.mode, p.scale, p.widths) == (2.0, 3, "fast", None, [4, 2])
    assert isinstance(p.passes, int)
    assert parse_params(_Knobs, None).widths is not parse_params(_Knobs, None).widths
    with pytest.raises(ConfigError, match=r"^strategy\.params\.temp: must be a number >= 0\.001"):
        parse_params(_Knobs, {"temp": 0.0}, "strategy.params")
    with pytest.raises(UnknownNameError, match=r"^s\.tmp: unknown parameter 'tmp'\. Did you mean"):
        parse_params(_Knobs, {"tmp": 1.0}, "s")


def test_an_entry_carries_its_parameters_and_declared_facts() -> None:
    reg: Registry[type] = Registry("thing")
    reg.declare(family="other", exact=True)

    class Thing:
        Params = _Knobs

    reg.register("t", "a thing", family="loss")(Thing)
    entry = reg.get("t")
    assert entry.params_type is _Knobs and [p.name for p in entry.params][0] == "temp"
    assert entry.meta == {"family": "loss", "exact": True}  # undeclared facts take the default
    assert entry.parse({"temp": 5}).temp == 5.0
    assert reg.where("family", "loss") == ["t"]
    with pytest.raises(TypeError, match="unknown facts \\['famly'\\]"):
        reg.register("u", "typo", famly="loss")(Thing)


def test_registries_load_their_own_package_on_first_use() -> None:
    # A fresh interpreter, where nothing has imported a strategy or a layer module yet. Names
    # may come from the catalogue (test_catalogue.py); an entry's object needs the package.
    code = ("import sys; from mtl_engine.registry import STRATEGIES, LAYERS; "
            "print('mtl_engine.strategies' in sys.modules, len(STRATEGIES) > 20, "
            "'linear' in LAYERS, STRATEGIES.get('pcgrad').obj is not None, "
            "'mtl_engine.strategies' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True", "True", "True", "True"]


@dataclass(frozen=True)
class _Keyword:
    lambda_: float = param(1e-3, "penalty weight", low=0.0, name="lambda")


def test_a_parameter_named_like_a_python_keyword_keeps_its_preset_name() -> None:
    assert [p.name for p in schema_of(_Keyword)] == ["lambda"]
    assert parse_params(_Keyword, {"lambda": 0.5}).lambda_ == 0.5
    with pytest.raises(UnknownNameError, match=r"^s\.lambda_: unknown parameter"):
        parse_params(_Keyword, {"lambda_": 0.5}, "s")
