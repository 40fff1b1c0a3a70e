"""Curves per variant: the mean over seeds of a per-epoch value with a ±1 std band. No Qt here.

The epochs come from the run folders (EpochEnded events, read with mtl_engine.read_run) or,
while a study runs, from the runs' live histories; both become `EpochSeries`.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import mtl_engine.events as ev


@dataclass
class EpochSeries:
    """One run's per-epoch values: key "val/<task>/<metric>" or "train_loss/<task>"."""

    epochs: list[int] = field(default_factory=list)
    values: dict[str, list[float]] = field(default_factory=dict)

    def add(self, epoch: int, values: dict[str, float]) -> None:
        self.epochs.append(epoch)
        n = len(self.epochs)
        for k, v in values.items():
            col = self.values.setdefault(k, [])
            col.extend([math.nan] * (n - 1 - len(col)))
            col.append(float(v))


def series_from_events(events: list[ev.Event]) -> EpochSeries:
    s = EpochSeries()
    for e in events:
        if isinstance(e, ev.EpochEnded):
            row = {f"train_loss/{t}": v for t, v in e.train_loss.items()}
            row.update({f"val/{t}/{m}": v for t, ms in e.val_metrics.items()
                        for m, v in ms.items()})
            s.add(e.epoch, row)
    return s


def series_from_folder(folder: Path) -> EpochSeries | None:
    """A run folder's epochs; None for a folder that cannot be read (not run yet)."""
    from mtl_engine import read_run
    from mtl_engine.errors import MTLError

    try:
        return series_from_events(read_run(folder).events)
    except (MTLError, OSError):
        return None


def series_from_history(h: Any) -> EpochSeries:
    """A live RunHistory's epochs (mtl_gui.history)."""
    s = EpochSeries()
    for i, epoch in enumerate(h.ep_index.view):
        row: dict[str, float] = {}
        for t, buf in h.train_loss.items():
            if i < len(buf):
                row[f"train_loss/{t}"] = float(buf.view[i])
        for t, ms in h.val_metrics.items():
            for m, buf in ms.items():
                if i < len(buf):
                    row[f"val/{t}/{m}"] = float(buf.view[i])
        s.add(int(epoch), row)
    return s


@dataclass(frozen=True)
class Band:
    epochs: np.ndarray  # 1-based epoch numbers
    mean: np.ndarray
    std: np.ndarray  # sample std over the seeds that reached the epoch; 0 with one seed
    n: np.ndarray  # seeds per epoch


def band(runs: list[EpochSeries], key: str) -> Band | None:
    """Mean and std over `runs` of `key` at each epoch any of them reached; None if no run has
    the value (a baseline of another task)."""
    per_epoch: dict[int, list[float]] = {}
    for s in runs:
        col = s.values.get(key)
        if col is None:
            continue
        for epoch, v in zip(s.epochs, col):
            if math.isfinite(v):
                per_epoch.setdefault(epoch, []).append(v)
    if not per_epoch:
        return None
    epochs = sorted(per_epoch)
    vals = [per_epoch[e] for e in epochs]
    return Band(np.asarray(epochs, dtype=float),
                np.asarray([statistics.fmean(v) for v in vals]),
                np.asarray([statistics.stdev(v) if len(v) > 1 else 0.0 for v in vals]),
                np.asarray([len(v) for v in vals]))
