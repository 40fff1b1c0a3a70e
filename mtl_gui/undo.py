"""Edit > Undo / Redo for the setup: every change of the session's draft is one undoable step.

The session announces each edit with the draft before and after (`Session.edited`); this module
keeps them on a QUndoStack, so the menu items, their enabled state and their names ("Undo change
strategy") come from Qt. Undoing sets the earlier draft back through `Session.set_draft`, the same
door every panel edit goes through, so panels re-render and the check runs as after any edit.

Loading a setup (New, Open, a run's setup) empties the stack: the undo history belongs to one
file, and stepping back across a load would also have to restore the file name and the saved
state, which a draft alone does not hold.
"""

from __future__ import annotations

import copy
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtGui import QUndoCommand, QUndoStack

# What an edit of a (section, key) is called in the Edit menu; (section, None): any other key.
SECTION_NAMES: dict[tuple[str, str | None], str] = {
    ("name", None): "rename setup",
    ("description", None): "edit description",
    ("data", "dataset"): "change dataset",
    ("data", "params"): "edit dataset parameters",
    ("data", "val_fraction"): "change validation fraction",
    ("data", "test_fraction"): "change test fraction",
    ("data", "stratify"): "change stratification",
    ("data", None): "edit data",
    ("trunk", None): "edit trunk",
    ("sharing", "scheme"): "change sharing scheme",
    ("sharing", None): "edit sharing parameters",
    ("strategy", "name"): "change strategy",
    ("strategy", "params"): "edit strategy parameters",
    ("strategy", "grad_mode"): "change gradient mode",
    ("strategy", None): "edit strategy",
    ("optimizer", "name"): "change optimiser",
    ("optimizer", "params"): "edit optimiser parameters",
    ("optimizer", "schedule"): "change lr schedule",
    ("tasks", None): "edit tasks",
}
TASK_KEYS = {"name": "rename task", "head": "edit head of", "weight": "change weight of",
             "loss": "change loss of", "metric": "change metric of", "target": "change target of",
             "class_weight": "change class weights of"}


def _changed_keys(before: Any, after: Any) -> list[str]:
    if not isinstance(before, dict) or not isinstance(after, dict):
        return []
    return [k for k in (*before, *(k for k in after if k not in before))
            if before.get(k) != after.get(k)]


def _task_edit(before: list[Any], after: list[Any]) -> str:
    if len(after) > len(before):
        return "add task"
    if len(after) < len(before):
        return "remove task"
    for b, a in zip(before, after):
        keys = _changed_keys(b, a)
        if not keys:
            continue
        name = str(b.get("name", "?")) if isinstance(b, dict) else "?"
        if keys == ["enabled"]:
            return f"{'enable' if a.get('enabled', True) else 'disable'} task {name}"
        if keys[0] == "name" or "name" in keys:
            return "rename task"
        return f"{TASK_KEYS.get(keys[0], 'edit')} task {name}"
    return "edit tasks"


def describe(before: dict[str, Any], after: dict[str, Any]) -> str:
    """A short name for the edit that turned `before` into `after`, e.g. "change strategy"."""
    top = _changed_keys(before, after)
    if not top:
        return "edit setup"
    if "data" in top and (before.get("data") or {}).get("dataset") != \
            (after.get("data") or {}).get("dataset"):
        return "change dataset"  # a new dataset brings its tasks: one edit, named by its cause
    if len(top) > 1:
        return "edit setup"
    section = top[0]
    b, a = before.get(section), after.get(section)
    if section == "tasks" and isinstance(b, list) and isinstance(a, list):
        return _task_edit(b, a)
    if section == "trunk" and isinstance(b, list) and isinstance(a, list) and len(a) != len(b):
        return "add trunk layer" if len(a) > len(b) else "remove trunk layer"
    keys = _changed_keys(b, a)
    # A new strategy, optimiser or scheme brings its own parameters: named by the choice.
    chosen = [k for k in keys if k in ("name", "scheme", "dataset")]
    key = chosen[0] if chosen else keys[0] if len(keys) == 1 else None
    if (section, key) in SECTION_NAMES:
        return SECTION_NAMES[(section, key)]
    if section in ("optimizer", "training") and key is not None:
        return f"change {key.replace('_', ' ')}"
    return SECTION_NAMES.get((section, None), f"edit {section}")


class DraftEdit(QUndoCommand):
    """One edit: the drafts on either side. Qt calls redo() when it is pushed: the session has
    already made that edit, so the first redo() does nothing."""

    def __init__(self, owner: SetupUndo, before: dict[str, Any], after: dict[str, Any]) -> None:
        super().__init__(describe(before, after))
        self.owner = owner
        self.before = copy.deepcopy(before)
        self.after = copy.deepcopy(after)
        self._done = True

    def redo(self) -> None:
        if self._done:
            self._done = False
            return
        self.owner.apply(self.after)

    def undo(self) -> None:
        self.owner.apply(self.before)


class SetupUndo(QObject):
    """The undo history of the session's draft."""

    def __init__(self, session: Any, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.stack = QUndoStack(self)
        self._applying = False
        session.edited.connect(self._edited)
        session.loaded.connect(self.stack.clear)

    def _edited(self, before: dict[str, Any], after: dict[str, Any]) -> None:
        if not self._applying:
            self.stack.push(DraftEdit(self, before, after))

    def apply(self, draft: dict[str, Any]) -> None:
        self._applying = True
        try:
            self.session.set_draft(copy.deepcopy(draft))
        finally:
            self._applying = False

    def undo(self) -> None:
        self.stack.undo()

    def redo(self) -> None:
        self.stack.redo()
