"""The setup being edited: the draft config, the file it came from, and whether it is saved.

Panels never hold the config. They read `document.draft` (the preset as plain data, possibly
invalid while the user edits) and hand back a changed copy with `set_draft`; the document
validates it through the engine (config, dataset, tasks, model shapes) and tells everyone with
signals named as facts. Start is allowed exactly when `problem` is None. Until torch is loaded
(the first seconds after launch) a check leaves the model's shapes out and is `pending`; torch
loads on a background thread and the draft is checked again, whole, when it is in. Runs live
elsewhere (run_book.py): a document knows nothing of them, so a study and a single run start
from the same draft.
"""

from __future__ import annotations

import contextlib
import copy
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from mtl_engine import (
    PRESETS_DIR,
    ExperimentConfig,
    config_from_dict,
    config_to_dict,
    is_warm,
    load_preset,
    resolve_preset,
    save_preset,
    warm_up,
)

from .checks import Check, check_config
from .run_entry import derived_name, setup_basis

WARM_UP_DELAY_MS = 150  # from the first check to loading torch: the window paints meanwhile

# A fresh setup for imported flat data: two hidden layers, and per task a hidden layer a little
# wider than its outputs (16 for a binary or regression task, 4 per class up to 64).
FRESH_TRUNK = ({"type": "linear", "out_features": 64, "bias": True}, {"type": "relu"},
               {"type": "linear", "out_features": 64, "bias": True}, {"type": "relu"})


def head_for(n_outputs: int) -> list[dict[str, Any]]:
    width = min(64, max(16, 4 * n_outputs))
    return [{"type": "linear", "out_features": width, "bias": True}, {"type": "relu"}]


def file_title(path: str) -> str:
    """A setup's name from its data file: "yeast" for yeast.csv.gz."""
    name = Path(path).name
    for suffix in (".gz", ".zip", ".bz2", ".xz"):
        name = name.removesuffix(suffix)
    return Path(name).stem if "." in name else name


class Document(QObject):
    config_changed = Signal()  # the draft changed: panels re-render
    checked = Signal()  # validation finished: `problem`, `check` are fresh
    file_changed = Signal()  # path or unsaved-changes state changed
    edited = Signal(object, object)  # draft before, draft after: one undoable edit (undo.py)
    loaded = Signal()  # a whole setup was loaded: the undo history starts over
    _warmed = Signal()  # from the warm-up thread: torch is in, check again (queued to this thread)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.draft: dict[str, Any] = {}
        self.path: Path | None = None
        self._saved: dict[str, Any] | None = None
        self.check = Check()
        # A preset's name describes the setup it came with; once the dataset, strategy or
        # sharing differ, runs are named after the setup instead, unless the user typed a name.
        self._name_basis: tuple[str, str, str] | None = None
        self._name_typed = False
        self._warming: threading.Thread | None = None
        self._warm_error: str | None = None  # why torch could not be loaded
        self._warmed.connect(self._changed)

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

    def import_dataset(self, name: str, params: dict[str, Any]) -> None:
        """A user's file was imported: a fresh setup for it, not the previous preset's. Named
        after the file, equal weighting, hard sharing, an MLP trunk for flat inputs and a head
        sized for each task; optimizer and training settings stay. Raises MTLError if the file
        does not load (nothing changes then)."""
        from mtl_engine import load_dataset

        seed = int(self.draft.get("training", {}).get("seed", 0))
        spec = load_dataset(name, params, seed).spec
        title = file_title(str(params.get("path", ""))) or name
        d = copy.deepcopy(self.draft)
        d["name"] = title
        d["description"] = (f"{title}: {spec.n_samples:,} rows, {len(spec.tasks)} tasks, "
                            f"imported from {Path(str(params.get('path', ''))).name}")
        d["data"] = {"dataset": name, "params": dict(params)}
        if len(spec.input_shape) == 1:
            d["trunk"] = [dict(layer) for layer in FRESH_TRUNK]
        d["sharing"] = {"scheme": "hard", "params": {}}
        d["strategy"] = {"name": "equal", "params": {}}
        d["tasks"] = [{"name": t.name, "target": None, "type": None, "head": head_for(t.n_outputs),
                       "loss": None, "metric": None, "weight": 1.0, "enabled": True}
                      for t in spec.tasks]
        # The new name describes this setup: runs are filed under it, as for a loaded preset.
        self._name_basis, self._name_typed = setup_basis(d), False
        self.set_draft(d)

    def _changed(self) -> None:
        self.check = check_config(self.draft, model=is_warm())
        if self.check.pending and self._warm_error is not None:
            self.check = replace(self.check, pending=False,
                                 problem=f"PyTorch could not be loaded: {self._warm_error}")
        elif self.check.pending:
            self._warm_up()
        self.config_changed.emit()
        self.checked.emit()

    def _warm_up(self) -> None:
        """Load torch off the GUI thread (once), then check the draft again."""
        if self._warming is not None:
            return

        def work() -> None:
            try:
                warm_up()
            except Exception as exc:  # noqa: BLE001 - said in the check, as a setup problem
                self._warm_error = f"{type(exc).__name__}: {exc}"
            else:  # then the fork server runs are trained from, so Start waits for nothing
                with contextlib.suppress(Exception):  # without one, a run starts it itself
                    from mtl_engine import prestart_runs

                    prestart_runs()
            with contextlib.suppress(RuntimeError):  # the document was deleted meanwhile
                self._warmed.emit()

        self._warming = threading.Thread(target=work, name="mtl-warm-up", daemon=True)
        # Started from the event loop a moment later, not here: the window being built now
        # paints first (the import holds the interpreter much of the time it takes).
        QTimer.singleShot(WARM_UP_DELAY_MS, self._warming.start)
