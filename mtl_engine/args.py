"""Argument checks of the public functions: a wrong type is refused up front, naming the
argument, instead of failing deep inside with a message about something else."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from .errors import ArgumentError

PATH = "a path (str or os.PathLike)"


def check_path(value: Any, function: str, argument: str) -> str | os.PathLike[str]:
    if isinstance(value, (str, os.PathLike)) and not isinstance(value, bytes):
        if isinstance(value, str) and not value.strip():
            raise ArgumentError(function, argument, "a non-empty path", value)
        return value
    raise ArgumentError(function, argument, PATH, value)


def as_config(value: Any, function: str, argument: str = "config") -> Any:
    """An ExperimentConfig as given, or a plain mapping validated into one (ConfigError naming
    the field when it is not valid); anything else is an ArgumentError."""
    from .config import ExperimentConfig, from_dict

    if isinstance(value, ExperimentConfig):
        return value
    if isinstance(value, Mapping):
        return from_dict(value)
    raise ArgumentError(function, argument, "an ExperimentConfig or a config dict", value)
