"""Curves of a run as CSV, steps.csv and epochs.csv, from its history. No Qt here.

The files have the columns and cells of a run folder's own (mtl_engine's curves table defines
both); this module only hands the table the history's buffers.

Each file is written atomically (mtl_engine.atomic_write_text); a failure is a FileWriteError
naming the file and the reason, and an export of several runs that fails part-way removes the
files it had created, so a folder never holds half an export.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mtl_engine import (
    EPOCHS_FILE,
    STEPS_FILE,
    EpochSeries,
    EpochsTable,
    StepSeries,
    StepsTable,
    atomic_write_text,
    curves_csv_text,
)

from .history import RunHistory


def _views(store: dict) -> dict:
    return {k: buf.view for k, buf in store.items()}


def step_series(h: RunHistory) -> tuple[StepsTable, StepSeries]:
    """steps.csv of a run, as the engine's table defines it, over the history's buffers."""
    table = StepsTable.of(h.tasks, h.extra)
    return table, StepSeries(h.step.view, h.step_epoch.view, h.wall.view, h.total.view,
                             h.lr.view, _views(h.loss), _views(h.weight), _views(h.weighted),
                             _views(h.extra))


def epoch_series(h: RunHistory) -> tuple[EpochsTable, EpochSeries]:
    """epochs.csv of a run, as the engine's table defines it, over the history's buffers."""
    table = EpochsTable.of(h.tasks, h.val_metrics, h.val_multilabel)
    return table, EpochSeries(h.ep_index.view, h.ep_step.view, h.ep_wall.view,
                              h.ep_seconds.view, h.ep_samples_per_sec.view, h.score.view,
                              _views(h.train_loss), _views(h.val_loss),
                              {t: _views(ms) for t, ms in h.val_metrics.items()},
                              _views(h.val_multilabel))


def export_curves(h: RunHistory, folder: str | Path, prefix: str = "") -> list[Path]:
    """Write ``steps.csv`` and ``epochs.csv`` into `folder` (each name after `prefix`): the
    columns and cells of the run folder's own files (mtl_engine's curves table)."""
    folder = Path(folder)
    paths = []
    for name, (table, series) in ((STEPS_FILE, step_series(h)), (EPOCHS_FILE, epoch_series(h))):
        path = folder / f"{prefix}{name}"
        atomic_write_text(path, curves_csv_text([table.header(), *table.rows(series)]))
        paths.append(path)
    return paths


def export_runs(runs: Sequence[tuple[str, RunHistory]], folder: str | Path) -> list[Path]:
    """`export_curves` for each (prefix, history): every file, or on a failure none new."""
    folder = Path(folder)
    targets = [folder / f"{prefix}{name}" for prefix, _ in runs
               for name in (STEPS_FILE, EPOCHS_FILE)]
    existed = {path for path in targets if path.exists()}
    written: list[Path] = []
    try:
        for prefix, history in runs:
            written += export_curves(history, folder, prefix)
    except BaseException:
        for path in targets:
            if path not in existed:  # a file this export replaced cannot be brought back
                path.unlink(missing_ok=True)
        raise
    return written
