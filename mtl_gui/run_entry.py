"""One run as the app keeps it: its config, its curves and, when written, its folder on disk."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mtl_engine.runs import MODEL_FILE, read_run

from .history import RunHistory, history_from_events

_ids = itertools.count(1)


@dataclass(eq=False)
class RunEntry:
    number: int  # shown to the user: "run 3"
    config: dict[str, Any]
    history: RunHistory
    folder: Path | None = None
    visible: bool = True
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


def entry_from_folder(number: int, folder: Path) -> RunEntry:
    """Replay a run folder into a finished entry (raises BundleError if it is not one)."""
    record = read_run(folder)
    history = history_from_events(record.events)
    if history.status == "running":  # the run was killed: no RunFinished/RunFailed line
        history.status = "incomplete"
    return RunEntry(number, dict(record.config), history, Path(folder))
