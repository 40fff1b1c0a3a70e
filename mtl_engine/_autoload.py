"""Import every module of a package, so that one new file is one new registry entry."""

from __future__ import annotations

import importlib
import pkgutil


def import_submodules(package_name: str, path: list[str]) -> None:
    for info in sorted(pkgutil.iter_modules(path), key=lambda m: m.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"{package_name}.{info.name}")
