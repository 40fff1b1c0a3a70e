"""Run folders: what a run leaves on disk, written as it goes and read back for replay.

A run folder holds ``config.yaml`` (the resolved config), ``events.jsonl`` (every event, one JSON
object a line), ``steps.csv`` and ``epochs.csv`` (tidy curves, one row per step / epoch) and
``model.pt`` (the model bundle, see export.py). The GUI and the headless runner write the same
format, and either can open the other's folders.
"""

from __future__ import annotations

import csv
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import BundleError
from .events import EpochEnded, Event, RunFailed, RunFinished, RunStarted, StepsLogged, from_json
from .events import to_json as event_json

CONFIG_FILE = "config.yaml"
EVENTS_FILE = "events.jsonl"
STEPS_FILE = "steps.csv"
EPOCHS_FILE = "epochs.csv"
MODEL_FILE = "model.pt"


def new_run_dir(root: str | Path, name: str) -> Path:
    """A fresh folder under `root` named by time and experiment name (never an existing one)."""
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in name).strip("-") or "run"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = Path(root) / f"{stamp}-{safe[:40]}"
    path, i = base, 1
    while path.exists():
        i += 1
        path = Path(f"{base}-{i}")
    return path


class RunRecorder:
    """Writes a run folder from the event stream. Lines are flushed as they are written, so a
    crashed or killed run still leaves a readable folder."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._events = open(self.folder / EVENTS_FILE, "a", encoding="utf-8")  # noqa: SIM115
        self._steps: tuple[Any, Any] | None = None
        self._epochs: tuple[Any, Any] | None = None
        self._step_cols: list[str] = []

    def record(self, event: Event) -> None:
        self._events.write(event_json(event) + "\n")
        self._events.flush()
        if isinstance(event, RunStarted):
            from .config import from_dict
            from .presets import save

            save(from_dict(event.config), self.folder / CONFIG_FILE)
        elif isinstance(event, StepsLogged):
            self._write_steps(event)
        elif isinstance(event, EpochEnded):
            self._write_epoch(event)
        if isinstance(event, (RunFinished, RunFailed)):
            self.close()

    def _write_steps(self, e: StepsLogged) -> None:
        tasks = list(e.losses)
        if self._steps is None:
            self._step_cols = ["step", "epoch", "wall", "total", "lr"] + [
                f"{kind}/{t}" for kind in ("loss", "weight", "weighted") for t in tasks
            ] + [f"extra/{k}" for k in e.extra]
            f = open(self.folder / STEPS_FILE, "w", newline="", encoding="utf-8")  # noqa: SIM115
            w = csv.writer(f)
            w.writerow(self._step_cols)
            self._steps = (f, w)
        f, w = self._steps
        for i, step in enumerate(e.steps):
            row = [step, e.epoch, e.wall[i], e.total[i], e.lr[i]]
            for series in (e.losses, e.weights, e.weighted):
                row += [series[t][i] for t in tasks]
            row += [e.extra[k][i] for k in e.extra]
            w.writerow(row)
        f.flush()

    def _write_epoch(self, e: EpochEnded) -> None:
        flat: dict[str, Any] = {"epoch": e.epoch, "step": e.step, "seconds": e.seconds,
                                "samples_per_sec": e.samples_per_sec, "score": e.score}
        for t, v in e.train_loss.items():
            flat[f"train_loss/{t}"] = v
        for t, v in e.val_loss.items():
            flat[f"val_loss/{t}"] = v
        for t, ms in e.val_metrics.items():
            for m, v in ms.items():
                flat[f"val/{t}/{m}"] = v
        if self._epochs is None:
            f = open(self.folder / EPOCHS_FILE, "w", newline="", encoding="utf-8")  # noqa: SIM115
            w = csv.DictWriter(f, fieldnames=list(flat))
            w.writeheader()
            self._epochs = (f, w)
        f, w = self._epochs
        w.writerow(flat)
        f.flush()

    def save_model(self, setup: Any, final: RunFinished | RunFailed) -> None:
        from .export import save_bundle

        metrics = final.final_metrics if isinstance(final, RunFinished) else {}
        save_bundle(self.folder / MODEL_FILE, setup, metrics,
                    status=final.status if isinstance(final, RunFinished) else "failed")

    def close(self) -> None:
        for handle in (self._events, *(h[0] for h in (self._steps, self._epochs) if h)):
            if not handle.closed:
                handle.close()


@dataclass
class RunRecord:
    folder: Path
    config: dict[str, Any]
    events: list[Event]

    @property
    def finished(self) -> RunFinished | RunFailed | None:
        last = self.events[-1] if self.events else None
        return last if isinstance(last, (RunFinished, RunFailed)) else None

    @property
    def has_model(self) -> bool:
        return (self.folder / MODEL_FILE).exists()


def read_run(folder: str | Path) -> RunRecord:
    """Read a run folder back (for replay without training). A torn last line is ignored."""
    folder = Path(folder)
    path = folder / EVENTS_FILE
    if not path.exists():
        raise BundleError(f"{folder}: not a run folder (no {EVENTS_FILE})")
    events: list[Event] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            events.append(from_json(line))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            if i == len(lines):  # a run killed mid-write leaves a partial last line
                break
            raise BundleError(f"{path}, line {i}: not a valid event ({exc})") from None
    if not events or not isinstance(events[0], RunStarted):
        raise BundleError(f"{path}: does not start with a RunStarted event")
    return RunRecord(folder, dict(events[0].config), events)
