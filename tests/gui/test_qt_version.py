"""The app refuses to start on PySide6 6.12.0, the release pyproject.toml excludes (see
mtl_gui/qt_version.py), in one line naming the version and what to install instead."""

from __future__ import annotations

import re
from pathlib import Path

import PySide6
import pytest

from mtl_gui import app, qt_version

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


@pytest.mark.parametrize("version", ["6.12.0", "6.12", "6.12.0+local", " 6.12.0\n"])
def test_the_broken_release_is_refused_in_one_line(version: str) -> None:
    problem = qt_version.binding_problem(version)
    assert problem is not None and "\n" not in problem
    assert problem.startswith("MTL Explorer cannot run on the installed PySide6 6.12")
    assert problem.endswith("install another release: "
                            "pip install 'PySide6-Essentials>=6.6,!=6.12.0,<6.13'")


@pytest.mark.parametrize("version", ["6.11.3", "6.12.1", "6.6.0", "6.12.0rc1", "6.1.20", "",
                                     "unknown"])
def test_other_releases_start(version: str) -> None:
    assert qt_version.binding_problem(version) is None


def test_release_numbers() -> None:
    assert qt_version.release("6.12.0") == (6, 12, 0)
    assert qt_version.release("6.12") == (6, 12, 0)
    assert qt_version.release("6.11.3+cpu") == (6, 11, 3)
    assert qt_version.release("6.12.0.dev1") is None


def test_the_refused_releases_are_the_ones_the_dependency_pin_excludes() -> None:
    pin = re.search(r'"PySide6-Essentials([^"]*)"', PYPROJECT.read_text(encoding="utf-8"))
    assert pin is not None
    excluded = re.findall(r"!=([\d.]+)", pin.group(1))
    assert {qt_version.release(v) for v in excluded} == set(qt_version.BROKEN_RELEASES)
    assert qt_version.INSTALL_INSTEAD.endswith(f"'PySide6-Essentials{pin.group(1)}'")


def test_the_installed_binding_is_checked(monkeypatch) -> None:
    assert qt_version.installed_problem() == qt_version.binding_problem(PySide6.__version__)
    monkeypatch.setattr(PySide6, "__version__", "6.12.0")
    assert "PySide6 6.12.0" in (qt_version.installed_problem() or "")


def test_run_app_refuses_before_any_window(monkeypatch, capsys) -> None:
    monkeypatch.setattr(PySide6, "__version__", "6.12.0")
    shown: list = []
    monkeypatch.setattr(app, "show_windows", lambda *a: shown.append(a))
    assert app.run_app() == 1
    err = capsys.readouterr().err
    assert err == qt_version.binding_problem("6.12.0") + "\n" and shown == []
