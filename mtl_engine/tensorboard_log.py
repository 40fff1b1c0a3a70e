"""A run's events as TensorBoard event files: live from `mtl-run --tensorboard`, or converted from
a run folder or a study folder afterwards (`write_tensorboard`, `mtl-export tensorboard`).

The tags and texts are run_scalars.py's (the columns of steps.csv and epochs.csv, the config as
text); the scalars are float32, as TensorBoard stores them. Needs the ``tensorboard`` extra.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .args import check_path
from .errors import BundleError, FileWriteError
from .extras import require
from .run_scalars import RunScalars

TB_DIR = "tensorboard"  # the default log dir inside a run or study folder
EVENT_PREFIX = "events.out.tfevents."  # TensorBoard's event file names


def clear_event_files(logdir: Path) -> None:
    """Remove the event files a previous export left directly in `logdir` (and nothing else),
    so a rewritten run does not show its old curves next to the new ones."""
    if not logdir.is_dir():
        return
    for p in logdir.iterdir():
        if p.is_file() and p.name.startswith(EVENT_PREFIX):
            try:
                p.unlink()
            except OSError as exc:
                raise FileWriteError.from_os(p, exc) from None


class TensorBoardLog(RunScalars):
    """Writes one run's events into `logdir` as they come (`record`), then `close`. Event files
    an earlier export left in `logdir` are removed first."""

    def __init__(self, logdir: str | os.PathLike[str]) -> None:
        super().__init__()
        require("tensorboard")
        from torch.utils.tensorboard import SummaryWriter

        self.logdir = Path(logdir)
        try:
            self.logdir.mkdir(parents=True, exist_ok=True)
            clear_event_files(self.logdir)
            self._w = SummaryWriter(str(self.logdir), flush_secs=5)
        except OSError as exc:
            raise FileWriteError.from_os(self.logdir, exc) from None

    def scalar(self, tag: str, value: float, step: int, wall: float) -> None:
        self._w.add_scalar(tag, value, step, walltime=wall)

    def text(self, tag: str, text: str, step: int, wall: float) -> None:
        self._w.add_text(tag, text, step, walltime=wall)

    def close(self) -> None:
        self._w.close()

    def __enter__(self) -> TensorBoardLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _sub_run_name(rec: dict[str, Any]) -> str:
    """A study run's log dir name: its variant and seed, readable in TensorBoard's run list."""
    variant = str(rec.get("variant") or rec.get("key"))
    seed = rec.get("seed")
    name = f"{variant} seed {seed}" if seed is not None else variant
    return "".join("_" if c in "/\\" or not c.isprintable() else c for c in name)


def study_runs(folder: Path) -> list[tuple[str, Path]]:
    """(sub-run name, run folder) of every run of a study folder that has started."""
    import yaml

    from .study.runner import STUDY_FILE

    path = folder / STUDY_FILE
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise BundleError(f"{path}: cannot read ({str(exc).splitlines()[0]})") from None
    records = doc.get("runs") if isinstance(doc, dict) else None
    if not isinstance(records, list):
        raise BundleError(f"{path}: has no list of runs (not written by mtl-study)")
    out: list[tuple[str, Path]] = []
    taken: set[str] = set()
    for rec in records:
        if not isinstance(rec, dict) or "folder" not in rec:
            continue
        run_dir = folder / str(rec["folder"])
        if not (run_dir / "events.jsonl").is_file():
            continue  # never started: nothing to show
        name = _sub_run_name(rec)
        if name in taken:
            name = f"{name} {rec.get('key', len(out))}"
        taken.add(name)
        out.append((name, run_dir))
    return out


def write_tensorboard(folder: str | os.PathLike[str],
                      logdir: str | os.PathLike[str] | None = None) -> Path:
    """Write a run folder, or a study folder (one sub-run per run, named by variant and seed),
    as TensorBoard event files in `logdir` (default: `folder`/tensorboard); returns the log dir.
    Event files an earlier export left there are replaced. Open with
    ``tensorboard --logdir LOGDIR``. MissingExtraError without the tensorboard package,
    BundleError for a folder that is neither."""
    from .runs import read_run
    from .study.runner import STUDY_FILE

    root = Path(check_path(folder, "write_tensorboard", "folder"))
    out = Path(check_path(logdir, "write_tensorboard", "logdir")) if logdir is not None \
        else root / TB_DIR
    require("tensorboard")
    if (root / STUDY_FILE).is_file():
        runs = [(out / name, run_dir) for name, run_dir in study_runs(root)]
    else:
        runs = [(out, root)]
    records = [(dest, read_run(run_dir)) for dest, run_dir in runs]  # refuse before writing
    for dest, record in records:
        with TensorBoardLog(dest) as log:
            for event in record.events:
                log.record(event)
    return out
