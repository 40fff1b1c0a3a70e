"""The generic registry and parameter schema."""

from __future__ import annotations

import pytest

from mtl_engine import catalog
from mtl_engine.errors import ConfigError, UnknownNameError
from mtl_engine.registry import ALL, Param, Registry, validate_params


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
    catalog.load_all()
    reg = ALL[kind]
    assert len(reg) > 0, f"the {kind} registry is empty"
    for entry in reg:
        assert entry.summary and len(entry.summary) < 200, entry.name
        # defaults must pass their own schema: a form pre-filled with them is valid
        validate_params(entry.params, entry.defaults(), f"{kind}.{entry.name}")
        for p in entry.params:
            assert p.help or p.type == "layers", f"{kind}.{entry.name}.{p.name} has no help"
