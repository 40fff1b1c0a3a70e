"""One run as the app keeps it: its config, its curves and, when written, its folder on disk.

Every entry has a `key`: the run key its events carry (a study's runs) or, for a lone run, one of
its own ("run-<uid>"), so a run book can hold any number of runs and route each event to its run.
A study's runs also know their `variant`, `seed`, `baseline` (the task of a single-task run) and
`study` (the study folder, resolved); a lone run has them empty ("", None, "", "").
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator, Mapping, MutableSequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, overload

import mtl_engine
from mtl_engine import EVENTS_FILE, MODEL_FILE
from mtl_engine.events import RunStatus

from .history import RunHistory, history_from_events

_ids = itertools.count(1)
TITLE_MAX = 24  # a summary's lead-in ("PCGrad: ...") is a title when it is at most this long


def _title(kind: str, name: str) -> str:
    """A registry entry's display title: its summary's lead-in before ':', else its name."""
    registry = mtl_engine.registries()[kind]
    if name not in registry:
        return name or "?"
    head, colon, _ = registry.get(name).summary.partition(":")
    return head.strip() if colon and len(head.strip()) <= TITLE_MAX else name


def setup_basis(config: dict[str, Any]) -> tuple[str, str, str]:
    """What a preset's name describes: its dataset, strategy and sharing scheme."""
    return (str((config.get("data") or {}).get("dataset", "")),
            str((config.get("strategy") or {}).get("name", "")),
            str((config.get("sharing") or {}).get("scheme", "hard")))


def derived_name(config: dict[str, Any]) -> str:
    """A run name read off the setup, e.g. "MultiMNIST with PCGrad (soft sharing)"."""
    dataset, strategy, scheme = setup_basis(config)
    data_title = _title("datasets", dataset)
    path = str(((config.get("data") or {}).get("params") or {}).get("path", ""))
    if dataset in ("csv", "npz") and path:  # a user's file: its name says more than "csv"
        data_title = Path(path).stem
    sharing = "" if scheme == "hard" else f" ({scheme.replace('_', ' ')} sharing)"
    return f"{data_title} with {_title('strategies', strategy)}{sharing}"


@dataclass(eq=False)
class RunEntry:
    number: int  # shown to the user: "run 3"
    config: dict[str, Any]
    history: RunHistory
    folder: Path | None = None
    visible: bool = True
    # What read_run skipped when the entry was replayed from its folder, one line each.
    read_warnings: list[str] = field(default_factory=list)
    uid: int = field(default_factory=lambda: next(_ids))
    key: str = ""  # "" at construction: the entry's own "run-<uid>"
    variant: str = ""  # a study's variant label ("strategy.name=mgda", "single_task:left")
    seed: int | None = None
    baseline: str = ""  # the task of a study's single-task run
    study: str = ""  # the study folder (resolved) the run belongs to
    fields: dict[str, Any] = field(default_factory=dict)  # the study's varied paths and values

    def __post_init__(self) -> None:
        if not self.key:
            self.key = f"run-{self.uid}"

    @classmethod
    def new(cls, number: int, config: dict[str, Any], folder: Path | None) -> RunEntry:
        return cls(number, config, RunHistory(), folder)

    @property
    def label(self) -> str:
        return f"run {self.number}"

    @property
    def status(self) -> str:
        return self.history.status

    @property
    def strategy(self) -> str:
        return str(self.config.get("strategy", {}).get("name", ""))

    @property
    def sharing(self) -> str:
        return str(self.config.get("sharing", {}).get("scheme", ""))

    @property
    def dataset(self) -> str:
        return str(self.config.get("data", {}).get("dataset", ""))

    @property
    def name(self) -> str:
        return str(self.config.get("name", ""))

    @property
    def model_file(self) -> Path | None:
        if self.folder is None:
            return None
        path = self.folder / MODEL_FILE
        return path if path.exists() else None

    def final_metrics(self) -> dict[str, float]:
        """Headline metric per task: from RunFinished, else the last validation epoch."""
        h = self.history
        out: dict[str, float] = {}
        for t in h.tasks:
            m = h.headline(t)
            if t in h.final_metrics and m in h.final_metrics[t]:
                out[t] = float(h.final_metrics[t][m])
            elif m in h.val_metrics.get(t, {}) and len(h.val_metrics[t][m]):
                out[t] = float(h.val_metrics[t][m].view[-1])
        return out


class RunList(MutableSequence[RunEntry]):
    """The run book's rows: a list of RunEntry in order that also finds an entry by its key.

    A plain list to the panels and tests (index, iterate, append, remove, compare with a list);
    the key index follows every change, so `get(key)` and `entry in runs` cost O(1) however many
    runs a study brings. Keys are unique: taking one that is in use is a ValueError."""

    def __init__(self, entries: Iterable[RunEntry] = ()) -> None:
        self._items: list[RunEntry] = []
        self._by_key: dict[str, RunEntry] = {}
        for entry in entries:
            self.append(entry)

    @property
    def by_key(self) -> Mapping[str, RunEntry]:
        """Run key -> entry, read-only, in the list's order."""
        return MappingProxyType(self._by_key)

    def get(self, key: str) -> RunEntry | None:
        return self._by_key.get(key)

    def __len__(self) -> int:
        return len(self._items)

    @overload
    def __getitem__(self, i: int) -> RunEntry: ...
    @overload
    def __getitem__(self, i: slice) -> list[RunEntry]: ...
    def __getitem__(self, i: int | slice) -> RunEntry | list[RunEntry]:
        return self._items[i]

    def __setitem__(self, i: Any, entry: Any) -> None:
        if not isinstance(i, int):
            raise TypeError("runs: replace one entry at a time (an int index)")
        old = self._items[i]
        self._items[i] = entry
        if entry.key == old.key:
            self._by_key[entry.key] = entry  # the key keeps its place in the order
            return
        if entry.key in self._by_key:
            self._items[i] = old
            self._claim(entry)
        self._reindex()

    def __delitem__(self, i: Any) -> None:
        gone = self._items[i] if isinstance(i, slice) else [self._items[i]]
        del self._items[i]
        for entry in gone:
            del self._by_key[entry.key]

    def insert(self, i: int, entry: RunEntry) -> None:
        self._claim(entry)
        at_end = i >= len(self._items)
        self._items.insert(i, entry)
        if at_end:
            self._by_key[entry.key] = entry
        else:
            self._reindex()

    def __iter__(self) -> Iterator[RunEntry]:
        return iter(self._items)

    def __contains__(self, entry: object) -> bool:
        return self._by_key.get(getattr(entry, "key", None)) is entry  # type: ignore[arg-type]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, RunList):
            return self._items == other._items
        return isinstance(other, list) and self._items == other

    __hash__ = None  # type: ignore[assignment]  # mutable, like a list

    def __repr__(self) -> str:
        return f"RunList({self._items!r})"

    def _claim(self, entry: RunEntry) -> None:
        if entry.key in self._by_key:
            raise ValueError(f"runs: key {entry.key!r} is already taken by "
                             f"{self._by_key[entry.key].label}")

    def _reindex(self) -> None:
        self._by_key = {e.key: e for e in self._items}


def no_points_text(entry: RunEntry) -> str:
    """What an empty plot says while it shows `entry`, instead of an older run's axes."""
    h = entry.history
    if h.status == RunStatus.FAILED and h.failure is not None:
        where = f"at step {h.failure.step}" if h.total_steps else "while preparing data"
        return f"{entry.label} failed {where} ({h.failure.error_type}): nothing to draw"
    if h.status == RunStatus.PENDING:
        return f"{entry.label}: preparing data\u2026"
    if h.status == RunStatus.QUEUED:
        return f"{entry.label}: waiting for a worker\u2026"
    if h.status == RunStatus.RUNNING:
        return f"{entry.label}: nothing to draw yet"
    return f"{entry.label} {h.status}: nothing to draw"


def entry_from_folder(number: int, folder: Path) -> RunEntry:
    """Replay a run folder into a finished entry (raises BundleError if it is not one)."""
    record = mtl_engine.read_run(folder)
    history = history_from_events(record.events)
    # Killed (no closing line), aborted, or a write that failed: the folder says INCOMPLETE.
    if history.status == RunStatus.RUNNING or record.incomplete:
        history.status = RunStatus.INCOMPLETE
    return RunEntry(number, dict(record.config), history, Path(folder),
                    read_warnings=list(record.warnings))


# read_run names each skipped line as "<path>, line <n>: <why>; skipped" (mtl_engine.read_run).
_LINE = re.compile(r", line (\d+): ")


def skipped_lines_text(entry: RunEntry, shown: int = 3) -> str:
    """One line for the message bar on what a replay skipped, e.g. "2 unreadable lines skipped
    in \u2026/run/events.jsonl (lines 7, 9); the rest of run 3 was replayed"; "" if none was."""
    warnings = entry.read_warnings
    if not warnings:
        return ""
    lines = [m.group(1) for w in warnings if (m := _LINE.search(w))]
    listed = ", ".join(lines[:shown]) + (", \u2026" if len(lines) > shown else "")
    where = f" ({'line' if len(lines) == 1 else 'lines'} {listed})" if lines else ""
    folder = entry.folder.name if entry.folder is not None else "?"
    noun = "line" if len(warnings) == 1 else "lines"
    return (f"{len(warnings)} unreadable {noun} skipped in \u2026/{folder}/{EVENTS_FILE}{where};"
            f" the rest of {entry.label} was replayed")
