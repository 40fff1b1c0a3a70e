"""One run as the app keeps it: its config, its curves and, when written, its folder on disk."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mtl_engine
from mtl_engine import EVENTS_FILE, MODEL_FILE

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


def no_points_text(entry: RunEntry) -> str:
    """What an empty plot says while it shows `entry`, instead of an older run's axes."""
    h = entry.history
    if h.status == "failed" and h.failure is not None:
        where = f"at step {h.failure.step}" if h.total_steps else "while preparing data"
        return f"{entry.label} failed {where} ({h.failure.error_type}): nothing to draw"
    if h.status == "pending":
        return f"{entry.label}: preparing data\u2026"
    if h.status == "running":
        return f"{entry.label}: nothing to draw yet"
    return f"{entry.label} {h.status}: nothing to draw"


def entry_from_folder(number: int, folder: Path) -> RunEntry:
    """Replay a run folder into a finished entry (raises BundleError if it is not one)."""
    record = mtl_engine.read_run(folder)
    history = history_from_events(record.events)
    # Killed (no closing line), aborted, or a write that failed: the folder says INCOMPLETE.
    if history.status == "running" or record.incomplete:
        history.status = "incomplete"
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
