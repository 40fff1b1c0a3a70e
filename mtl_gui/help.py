"""Help > Documentation and Help > About: where the local docs are, and what this build runs on.

Nothing here reaches the network: the documentation is the docs/ folder and README of the source
tree the app runs from; an installed wheel ships neither, and the user is told so.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import PySide6
from PySide6.QtCore import qVersion

import mtl_engine

# The first that exists is opened: the GUI guide, else the README.
DOC_FILES = ("docs/gui.md", "README.md")


def source_root() -> Path:
    """The folder holding mtl_gui/ (a checkout or an editable install keeps docs/ there)."""
    return Path(__file__).resolve().parent.parent


def documentation_path(root: Path | None = None) -> Path | None:
    root = source_root() if root is None else root
    for rel in DOC_FILES:
        path = root / rel
        if path.is_file():
            return path
    return None


def _version(dist: str, fallback: str = "not installed") -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return fallback


def training_device() -> str:
    """What training.device "auto" resolves to on this machine, e.g. "cpu" or "cuda"."""
    from mtl_engine import resolve_device

    return str(resolve_device("auto"))


def about_text() -> str:
    """Plain lines for the About box (also what a bug report should quote)."""
    return "\n".join((
        f"MTL Explorer {_version('mtl-explorer', mtl_engine.__version__)}",
        "A desktop app and a headless engine for multi-task learning experiments.",
        "",
        f"PyTorch {_version('torch')}",
        f"Qt {qVersion()} (PySide6 {PySide6.__version__})",
        f"pyqtgraph {_version('pyqtgraph')}",
        f"Training device (auto): {training_device()}",
    ))
