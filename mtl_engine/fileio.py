"""Atomic file writes: a temporary file in the same folder, then a rename.

Every file the engine or the window saves (bundles, exports, presets, CSV reports, run-folder
files) goes through here, so every one fails the same way: a FileWriteError naming the path and
the reason (read-only, not a folder, is a folder, permission, disk full), with no partial file,
no temporary file and no folder this call created left behind.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from .errors import FileWriteError


def _read_umask() -> int:
    # Read once at import: os.umask() can only be read by setting it, which races with other
    # threads creating files.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()
_CHUNK = 1 << 20


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write `data` to `path` whole or not at all; raises FileWriteError."""
    view = memoryview(data)

    def write(f: BinaryIO) -> None:
        for i in range(0, len(view), _CHUNK):
            f.write(view[i:i + _CHUNK])

    atomic_write(path, write)


def atomic_copy(src: str | os.PathLike[str], dest: str | os.PathLike[str]) -> None:
    """Copy a file to `dest` atomically (reading `src` is the caller's to check)."""
    with open(src, "rb") as fin:
        atomic_write(dest, lambda f: _pump(fin, f))


def _pump(fin: BinaryIO, fout: BinaryIO) -> None:
    while chunk := fin.read(_CHUNK):
        fout.write(chunk)


def atomic_write(path: str | os.PathLike[str], write: Callable[[BinaryIO], None]) -> None:
    """Call `write(f)` on a temporary file next to `path`, then rename it onto `path`.

    On any failure (including one raised by `write`) the temporary file is removed, and so are
    the folders this call created; OS failures become FileWriteError naming `path`.
    """
    path = Path(path)
    try:
        _check_target(path)
    except OSError as exc:  # stat itself can fail: a name too long, a folder not searchable
        raise FileWriteError.from_os(path, exc) from None
    created = _make_parents(path)
    tmp: str | None = None
    try:
        # The name is cut so a file name near the system's limit (255) still gets a temporary.
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:100]}.", suffix=".tmp",
                                   dir=path.parent)
        # mkstemp creates 0600; a file the user saves gets the mode a plain open() would give
        # (0644 under the usual umask 022).
        with contextlib.suppress(OSError):  # FAT (a USB stick) has no modes: not an error
            os.fchmod(fd, 0o666 & ~_UMASK)
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())  # a full disk can surface only here
        os.replace(tmp, path)
        tmp = None
    except BaseException as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        _remove(created)
        if isinstance(exc, OSError):
            raise FileWriteError.from_os(path, exc) from None
        raise


def _check_target(path: Path) -> None:
    """Refuse what would fail late or confusingly: a folder as the file, a file as a folder."""
    if path.is_dir():
        raise FileWriteError(path, "it is a folder, not a file")
    if path.exists() and not os.access(path, os.W_OK):
        # The rename would replace it anyway (only the folder's permission counts for that);
        # a file the user made read-only is one they meant to keep.
        raise FileWriteError(path, "the file is read-only", errno.EACCES)
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise FileWriteError(path, f"{parent} is a file, not a folder")
            return


def _make_parents(path: Path) -> list[Path]:
    """Create the missing folders above `path`; the ones created, deepest first."""
    missing = []
    for parent in path.parents:
        if parent.exists():
            break
        missing.append(parent)
    created: list[Path] = []
    try:
        for folder in reversed(missing):
            try:
                folder.mkdir()
            except FileExistsError:
                if folder.is_dir():  # made by someone else meanwhile: theirs, not ours
                    continue
                raise
            created.insert(0, folder)
    except OSError as exc:
        _remove(created)
        raise FileWriteError.from_os(path, exc) from None
    return created


def _remove(folders: list[Path]) -> None:
    for folder in folders:  # deepest first; only if still empty
        try:
            folder.rmdir()
        except OSError:
            return
