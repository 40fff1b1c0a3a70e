"""Curves of a run as CSV (one file per step series, one per epoch series). No Qt here.

Each file is written atomically (mtl_engine.atomic_write_text); a failure is a FileWriteError
naming the file and the reason, and an export of several runs that fails part-way removes the
files it had created, so a folder never holds half an export.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mtl_engine import atomic_write_text

from .history import RunHistory


def _write(path: Path, header: list[str], columns: list[np.ndarray]) -> Path:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(header)
    n = min((c.size for c in columns), default=0)
    for i in range(n):
        w.writerow([_cell(c[i]) for c in columns])
    atomic_write_text(path, out.getvalue())
    return path


def _cell(v: object) -> str:
    if isinstance(v, (np.integer, int)):
        return str(int(v))
    f = float(v)  # type: ignore[arg-type]
    return repr(f) if np.isfinite(f) else ""


def export_curves(h: RunHistory, folder: str | Path, prefix: str = "") -> list[Path]:
    """Write ``steps.csv`` and ``epochs.csv`` (tidy, one row per step / epoch) into `folder`."""
    folder = Path(folder)
    header = ["step", "epoch", "wall", "total", "lr"]
    cols = [h.step.view, h.step_epoch.view, h.wall.view, h.total.view, h.lr.view]
    for kind, store in (("loss", h.loss), ("weight", h.weight), ("weighted", h.weighted)):
        for t in h.tasks:
            header.append(f"{kind}/{t}")
            cols.append(store[t].view)
    paths = [_write(folder / f"{prefix}steps.csv", header, cols)]
    header = ["epoch", "step", "wall"]
    cols = [h.ep_index.view, h.ep_step.view, h.ep_wall.view]
    for t in h.tasks:
        header += [f"train_loss/{t}", f"val_loss/{t}"]
        cols += [h.train_loss[t].view, h.val_loss[t].view]
        for m, buf in h.val_metrics[t].items():
            header.append(f"val/{t}/{m}")
            cols.append(buf.view)
    header.append("score")
    cols.append(h.score.view)
    paths.append(_write(folder / f"{prefix}epochs.csv", header, cols))
    return paths


def export_runs(runs: Sequence[tuple[str, RunHistory]], folder: str | Path) -> list[Path]:
    """`export_curves` for each (prefix, history): every file, or on a failure none new."""
    folder = Path(folder)
    targets = [folder / f"{prefix}{name}" for prefix, _ in runs
               for name in ("steps.csv", "epochs.csv")]
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
