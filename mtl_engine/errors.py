"""Typed errors the engine raises. Each one reads as a single line a user can act on."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class MTLError(Exception):
    """Base class of every error the engine raises on purpose."""


class ConfigError(MTLError, ValueError):
    """A value in an experiment config is wrong; `path` names the field (``tasks[1].loss``)."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}" if path else message)


class UnknownNameError(ConfigError, KeyError):
    """A name that no registry knows; the message lists the choices and the closest match."""

    def __init__(self, kind: str, name: object, choices: Iterable[str], path: str = "") -> None:
        self.kind = kind
        self.name = name
        self.choices = sorted(choices)
        close = difflib.get_close_matches(str(name), self.choices, n=1, cutoff=0.5)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        message = f"unknown {kind} {name!r}.{hint} Choices: {', '.join(self.choices)}"
        super().__init__(path, message)

    def __str__(self) -> str:  # KeyError would otherwise quote the whole message
        return ConfigError.__str__(self)


class ShapeError(ConfigError):
    """A layer that does not fit the shape it receives; the path names the layer."""

    def __init__(self, path: str, layer: str, in_shape: tuple[int, ...], message: str) -> None:
        self.layer = layer
        self.in_shape = tuple(in_shape)
        shape = fmt_shape(in_shape)
        super().__init__(path, f"{layer} cannot take input of shape {shape}: {message}")


class DataError(MTLError, ValueError):
    """A data file that cannot be used; names the file and, where known, the column and row."""

    def __init__(
        self, source: str, message: str, column: str | None = None, row: int | None = None
    ) -> None:
        self.source = source
        self.column = column
        self.row = row
        where = source
        if column is not None:
            where += f", column {column!r}"
        if row is not None:
            where += f", row {row}"
        super().__init__(f"{where}: {message}")


class DivergedError(MTLError, FloatingPointError):
    """A task's loss became NaN or infinite."""

    def __init__(self, task: str, step: int, value: float, restored_step: int | None) -> None:
        self.task = task
        self.step = step
        self.value = value
        self.restored_step = restored_step
        kept = (
            f"; weights restored to step {restored_step}, the last step checked finite"
            if restored_step is not None
            else ""
        )
        super().__init__(f"loss of task {task!r} became {value} at step {step}{kept}")


class SolverError(MTLError, RuntimeError):
    """An optional optimisation solver is missing or failed; never fall back silently."""


class BundleError(MTLError, ValueError):
    """A model bundle or run folder that cannot be read."""


def fmt_shape(shape: Iterable[int]) -> str:
    return "(" + ", ".join(str(int(s)) for s in shape) + ")"
