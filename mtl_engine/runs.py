"""Run folders: what a run leaves on disk, written as it goes and read back for replay.

A run folder holds ``config.yaml`` (the resolved config), ``events.jsonl`` (every event, one JSON
object a line), ``steps.csv`` and ``epochs.csv`` (tidy curves, one row per step / epoch, columns
as curves_table.py defines them), ``split.json`` (the row indices of the training, validation
and test parts, see splits.py) and ``model.pt`` (the model bundle, see export.py: the weights
of the selected epoch, training.select). The GUI and the headless runner write the same format,
and either can open the other's folders.

A folder belongs to one run (see RunRecorder): a second writer is refused while the first lives,
a finished run is never appended to, and a folder its run could not finish keeps an
``INCOMPLETE`` file.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .curves_table import (
    EPOCHS_FILE,
    STEPS_FILE,
    EpochSeries,
    EpochsTable,
    StepSeries,
    StepsTable,
    csv_text,
)
from .errors import BundleError, FileWriteError, short
from .events import EpochEnded, Event, RunFailed, RunFinished, RunStarted, StepsLogged, from_json
from .events import to_json as event_json
from .fileio import atomic_write_text
from .folder_lock import LOCK_FILE, FolderLock
from .splits import SPLIT_FILE, SplitParts, write_split

CONFIG_FILE = "config.yaml"
EVENTS_FILE = "events.jsonl"
MODEL_FILE = "model.pt"
ERROR_FILE = "error.txt"
# Written first and removed last: a folder that still has it was never finished (the run was
# killed, aborted, or could not write its files), whatever its events say.
INCOMPLETE_FILE = "INCOMPLETE"
PARTIAL = ".partial"  # steps.csv and epochs.csv grow under this suffix until the run ends
RUN_FILES = (CONFIG_FILE, EVENTS_FILE, STEPS_FILE, EPOCHS_FILE, MODEL_FILE, ERROR_FILE,
             INCOMPLETE_FILE, SPLIT_FILE)

_INCOMPLETE_TEXT = ("This run folder is incomplete: the run writing it (process {pid}, started "
                    "{time}) is still running, or stopped before it could finish its files "
                    "(killed, aborted, or a write failed). events.jsonl holds what it logged.\n")


def new_run_dir(root: str | Path, name: str, create: bool = False) -> Path:
    """A fresh folder under `root` named by time and experiment name (never an existing one).

    With `create`, the folder is made here (exclusively), so runs started at the same moment into
    the same `root` each get their own; a folder that cannot be made raises FileWriteError.
    """
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in name).strip("-") or "run"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = Path(root) / f"{stamp}-{safe[:40]}"
    path, i = base, 1
    if create:
        root = Path(root)
        if root.exists() and not root.is_dir():
            raise FileWriteError(root, "it is a file, not a folder")
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise FileWriteError.from_os(root, exc) from None
    while True:
        if not create:
            if not path.exists():
                return path
        else:
            try:
                path.mkdir()
                return path
            except FileExistsError:
                pass
            except OSError as exc:
                raise FileWriteError.from_os(path, exc) from None
        i += 1
        path = Path(f"{base}-{i}")


def _is_run_file(name: str) -> bool:
    """A file a run writes, under its name, as it grows, or as an atomic write's leftover."""
    return (name in RUN_FILES or name.endswith(PARTIAL) and name[:-len(PARTIAL)] in RUN_FILES
            or name.endswith(".tmp") and any(name.startswith(f".{f}.") for f in RUN_FILES))


class RunRecorder:
    """Writes one run folder from the event stream, and owns the folder while it does.

    - The folder is claimed first: `.lock` (folder_lock.FolderLock) refuses a second live
      writer, a folder that already holds a run is refused unless `overwrite` (which first
      removes every file of the old run), and a folder holding other things is refused.
    - INCOMPLETE is written first and removed last (after the model and the closing event), so
      a run that could not finish its folder leaves it marked; RunRecord.incomplete reads it.
    - events.jsonl is appended a whole line at a time, unbuffered, before each event is handed
      on (read_run skips a torn last line); steps.csv and epochs.csv grow as NAME.partial and are
      renamed at the end; config.yaml, model.pt and error.txt are written atomically. No file is
      ever half-written under its own name.
    - A run refused before it started (bad config, unwritable folder) wrote nothing of value:
      its files are removed, and so is the folder when it was made for it or was empty.
    - Any OS failure becomes FileWriteError naming the file and the reason.
    """

    def __init__(self, folder: str | Path, overwrite: bool = False) -> None:
        self.folder = Path(folder)
        self.started = False
        self.done = False
        self._events: Any = None
        self._steps: Any = None
        self._epochs: Any = None
        # steps.csv / epochs.csv (curves_table.py): their columns, fixed by the first rows
        self._tasks: list[str] = []
        self._step_table = StepsTable(())
        self._epoch_table = EpochsTable(())
        self._wall = 0.0  # the last logged step's wall time: epochs.csv's "wall"
        self._written: list[str] = []  # files this run made, in the order it made them
        self._torn = False  # a failed append may have left part of a line
        self._lock = FolderLock(self.folder)
        self._owned = list(self._lock.created)  # folders to remove if nothing of value is made
        try:
            self._claim(overwrite)
        except BaseException:
            self._discard()
            raise

    # ------------------------------------------------------------------ claiming
    def _claim(self, overwrite: bool) -> None:
        folder = self.folder
        try:
            names = sorted(p.name for p in folder.iterdir() if p.name != LOCK_FILE)
        except OSError as exc:
            raise FileWriteError.from_os(folder, exc) from None
        if not names and not self._owned:
            self._owned = [folder]  # an empty folder counts as a new one
        ours = [n for n in names if _is_run_file(n)]
        if ours and not overwrite:
            raise FileWriteError(folder, "it already holds a run (pass --overwrite to replace "
                                 "it, or name a new folder)")
        if names and not ours:
            raise FileWriteError(folder, "it is not empty and holds no run (name a new or an "
                                 "empty folder)")
        for name in ours:  # overwrite: nothing of the old run may stay mixed with the new one
            try:
                (folder / name).unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise FileWriteError.from_os(folder / name, exc) from None
        text = _INCOMPLETE_TEXT.format(pid=os.getpid(), time=time.strftime("%Y-%m-%d %H:%M:%S"))
        try:
            atomic_write_text(folder / INCOMPLETE_FILE, text)
        except FileWriteError as exc:  # the user never named INCOMPLETE: name the folder
            raise FileWriteError(folder, exc.reason, exc.errno) from None
        self._written.append(INCOMPLETE_FILE)
        self._events = self._open(EVENTS_FILE)

    def _open(self, name: str) -> Any:
        path = self.folder / name
        try:
            handle = open(path, "xb", buffering=0)  # noqa: SIM115 - kept open for the run
        except OSError as exc:
            raise FileWriteError.from_os(path, exc) from None
        self._written.append(name)
        return handle

    # ------------------------------------------------------------------ recording
    def record(self, event: Event) -> None:
        """Append `event` (raises FileWriteError); RunStarted also writes config.yaml."""
        self._append(event)
        if isinstance(event, RunStarted):
            self.started = True
            self._tasks = [t.name for t in event.tasks]
            from .config import from_dict
            from .presets import save

            self._written.append(CONFIG_FILE)
            save(from_dict(event.config), self.folder / CONFIG_FILE)
        elif isinstance(event, StepsLogged):
            self._write_steps(event)
        elif isinstance(event, EpochEnded):
            self._write_epoch(event)

    def write_split(self, parts: SplitParts) -> None:
        """split.json, atomically (raises FileWriteError), right after RunStarted."""
        self._written.append(SPLIT_FILE)
        write_split(self.folder, parts)

    def _append(self, event: Event) -> None:
        line = (event_json(event) + "\n").encode("utf-8")
        if self._torn:  # end the torn line first, so this one reads whole
            line = b"\n" + line
        self._torn = True
        _write_all(self._events, line, self.folder / EVENTS_FILE)
        self._torn = False

    def _write_steps(self, e: StepsLogged) -> None:
        block = StepSeries.of_event(e)
        text = ""
        if self._steps is None:
            self._step_table = StepsTable.of(self._tasks or list(e.losses), e.extra)
            self._steps = self._open(STEPS_FILE + PARTIAL)
            text = csv_text([self._step_table.header()])
        text += csv_text(self._step_table.rows(block))
        _write_all(self._steps, text.encode("utf-8"), self.folder / STEPS_FILE)
        if e.wall:
            self._wall = e.wall[-1]

    def _write_epoch(self, e: EpochEnded) -> None:
        block = EpochSeries.of_event(e, self._wall)
        text = ""
        if self._epochs is None:
            self._epoch_table = EpochsTable.of(self._tasks or list(e.train_loss),
                                               e.val_metrics, e.val_multilabel)
            self._epochs = self._open(EPOCHS_FILE + PARTIAL)
            text = csv_text([self._epoch_table.header()])
        text += csv_text(self._epoch_table.rows(block))
        _write_all(self._epochs, text.encode("utf-8"), self.folder / EPOCHS_FILE)

    # ------------------------------------------------------------------ ending
    def finish(self, final: RunFinished | RunFailed, setup: Any) -> RunFinished | RunFailed:
        """End the run: model.pt, error.txt, the CSVs under their names, the closing event, and
        INCOMPLETE removed, in that order. Returns `final`, or the RunFailed of a failed write."""
        if not self.started:  # refused before it began: nothing of value to keep
            self._discard()
            return final
        try:
            if setup is not None:
                from .export import save_bundle

                metrics = final.final_metrics if isinstance(final, RunFinished) else {}
                status = final.status if isinstance(final, RunFinished) else "failed"
                save_bundle(self.folder / MODEL_FILE, setup, metrics, status=status)
            if isinstance(final, RunFailed) and final.details:
                atomic_write_text(self.folder / ERROR_FILE, final.details)
            for name, handle in ((STEPS_FILE, self._steps), (EPOCHS_FILE, self._epochs)):
                if handle is not None:
                    _sync(handle, self.folder / name)
                    handle.close()
                    _replace(self.folder / (name + PARTIAL), self.folder / name)
            self._steps = self._epochs = None
            self._append(final)
            _sync(self._events, self.folder / EVENTS_FILE)
        except FileWriteError as exc:
            return self.abandon(RunFailed(type(exc).__name__, str(exc), "", final.step,
                                          final.epoch))
        self._close_handles()
        with contextlib.suppress(OSError):  # if it stays, the folder reads as incomplete
            (self.folder / INCOMPLETE_FILE).unlink()
        self.done = True
        self._lock.release()
        return final

    def abandon(self, failure: RunFailed) -> RunFailed:
        """The folder cannot be finished (a write failed): say so in it where the disk still
        allows, drop the partial CSVs, keep INCOMPLETE. Returns `failure`."""
        if not self.started:
            self._discard()
            return failure
        with contextlib.suppress(FileWriteError):
            self._append(failure)
        self._drop_partials()
        self.done = True
        self._lock.release()
        return failure

    def close(self) -> None:
        """Release the folder; one left unfinished (an abort) keeps INCOMPLETE."""
        if self.done:
            return
        if not self.started:
            self._discard()
            return
        self._drop_partials()
        self.done = True
        self._lock.release()

    def _drop_partials(self) -> None:
        self._close_handles()
        for name in (STEPS_FILE, EPOCHS_FILE):
            (self.folder / (name + PARTIAL)).unlink(missing_ok=True)

    def _close_handles(self) -> None:
        for handle in (self._events, self._steps, self._epochs):
            if handle is not None and not handle.closed:
                with contextlib.suppress(OSError):
                    handle.close()

    def _discard(self) -> None:
        """Remove everything this run wrote, the lock, and the folders made for it."""
        self._close_handles()
        for name in reversed(self._written):
            with contextlib.suppress(OSError):
                (self.folder / name).unlink(missing_ok=True)
        self.done = True
        self._lock.release()
        for folder in self._owned:
            try:
                folder.rmdir()  # only ever an empty folder
            except OSError:
                break


def _write_all(handle: Any, data: bytes, path: Path) -> None:
    """Write every byte through an unbuffered file (a raw write may take only part)."""
    view = memoryview(data)
    try:
        while view:
            n = handle.write(view)
            view = view[n:]
    except OSError as exc:
        raise FileWriteError.from_os(path, exc) from None


def _sync(handle: Any, path: Path) -> None:
    try:
        os.fsync(handle.fileno())
    except OSError as exc:
        raise FileWriteError.from_os(path, exc) from None


def _replace(src: Path, dest: Path) -> None:
    try:
        os.replace(src, dest)
    except OSError as exc:
        raise FileWriteError.from_os(dest, exc) from None


@dataclass
class RunRecord:
    folder: Path
    config: dict[str, Any]
    events: list[Event]
    # Lines of events.jsonl that could not be read and were skipped, each naming its line.
    warnings: list[str] = field(default_factory=list)

    @property
    def finished(self) -> RunFinished | RunFailed | None:
        last = self.events[-1] if self.events else None
        return last if isinstance(last, (RunFinished, RunFailed)) else None

    @property
    def has_model(self) -> bool:
        return (self.folder / MODEL_FILE).exists()

    @property
    def incomplete(self) -> bool:
        """The run did not finish its folder: no closing event, or INCOMPLETE is still there
        (killed, aborted, a failed write, or still running)."""
        return self.finished is None or (self.folder / INCOMPLETE_FILE).exists()


def read_run(folder: str | Path) -> RunRecord:
    """Read a run folder back (for replay without training).

    Lines that cannot be read (not UTF-8, not JSON, not an event; a run killed mid-write leaves
    a torn last line) are skipped and named, with their line number, in the record's `warnings`;
    everything readable is replayed. Only a folder with no readable RunStarted first is refused.
    """
    from .args import check_path

    folder = Path(check_path(folder, "read_run", "folder"))
    path = folder / EVENTS_FILE
    if not folder.is_dir():
        raise BundleError(f"{folder}: not a run folder ("
                          f"{'no such folder' if not folder.exists() else 'it is a file'})")
    if not path.is_file():
        raise BundleError(f"{folder}: not a run folder (no {EVENTS_FILE})")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise BundleError(f"{path}: cannot read: {(exc.strerror or str(exc)).lower()}") from None
    events: list[Event] = []
    warnings: list[str] = []
    lines = raw.split(b"\n")
    if lines and not lines[-1].strip():
        lines.pop()
    for i, blob in enumerate(lines, 1):
        if not blob.strip():
            continue
        try:
            events.append(from_json(blob.decode("utf-8")))
        except UnicodeDecodeError:
            warnings.append(f"{path}, line {i}: not UTF-8 text; skipped")
        except (ValueError, KeyError, TypeError, RecursionError) as exc:
            why = ("cut off (the run stopped while writing it)" if i == len(lines)
                   else f"not a valid event ({short(str(exc))[1:-1]})")
            warnings.append(f"{path}, line {i}: {why}; skipped")
    if not events or not isinstance(events[0], RunStarted):
        first = f" ({warnings[0]})" if warnings else ""
        raise BundleError(f"{path}: does not start with a readable RunStarted event{first}")
    return RunRecord(folder, dict(events[0].config), events, warnings)
