"""The app's state: the config being edited, the file it came from, and every run.

Panels never hold the config. They read `session.draft` (the preset as plain data, possibly
invalid while the user edits) and hand back a changed copy with `set_draft`; the session validates
it through the engine (config, dataset, tasks, model shapes) and tells everyone with signals named
as facts. Start is allowed exactly when `problem` is None.
"""

from __future__ import annotations

import copy
import gc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

import mtl_engine.events as ev
from mtl_engine import (
    PRESETS_DIR,
    ExperimentConfig,
    RunControl,
    config_from_dict,
    config_to_dict,
    load_preset,
    resolve_preset,
    save_preset,
)

from .checks import Check, check_config
from .run_entry import (
    RunEntry,
    derived_name,
    entry_from_folder,
    setup_basis,
    skipped_lines_text,
)
from .worker import RunWorker

# (config, run folder or None) -> event source; tests swap in a fake or a replay.
SourceFactory = Callable[[ExperimentConfig, "Path | None"], Callable[[RunControl],
                                                                     Iterator[ev.Event]]]


def engine_source(config: ExperimentConfig, out_dir: Path | None
                  ) -> Callable[[RunControl], Iterator[ev.Event]]:
    from mtl_engine import run

    return lambda control: run(config, control, out_dir)


class Session(QObject):
    config_changed = Signal()  # the draft changed: panels re-render
    checked = Signal()  # validation finished: `problem`, `check` are fresh
    file_changed = Signal()  # path or unsaved-changes state changed
    run_started = Signal(object)  # RunEntry
    run_updated = Signal(object)  # RunEntry whose history grew
    run_finished = Signal(object)  # RunEntry (completed, stopped or failed)
    run_opened = Signal(object)  # RunEntry replayed from a folder: not the live run
    runs_changed = Signal()  # the list of runs or their visibility changed
    state_changed = Signal(str)  # idle | running | paused | stopping
    message = Signal(str, str, str)  # level (info|warning|error), text, details
    edited = Signal(object, object)  # draft before, draft after: one undoable edit (undo.py)
    loaded = Signal()  # a whole setup was loaded: the undo history starts over

    def __init__(self, runs_dir: Path | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runs_dir = runs_dir
        self.source_factory: SourceFactory = engine_source
        self.draft: dict[str, Any] = {}
        self.path: Path | None = None
        self._saved: dict[str, Any] | None = None
        self.check = Check()
        self.runs: list[RunEntry] = []
        self.current: RunEntry | None = None
        self.worker: RunWorker | None = None
        self.state = "idle"
        # A preset's name describes the setup it came with; once the dataset, strategy or
        # sharing differ, runs are named after the setup instead, unless the user typed a name.
        self._name_basis: tuple[str, str, str] | None = None
        self._name_typed = False

    # ------------------------------------------------------------------ config
    @property
    def config(self) -> ExperimentConfig | None:
        return self.check.config

    @property
    def problem(self) -> str | None:
        return self.check.problem

    @property
    def dirty(self) -> bool:
        return self._saved is None or self.draft != self._saved

    def load_config(self, config: ExperimentConfig, path: Path | None) -> None:
        self.draft = config_to_dict(config)
        self.path = path
        self._saved = copy.deepcopy(self.draft) if path is not None else None
        self._name_basis, self._name_typed = setup_basis(self.draft), False
        self._changed()
        self.file_changed.emit()
        self.loaded.emit()

    def open(self, name_or_path: str | Path) -> None:
        """Load a preset file or built-in name; on any error nothing changes and it raises."""
        path = resolve_preset(name_or_path)
        config = load_preset(path)
        builtin = path.resolve().parent == PRESETS_DIR.resolve()
        # A built-in preset is a template: saving must not overwrite the shipped file silently.
        self.load_config(config, None if builtin else path)
        if builtin:
            self._saved = copy.deepcopy(self.draft)
            self.file_changed.emit()

    def save(self, path: Path | None = None) -> Path:
        """Save the draft (must be valid) to `path` or the current file; raises MTLError/OSError."""
        target = path or self.path
        if target is None:
            raise ValueError("no file name given")
        config = config_from_dict(self.draft)  # raises ConfigError naming the field
        save_preset(config, target)
        self.path = Path(target)
        self.draft = config_to_dict(config)
        self._saved = copy.deepcopy(self.draft)
        self.file_changed.emit()
        return self.path

    def set_draft(self, draft: dict[str, Any]) -> None:
        if draft == self.draft:
            return
        was_dirty = self.dirty
        before, self.draft = self.draft, copy.deepcopy(draft)
        self.edited.emit(before, self.draft)  # before the re-render, so nested edits come after
        self._changed()
        if self.dirty != was_dirty:
            self.file_changed.emit()

    def edit(self, mutate: Callable[[dict[str, Any]], None]) -> None:
        """Apply `mutate` to a copy of the draft and set it: the panels' one way to edit."""
        d = copy.deepcopy(self.draft)
        mutate(d)
        self.set_draft(d)

    def rename(self, name: str) -> None:
        """The user typed the setup's name: runs are filed under it whatever the setup."""
        self._name_typed = True
        self.edit(lambda d: d.__setitem__("name", name))

    def describe(self, text: str) -> None:
        self.edit(lambda d: d.__setitem__("description", text))

    def run_name(self) -> str:
        """The name the next run is filed under (runs table, run folder, its config.yaml)."""
        name = str(self.draft.get("name") or "").strip()
        if name and (self._name_typed or setup_basis(self.draft) == self._name_basis):
            return name
        return derived_name(self.draft)

    def set_dataset(self, name: str, params: dict[str, Any]) -> None:
        """Switch dataset; its tasks replace the old ones (tasks of the same name are kept)."""
        from mtl_engine import load_dataset

        spec = load_dataset(name, params, int(self.draft.get("training", {}).get("seed", 0))).spec

        def mutate(d: dict[str, Any]) -> None:
            d["data"] = {**d.get("data", {}), "dataset": name, "params": dict(params)}
            old = d.get("tasks", [])
            head = old[0]["head"] if old else []
            kept = {t["name"]: t for t in old}
            d["tasks"] = [
                kept.get(t.name) or {"name": t.name, "target": None, "type": None,
                                     "head": copy.deepcopy(head), "loss": None, "metric": None,
                                     "weight": 1.0, "enabled": True}
                for t in spec.tasks
            ]

        self.edit(mutate)

    def _changed(self) -> None:
        self.check = check_config(self.draft)
        self.config_changed.emit()
        self.checked.emit()

    def dataset_spec(self) -> Any:
        return self.check.spec

    # ------------------------------------------------------------------ runs
    def start(self) -> RunEntry | None:
        if self.worker is not None or self.config is None:
            return None
        config = self.config.replace(name=self.run_name())
        out_dir = None
        if self.runs_dir is not None:
            from mtl_engine import new_run_dir

            out_dir = new_run_dir(self.runs_dir, config.name)
        entry = RunEntry.new(len(self.runs) + 1, config_to_dict(config), out_dir)
        self.runs.append(entry)
        self.current = entry
        self._show_only(entry)  # tick older runs in the table to overlay them
        # Everything alive now (Qt wrappers, torch, the registries) is long-lived: take it out
        # of the cyclic collector's sight, so full collections during the run stay short.
        gc.collect()
        gc.freeze()
        worker = RunWorker(self.source_factory(config, out_dir), self)
        worker.events_arrived.connect(lambda batch: self._on_events(entry, batch))
        worker.finished.connect(lambda: self._on_finished(entry))
        self.worker = worker
        self._set_state("running")
        self.runs_changed.emit()
        self.run_started.emit(entry)
        worker.start()
        return entry

    def pause(self) -> None:
        if self.worker is not None and self.state == "running":
            self.worker.pause()
            self._set_state("paused")

    def resume(self) -> None:
        if self.worker is not None and self.state == "paused":
            self.worker.resume()
            self._set_state("running")

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop()
            self._set_state("stopping")

    def shutdown(self, timeout_s: float = 30.0) -> bool:
        """Stop and join any run (window closing); True when no thread is left running."""
        if self.worker is None:
            return True
        return self.worker.shutdown(timeout_s)

    def _on_events(self, entry: RunEntry, batch: list[ev.Event]) -> None:
        entry.history.feed_all(batch)
        for e in batch:
            if isinstance(e, ev.RunFailed):
                where = f" (task {e.task})" if e.task else ""
                kept = (f" The model from step {e.restored_step} was kept."
                        if e.restored_step is not None else "")
                self.message.emit("error", f"Run {entry.number} failed at step {e.step}{where}: "
                                  f"{e.error_type}: {e.message}.{kept}",
                                  failure_details(entry, e))
            elif isinstance(e, ev.Warned):
                self.message.emit("warning", f"Run {entry.number}, step {e.step}: {e.message}", "")
        self.run_updated.emit(entry)

    def _on_finished(self, entry: RunEntry) -> None:
        worker, self.worker = self.worker, None
        if entry.history.status in ("pending", "running"):
            entry.history.status = "stopped"
        self._set_state("idle")
        self.runs_changed.emit()
        self.run_finished.emit(entry)
        if worker is not None:
            worker.deleteLater()

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.state_changed.emit(state)

    def open_run(self, folder: str | Path) -> RunEntry:
        """Show a past run folder (GUI or `mtl-run`) without training; raises MTLError."""
        entry = entry_from_folder(len(self.runs) + 1, Path(folder))
        self.runs.append(entry)
        if self.worker is not None and self.current is not None:
            entry.visible = True  # overlaid on the live run, which stays in view
        else:
            self._show_only(entry)
        self.runs_changed.emit()
        self.run_opened.emit(entry)  # not run_finished: the live run's progress is not its
        skipped = skipped_lines_text(entry)
        if skipped:  # replayed all the same; Details\u2026 lists every skipped line and why
            self.message.emit("warning", skipped, "\n".join(entry.read_warnings))
        return entry

    def remove_run(self, entry: RunEntry) -> None:
        if entry is self.current and self.worker is not None:
            return  # a live run stays until it ends
        self.runs.remove(entry)
        if entry is self.current:
            self.current = None
        self.runs_changed.emit()

    def set_visible(self, entry: RunEntry, visible: bool) -> None:
        entry.visible = visible
        self.runs_changed.emit()

    def shown_runs(self) -> list[RunEntry]:
        """Runs whose curves are drawn (ticked in the runs table)."""
        return [r for r in self.runs if r.visible]

    def _show_only(self, entry: RunEntry) -> None:
        for r in self.runs:
            r.visible = r is entry



def failure_details(entry: RunEntry, e: ev.RunFailed) -> str:
    """What Details\u2026 shows for a failed run: where it failed, what was kept, the last
    losses, and the traceback when the failure was an exception (a divergence check has none)."""
    h = entry.history
    lines = [f"{e.error_type}: {e.message}", "", f"run {entry.number}, failed at step {e.step}"
             + (f", task {e.task}" if e.task else "")]
    if e.restored_step is not None:
        lines.append(f"the model from step {e.restored_step} was kept"
                     + (f" in {entry.folder}" if entry.folder is not None else ""))
    elif entry.folder is not None:
        lines.append(f"run folder: {entry.folder}")
    if h.n_steps:
        last = ", ".join(f"{t} {h.loss[t].view[-1]:.4g}" for t in h.tasks if len(h.loss[t]))
        lines.append(f"last logged losses (step {h.last_step}): {last}")
    else:
        lines.append("no training step was logged")
    lines += ["", e.details.rstrip() if e.details.strip() else
              "(no traceback: the engine ended the run itself rather than through an exception)"]
    return "\n".join(lines)
