"""The app's state as the main window sees it: a Document (the setup being edited, its file,
dirty state, validation; document.py) and a RunBook (every run and the workers feeding them;
run_book.py).

Session only composes the two and re-exposes their attributes, methods and signals under the
names the panels use (`session.draft`, `session.runs`, `session.current`, `session.worker`,
`session.state`, `session.run_finished`, ...), and `start()` trains the current draft. New code
may use `session.document` and `session.book` directly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject

from .document import Document
from .run_book import RunBook, SourceFactory, engine_source, failure_details
from .run_entry import RunEntry

__all__ = ["Session", "SourceFactory", "engine_source", "failure_details"]


class _Forward:
    """`session.<name>` reads (and, for plain attributes, sets) `session.<part>.<name>`."""

    def __init__(self, part: str) -> None:
        self.part = part
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        return getattr(getattr(obj, self.part), self.name)

    def __set__(self, obj: Any, value: Any) -> None:
        setattr(getattr(obj, self.part), self.name, value)


class Session(QObject):
    def __init__(self, runs_dir: Path | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.document = Document(self)
        self.book = RunBook(runs_dir, self)

    def start(self) -> RunEntry | None:
        """Train the current draft, unless it is invalid or the last one started still runs."""
        if self.book.worker is not None or self.config is None:
            return None
        return self.book.start(self.config.replace(name=self.run_name()))

    # the document: the draft setup, its file, dirty state and check
    draft = _Forward("document")
    path = _Forward("document")
    check = _Forward("document")
    config = _Forward("document")
    problem = _Forward("document")
    dirty = _Forward("document")
    load_config = _Forward("document")
    open = _Forward("document")
    save = _Forward("document")
    set_draft = _Forward("document")
    edit = _Forward("document")
    rename = _Forward("document")
    describe = _Forward("document")
    run_name = _Forward("document")
    set_dataset = _Forward("document")
    config_changed = _Forward("document")
    checked = _Forward("document")
    file_changed = _Forward("document")
    edited = _Forward("document")
    loaded = _Forward("document")

    # the run book: every run, the live workers, their state
    runs_dir = _Forward("book")
    source_factory = _Forward("book")
    runs = _Forward("book")
    entries = _Forward("book")
    current = _Forward("book")
    worker = _Forward("book")
    state = _Forward("book")
    shown_runs = _Forward("book")
    set_visible = _Forward("book")
    open_run = _Forward("book")
    remove_run = _Forward("book")
    open_study = _Forward("book")
    start_study = _Forward("book")
    pause = _Forward("book")
    resume = _Forward("book")
    stop = _Forward("book")
    shutdown = _Forward("book")
    run_started = _Forward("book")
    run_updated = _Forward("book")
    run_finished = _Forward("book")
    run_opened = _Forward("book")
    runs_changed = _Forward("book")
    state_changed = _Forward("book")
    study_started = _Forward("book")
    study_finished = _Forward("book")
    message = _Forward("book")
