"""Project-wide rules that tooling enforces: lint and the engine/GUI import boundaries."""

from __future__ import annotations

import pkgutil
import re
import shutil
import subprocess
import sys
from pathlib import Path

import mtl_engine

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: import-linter's own TOML reader
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
FRONT_DOOR = "The GUI uses the engine's front door"
PUBLIC_MODULES = {"mtl_engine.events", "mtl_engine.errors"}  # the GUI may import these too


def _tool(name: str) -> str:
    local = Path(sys.executable).parent / name
    found = str(local) if local.exists() else shutil.which(name)
    assert found, f"{name} is not installed: pip install -e '.[test]'"
    return found


def test_ruff_is_clean() -> None:
    res = subprocess.run([_tool("ruff"), "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr


def test_import_contracts_hold() -> None:
    """mtl_engine never imports Qt or the GUI; mtl_gui never imports torch directly, nor engine
    internals (only mtl_engine's top-level names and its public modules)."""
    res = subprocess.run([_tool("lint-imports")], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "3 kept, 0 broken" in res.stdout
    assert f"{FRONT_DOOR} KEPT" in res.stdout


def _front_door_contract() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as f:
        contracts = tomllib.load(f)["tool"]["importlinter"]["contracts"]
    return next(c for c in contracts if c["name"] == FRONT_DOOR)


def test_the_front_door_contract_forbids_every_internal_module() -> None:
    """A new engine module is internal until someone decides otherwise: the contract must name it
    (it lists them explicitly, so a new one would otherwise be importable from the GUI)."""
    contract = _front_door_contract()
    assert contract["source_modules"] == ["mtl_gui"]
    assert contract["type"] == "forbidden"
    submodules = {f"mtl_engine.{m.name}" for m in pkgutil.iter_modules(mtl_engine.__path__)}
    assert submodules >= PUBLIC_MODULES
    assert set(contract["forbidden_modules"]) == submodules - PUBLIC_MODULES


def test_the_gui_imports_only_the_front_door() -> None:
    """The same rule as the contract, read from the source text (which also catches imports
    inside strings or functions a graph might miss): `from mtl_engine import ...`, or one of the
    public modules."""
    allowed = {"from mtl_engine", "import mtl_engine"} | {
        f"{kind} {m}" for m in PUBLIC_MODULES for kind in ("from", "import")}
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / "mtl_gui").rglob("*.py")):
        for match in re.finditer(r"\b(?:from|import) mtl_engine[.\w]*", path.read_text()):
            found.setdefault(match.group(0), set()).add(str(path.relative_to(ROOT)))
    assert "from mtl_engine" in found  # the scan sees the GUI's imports at all
    bad = {k: sorted(v) for k, v in found.items() if k not in allowed}
    assert not bad, f"mtl_gui reaches engine internals: {bad}"


def test_the_front_door_contract_catches_an_internal_import(tmp_path: Path) -> None:
    """The contract is not vacuous: a copy of the tree with one GUI module importing an engine
    internal breaks it, naming that import."""
    for name in ("mtl_engine", "mtl_gui"):
        shutil.copytree(ROOT / name, tmp_path / name,
                        ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    probe = tmp_path / "mtl_gui" / "probe.py"
    probe.write_text("from mtl_engine import presets\n")  # a submodule: internal, not a name
    res = subprocess.run([_tool("lint-imports")], cwd=tmp_path, capture_output=True, text=True,
                         env={"PYTHONPATH": str(tmp_path), "PATH": ""})
    assert res.returncode == 1, res.stdout + res.stderr
    assert f"{FRONT_DOOR} BROKEN" in res.stdout
    assert "mtl_gui.probe -> mtl_engine.presets (l.1)" in res.stdout
