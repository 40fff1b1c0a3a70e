"""The window's side of issue 16's interop: TensorBoard log folders of runs trained elsewhere
opened into the runs table, and the "Write TensorBoard logs" option that converts each finished
run's folder (docs/interop.md). The engine does the reading and writing; this only routes it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mtl_engine import read_tensorboard, write_tensorboard
from mtl_engine.errors import MTLError

from .history import history_from_events
from .run_entry import RunEntry

TB_SETTING = "write_tensorboard"  # settings key of the Run menu's option


def entries_from_tensorboard(first_number: int, folder: Path) -> list[RunEntry]:
    """One finished entry per run of a TensorBoard log dir (raises MTLError if none)."""
    out = []
    for i, record in enumerate(read_tensorboard(folder)):
        history = history_from_events(record.events)
        out.append(RunEntry(first_number + i, dict(record.config), history, record.folder,
                            read_warnings=list(record.warnings)))
    return out


def open_tensorboard(window: Any, folder: Path | None = None) -> list[RunEntry]:
    """File > Open TensorBoard log folder: its runs join the runs table, all shown; a folder
    that is not one is a message, nothing else changes."""
    folder = folder or window.ask_open_path("Open TensorBoard log folder", "", folder=True)
    if folder is None:
        return []
    book = window.session.book
    try:
        entries = entries_from_tensorboard(len(book.runs) + 1, Path(folder))
    except (MTLError, OSError) as exc:
        window.message_bar.show_message("error", f"Could not open TensorBoard logs: {exc}")
        return []
    for entry in entries:
        book.add(entry)
        entry.visible = True
    book.runs_changed.emit()
    skipped = [w for e in entries for w in e.read_warnings]
    if skipped:
        window.message_bar.show_message(
            "warning", f"{len(skipped)} TensorBoard tag{'s' * (len(skipped) > 1)} matched no "
            "tag rule and were left out (see docs/interop.md)", "\n".join(skipped))
    window.statusBar().showMessage(f"opened {len(entries)} run{'s' * (len(entries) > 1)} from "
                                   f"{folder}", 5000)
    return entries


def write_logs_after_run(window: Any, entry: Any) -> Path | None:
    """With the Run menu's "Write TensorBoard logs" on, convert a finished run's folder into
    its tensorboard/ (a failure is a message; the run is unaffected)."""
    if not window.settings.get_bool(TB_SETTING, False) or getattr(entry, "folder", None) is None:
        return None
    try:
        out = write_tensorboard(entry.folder)
    except (MTLError, OSError) as exc:
        window.message_bar.show_message("error", f"TensorBoard log not written: {exc}")
        return None
    window.statusBar().showMessage(f"TensorBoard log: {out}", 5000)
    return out
