"""An exclusive lock on a run folder that dies with the process holding it.

The lock is ``flock`` on ``.lock`` inside the folder (a byte-range lock on Windows): the kernel
drops it when its process ends however it ends, so a crashed or killed run never leaves a folder
locked, while a second live claimant (another process or another thread) is refused at once.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from .errors import FileWriteError

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

LOCK_FILE = ".lock"


class FolderLock:
    """An exclusive, non-blocking lock on a run folder: `.lock` held with flock.

    The lock file is removed on release while it is still held; a claimant that opened it just
    before sees, after locking, that the path no longer names its file, and tries again.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / LOCK_FILE
        self.created: list[Path] = []  # folders made for this run, deepest first
        self.fd = self._acquire()

    def _acquire(self) -> int:
        folder = self.folder
        if folder.exists() and not folder.is_dir():
            raise FileWriteError(folder, "it is a file, not a folder")
        for _ in range(100):
            self._make_folder()
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0),
                             0o644)
            except FileNotFoundError:  # the folder was removed meanwhile: make it again
                continue
            except OSError as exc:
                raise FileWriteError.from_os(folder, exc) from None
            try:
                locked = _try_lock(fd)
            except OSError as exc:  # a file system without locks: say so rather than share
                os.close(fd)
                raise FileWriteError(folder, "cannot lock it on this file system "
                                     f"({(exc.strerror or str(exc)).lower()})") from None
            if not locked:
                holder = _read_pid(fd)
                for _ in range(20):  # the holder writes its pid just after taking the lock
                    if holder:
                        break
                    time.sleep(0.005)
                    holder = _read_pid(fd)
                os.close(fd)
                who = f"process {holder}" if holder else "another process"
                raise FileWriteError(folder, f"another run ({who}) is writing into it")
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if not same:  # released and removed by its holder after we opened it
                os.close(fd)
                continue
            try:  # the holder's pid, for the message a second claimant reads; a full disk may
                os.ftruncate(fd, 0)  # refuse it, which costs only that message
                os.write(fd, f"{os.getpid()}\n".encode())
            except OSError:
                pass
            return fd
        raise FileWriteError(folder, "could not lock it (it keeps being removed)")

    def _make_folder(self) -> None:
        missing = [p for p in (self.folder, *self.folder.parents) if not p.exists()]
        for p in reversed(missing):
            try:
                p.mkdir()
            except FileExistsError:
                if not p.is_dir():
                    raise FileWriteError(self.folder,
                                         f"{p} is a file, not a folder") from None
                continue  # made by someone else meanwhile: theirs, not ours
            except OSError as exc:
                raise FileWriteError.from_os(self.folder, exc) from None
            self.created.insert(0, p)

    def release(self) -> None:
        if self.fd < 0:
            return
        try:
            if os.stat(self.path).st_ino == os.fstat(self.fd).st_ino:
                os.unlink(self.path)
        except OSError:
            pass
        os.close(self.fd)
        self.fd = -1


def _try_lock(fd: int) -> bool:
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True
    import msvcrt  # Windows: a byte-range lock, also dropped when the process dies

    try:
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
    except OSError:
        return False
    return True


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except (OSError, AttributeError):
        return None
    return int(text) if text.isdigit() else None
