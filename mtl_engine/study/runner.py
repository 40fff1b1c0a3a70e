"""Running a study into its folder, resuming what an earlier run of it left.

The study folder holds ``study.yaml`` (the study as resolved, with its expanded runs), one run
folder per run under ``runs/<key>`` (exactly what `mtl-run` writes), and ``summary.csv``,
``table.csv`` and ``table.md`` (report.py), rewritten at the end of every run of the study.

A run whose folder holds a completed run of the same key is kept; a failed, stopped, incomplete
or missing one is run (again). The folder is locked while a study runs in it, so two studies
never write into one folder at once.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..control import RunControl
from ..errors import MTLError
from ..events import Event, RunFinished, RunStatus, StudyFinished, StudyStarted
from .executor_choice import make_executor
from .executors import Executor, Job
from .expand import Expansion, RunSpec, expand, run_key
from .spec import Study, load_study, study_from_dict
from .summary import collect

STUDY_FILE = "study.yaml"


def as_study(study: Study | str | os.PathLike[str] | dict[str, Any]) -> Study:
    if isinstance(study, Study):
        return study
    if isinstance(study, dict):
        return study_from_dict(study)
    return load_study(study)


def with_epochs(study: Study, epochs: int | None) -> Study:
    """The study with training.epochs overridden for every run (mtl-study --epochs)."""
    if epochs is None:
        return study
    return replace(study, overrides={**study.overrides, "training.epochs": epochs})


def is_done(folder: Path, key: str) -> bool:
    """A completed run of this key, with its model, and a folder it finished."""
    from .. import read_run

    if not (folder / "events.jsonl").is_file():
        return False
    try:
        record = read_run(folder)
    except MTLError:
        return False
    last = record.finished
    return (isinstance(last, RunFinished) and last.status == RunStatus.COMPLETED
            and not record.incomplete and record.has_model and run_key(record.config) == key)


def _kept_or_queued(root: Path, spec: RunSpec) -> RunStatus:
    return RunStatus.COMPLETED if is_done(root / spec.folder, spec.key) else RunStatus.QUEUED


def plan(study: Study, out: str | os.PathLike[str]) -> tuple[Expansion, list[dict[str, Any]]]:
    """The expansion and each run's record, with status "completed" for a run kept from before
    (RunStatus.QUEUED for the others)."""
    expansion = expand(study)
    root = Path(out)
    records = [spec.record(_kept_or_queued(root, spec))
               for spec in expansion.runs]
    return expansion, records


def study_document(study: Study, expansion: Expansion) -> dict[str, Any]:
    return {**study.to_dict(), "varied": list(expansion.varied), "tasks": list(expansion.tasks),
            "runs": [{k: v for k, v in spec.record().items() if k != "status"}
                     for spec in expansion.runs]}


def run_study(study: Study | str | os.PathLike[str] | dict[str, Any],
              out: str | os.PathLike[str], *, executor: Executor | None = None,
              workers: int | None = None, ray: str | None = None,
              control: RunControl | None = None) -> Iterator[Event]:
    """Run `study` into the folder `out`, yielding StudyStarted, every run's events (each
    stamped with its run key), then StudyFinished once the tables are written.

    Everything is validated before the first event (ConfigError naming the study field and the
    run); a folder that cannot be claimed is a FileWriteError. A failing run is recorded as
    failed and the others go on; `control.stop()` ends the runs in progress (their models are
    saved) and starts no more."""
    from ..fileio import atomic_write_text
    from ..folder_lock import FolderLock
    from ..presets import dumps_data

    study = as_study(study)
    control = control or RunControl()
    expansion = expand(study)  # before any file is touched
    root = Path(out)
    lock = FolderLock(root)
    t0 = time.perf_counter()
    try:
        records = [spec.record(_kept_or_queued(root, spec))
                   for spec in expansion.runs]
        atomic_write_text(root / STUDY_FILE, dumps_data(study_document(study, expansion)))
        devices = {spec.config["training"]["device"] for spec in expansion.runs}
        executor = executor or make_executor(workers, ray, devices)
        yield StudyStarted(study.name, str(root), tuple(records), executor.name,
                           executor.workers)
        todo = [_job(root, spec) for spec, rec in zip(expansion.runs, records)
                if rec["status"] == RunStatus.QUEUED]
        yield from executor.run(todo, control)
        results = _write_tables(root, study, expansion, records)
        counts: dict[str, int] = {}
        for r in results:
            counts[r.status] = counts.get(r.status, 0) + 1
        status = (RunStatus.COMPLETED if counts.get(RunStatus.COMPLETED, 0) == len(results)
                  else RunStatus.STOPPED if control.stop_requested else RunStatus.FAILED)
        yield StudyFinished(status, counts, time.perf_counter() - t0, str(root))
    finally:
        lock.release()


def _job(root: Path, spec: RunSpec) -> Job:
    return Job(spec.key, spec.config, str((root / spec.folder).resolve()))


def _write_tables(root: Path, study: Study, expansion: Expansion,
                  records: list[dict[str, Any]]) -> list[Any]:
    from . import report

    results = collect(root, records, study.select)
    report.write(root, results, expansion.varied, expansion.tasks)
    return results


def summarize_folder(folder: str | os.PathLike[str]
                     ) -> tuple[list[Any], list[Any], tuple[str, ...]]:
    """Re-read a study folder (its study.yaml and run folders) and rewrite its tables; returns
    (run results, variant rows, tasks). `mtl-study --summary DIR`."""
    from ..errors import ConfigError
    from ..presets import parse
    from . import report

    root = Path(folder)
    path = root / STUDY_FILE
    if not path.is_file():
        raise ConfigError("", f"{root}: not a study folder (no {STUDY_FILE})")
    try:
        doc = parse(path.read_text(encoding="utf-8"), str(path))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError("", f"{path}: cannot read: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("runs"), list):
        raise ConfigError("runs", f"{path}: has no list of runs (not written by mtl-study)")
    records = doc["runs"]
    tasks = tuple(doc.get("tasks", ()))
    varied = tuple(doc.get("varied", ()))
    results = collect(root, records, doc.get("select", "final"))
    rows = report.write(root, results, varied, tasks)
    return results, rows, tasks
