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


def run_args(function: str, config: Any, control: Any, out_dir: Any, overwrite: Any,
             key: Any) -> Any:
    """The checks of `run` and `run_in_process`: the config (validated), then each argument's
    type; returns the ExperimentConfig."""
    from .control import RunControl

    cfg = as_config(config, function)
    if control is not None and not isinstance(control, RunControl):
        raise ArgumentError(function, "control", "a RunControl or None", control)
    if out_dir is not None:
        check_path(out_dir, function, "out_dir")
    if not isinstance(overwrite, bool):
        raise ArgumentError(function, "overwrite", "True or False", overwrite)
    if not isinstance(key, str):
        raise ArgumentError(function, "key", "a str", key)
    return cfg
