"""Typed errors the engine raises. Each one reads as a single line a user can act on."""

from __future__ import annotations

import difflib
import errno as _errno
import reprlib
from collections.abc import Iterable
from pathlib import Path

# No message may explode: a value quoted in one is cut to about this many characters, and a whole
# message (which may quote several values or a path) to MAX_MESSAGE.
MAX_VALUE = 80
MAX_MESSAGE = 2000


class _Short(reprlib.Repr):
    def __init__(self) -> None:
        super().__init__()
        self.maxstring = MAX_VALUE
        self.maxother = MAX_VALUE
        self.maxlong = MAX_VALUE
        self.maxlist = self.maxtuple = self.maxdict = self.maxset = 6
        self.maxlevel = 3

    def repr_int(self, x: int, level: int) -> str:
        # builtins.repr of a huge int is slow and, past 4300 digits, an error in itself.
        if x.bit_length() > 256:
            digits = (str(len(str(abs(x)))) if x.bit_length() < 14000  # under 4300 digits
                      else f"about {int(x.bit_length() * 0.30103) + 1}")
            return f"<{'a negative' if x < 0 else 'an'} integer of {digits} digits>"
        return super().repr_int(x, level)


_SHORT = _Short()


def short(value: object) -> str:
    """``repr(value)``, cut to a readable length: the one way values are quoted in messages."""
    try:
        return _SHORT.repr(value)
    except Exception:  # a hostile __repr__ must not replace the real error
        return f"<{type(value).__name__}>"


def _cap(text: str) -> str:
    if len(text) <= MAX_MESSAGE:
        return text
    half = MAX_MESSAGE // 2
    return f"{text[:half]} ... {text[-half:]}"


class MTLError(Exception):
    """Base class of every error the engine raises on purpose. Its message is one line of at
    most MAX_MESSAGE characters, whatever it quotes."""

    def __init__(self, *args: object) -> None:
        if len(args) == 1 and isinstance(args[0], str):
            args = (_cap(args[0]),)
        super().__init__(*args)

    def __reduce__(self) -> tuple[object, ...]:
        # Subclasses take other arguments than their message; rebuild from the message and the
        # attributes, so an error crosses a process boundary (a study's worker) intact.
        return (_restore, (type(self), self.args, dict(self.__dict__)))


def _restore(cls: type[MTLError], args: tuple[object, ...], state: dict[str, object]
             ) -> MTLError:
    exc = cls.__new__(cls)
    exc.args = args
    exc.__dict__.update(state)
    return exc


class ConfigError(MTLError, ValueError):
    """A value in an experiment config is wrong; `path` names the field (``tasks[1].loss``)."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = _cap(message)
        super().__init__(f"{path}: {message}" if path else message)


class UnknownNameError(ConfigError, KeyError):
    """A name that no registry knows; the message lists the choices and the closest match."""

    def __init__(self, kind: str, name: object, choices: Iterable[str], path: str = "") -> None:
        self.kind = kind
        self.name = name
        self.choices = sorted(choices)
        text = name if isinstance(name, str) else short(name)
        close = (difflib.get_close_matches(text, self.choices, n=1, cutoff=0.5)
                 if len(text) <= MAX_VALUE else [])  # a huge name is no typo of a short one
        hint = f" Did you mean {close[0]!r}?" if close else ""
        message = f"unknown {kind} {short(name)}.{hint} Choices: {', '.join(self.choices)}"
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
            where += f", column {short(column)}"
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
            f"; weights restored to step {restored_step}, whose losses were checked finite"
            if restored_step is not None
            else "; no step was checked finite, so the model keeps its initial weights"
        )
        super().__init__(f"loss of task {task!r} became {value} at step {step}{kept}")


class SolverError(MTLError, RuntimeError):
    """An optional optimisation solver is missing or failed; never fall back silently."""


class BundleError(MTLError, ValueError):
    """A model bundle or run folder that cannot be read, or one that does not match what the
    engine expects (its message names what does not match)."""


class ArgumentError(MTLError, TypeError):
    """A public function called with an argument of the wrong type; names the argument."""

    def __init__(self, function: str, argument: str, expected: str, got: object) -> None:
        self.function = function
        self.argument = argument
        super().__init__(f"{function}(): {argument} must be {expected}, got "
                         f"{type(got).__name__} {short(got)}")


# errno -> the reason a user reads; anything else reads as the system's own words.
_WRITE_REASONS = {
    _errno.ENOSPC: "no space left on the device (disk full)",
    _errno.EDQUOT: "disk quota exceeded",
    _errno.EROFS: "the file system is read-only",
    _errno.EACCES: "permission denied",
    _errno.EPERM: "permission denied",
    _errno.EISDIR: "it is a folder, not a file",
    _errno.ENOTDIR: "a part of the path is a file, not a folder",
    _errno.EEXIST: "a part of the path is a file, not a folder",
    _errno.ENAMETOOLONG: "the name is too long",
    _errno.EFBIG: "the file is too large for this file system",
}


class FileWriteError(MTLError, OSError):
    """A file the engine or the window writes could not be written: one line naming the path
    and the reason. Nothing partial or temporary is left behind. An OSError too, so code that
    handles OS failures keeps working; the CLI maps it to exit code 2."""

    def __init__(self, path: str | Path, reason: str, errno: int | None = None) -> None:
        self.path = str(path)
        self.reason = reason
        self.message = _cap(f"{path}: cannot write: {reason}")
        super().__init__(self.message)
        self.errno = errno

    def __str__(self) -> str:  # OSError would print "[Errno n] None"
        return self.message

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.path, self.reason, self.errno))

    @classmethod
    def from_os(cls, path: str | Path, exc: OSError) -> FileWriteError:
        if isinstance(exc, FileWriteError):
            return exc
        code = exc.errno
        reason = _WRITE_REASONS.get(code or -1) or (exc.strerror or str(exc) or
                                                    type(exc).__name__).lower()
        return cls(path, reason, code)


def fmt_shape(shape: Iterable[int]) -> str:
    return "(" + ", ".join(str(int(s)) for s in shape) + ")"
