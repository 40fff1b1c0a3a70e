"""Optional extras: packages a feature needs that the base install leaves out.

Each interop feature (ONNX export, TensorBoard logs, MLflow) names its extra here and calls
`require` before importing anything from it, so a missing package is one line that says what to
install, not an ImportError from deep inside a third-party module.
"""

from __future__ import annotations

import importlib.util

from .errors import MTLError

# extra (pyproject's [project.optional-dependencies] name) -> (what it is for, modules it needs)
EXTRAS: dict[str, tuple[str, tuple[str, ...]]] = {
    "onnx": ("ONNX export", ("onnx", "onnxscript")),
    "tensorboard": ("TensorBoard event files", ("tensorboard",)),
    "mlflow": ("MLflow logging", ("mlflow",)),
}


class MissingExtraError(MTLError, ImportError):
    """A feature's optional packages are not installed; the message says how to install them."""


def missing(extra: str) -> list[str]:
    """The modules of `extra` that cannot be imported here."""
    _, modules = EXTRAS[extra]
    return [m for m in modules if importlib.util.find_spec(m) is None]


def require(extra: str) -> None:
    """Raise MissingExtraError naming the absent packages of `extra` and the install line."""
    absent = missing(extra)
    if absent:
        feature, _ = EXTRAS[extra]
        raise MissingExtraError(
            f"{feature} needs the optional package{'s' * (len(absent) > 1)} "
            f"{', '.join(absent)}, not installed: pip install \"mtl-explorer[{extra}]\"")
