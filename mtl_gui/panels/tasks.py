"""Tasks and heads: per task its head layers, loss, metric, static weight and an on/off switch."""

from __future__ import annotations

import copy
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from mtl_engine import LOSSES, METRICS, Registry, metrics_for
from mtl_engine.errors import fmt_shape

from ..session import Session
from ..widgets.layer_list import LayerListEditor
from .base import Panel, error_label, heading, hint
from .model import row_infos

DEFAULT = "dataset default"
CLASS_WEIGHTS = ("none", "balanced")  # the task field class_weight (none: not written)


def choices_for(reg: Registry[Any], task_type: str | None) -> list[str]:
    """Registry names that apply to a task type (entries declare meta["task_types"])."""
    out = []
    for e in reg.entries():
        types = e.meta["task_types"]
        if not types or task_type is None or task_type in types:
            out.append(e.name)
    return out


class TasksPanel(Panel):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(session, parent)
        self.list = QListWidget(self)
        self.list.setMaximumHeight(140)
        self.list.currentRowChanged.connect(self._show_task)
        self.list.itemChanged.connect(self._toggled)
        self.add_btn = QPushButton("Add task", self)
        self.add_btn.setToolTip("add a task for a dataset target no task uses yet")
        self.add_btn.clicked.connect(self._add)
        self.remove_btn = QPushButton("Remove", self)
        self.remove_btn.setToolTip("remove the selected task (a setup keeps at least one)")
        self.remove_btn.clicked.connect(self._remove)

        self.name_edit = QLineEdit(self)
        self.name_edit.setToolTip("the task's name in plots, tables and the preset")
        self.name_edit.editingFinished.connect(lambda: self._set("name", self.name_edit.text()))
        self.target_combo = QComboBox(self)
        self.target_combo.setToolTip("which of the dataset's targets this task predicts")
        self.target_combo.activated.connect(self._target_picked)
        self.type_label = hint()
        self.loss_combo = QComboBox(self)
        self.loss_combo.setToolTip("the loss this task is trained on; only losses for its "
                                   "target's type are listed")
        self.loss_combo.activated.connect(lambda _: self._set_choice("loss", self.loss_combo))
        self.metric_combo = QComboBox(self)
        self.metric_combo.setToolTip("the headline metric shown in plots and the runs table")
        self.metric_combo.activated.connect(
            lambda _: self._set_choice("metric", self.metric_combo))
        self.weight_spin = QDoubleSpinBox(self)
        self.weight_spin.setRange(0.0, 1e6)
        self.weight_spin.setDecimals(4)
        self.weight_spin.setKeyboardTracking(False)
        self.weight_spin.setToolTip("static weight: used by the 'static' strategy and in the "
                                    "average score")
        self.weight_spin.valueChanged.connect(lambda v: self._set("weight", float(v)))
        self.class_weight_combo = QComboBox(self)
        self.class_weight_combo.addItems(CLASS_WEIGHTS)
        self.class_weight_combo.setToolTip(
            "balanced: weight the loss by how rare each class is among the training rows "
            "(class weights; a binary task's pos_weight), so rare labels get predicted")
        self.class_weight_combo.activated.connect(self._class_weight_picked)
        self.enabled_box = QCheckBox("train this task", self)
        self.enabled_box.setToolTip("untick to leave the task out of training (its head is "
                                    "kept in the setup)")
        self.enabled_box.toggled.connect(lambda on: self._set("enabled", bool(on)))
        self.head = LayerListEditor("", self)
        self.head.layers_changed.connect(lambda layers: self._set("head", layers))
        self.output_label = hint()
        self.error = error_label()

        self.detail = QWidget(self)
        form = QFormLayout(self.detail)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("name", self.name_edit)
        form.addRow("dataset target", self.target_combo)
        form.addRow("", self.type_label)
        form.addRow("loss", self.loss_combo)
        form.addRow("metric", self.metric_combo)
        form.addRow("static weight", self.weight_spin)
        form.addRow("class weights", self.class_weight_combo)
        form.addRow("", self.enabled_box)

        buttons = QHBoxLayout()
        buttons.addWidget(self.add_btn)
        buttons.addWidget(self.remove_btn)
        buttons.addStretch(1)
        lay = QVBoxLayout(self)
        lay.addWidget(heading("Tasks"))
        lay.addWidget(self.list)
        lay.addLayout(buttons)
        lay.addWidget(self.detail)
        lay.addWidget(self.error)
        lay.addWidget(heading("Head layers"))
        lay.addWidget(self.head, 1)
        lay.addWidget(self.output_label)

    # ------------------------------------------------------------------ view
    def section(self, draft: dict[str, Any]) -> Any:
        return draft.get("tasks")

    def tasks(self) -> list[dict[str, Any]]:
        return list(self.session.draft.get("tasks") or [])

    def current(self) -> int:
        return self.list.currentRow()

    def render(self, draft: dict[str, Any]) -> None:
        row = max(0, self.current())
        tasks = self.tasks()
        self.list.blockSignals(True)
        self.list.clear()
        for t in tasks:
            item = QListWidgetItem(t.get("name", "?"))
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if t.get("enabled", True)
                               else Qt.CheckState.Unchecked)
            self.list.addItem(item)
        self.list.blockSignals(False)
        if tasks:
            self.list.setCurrentRow(min(row, len(tasks) - 1))
        self._show_task(self.current())

    def _dataset_task(self, t: dict[str, Any]) -> Any:
        spec = self.session.check.spec
        if spec is None:
            return None
        source = t.get("target") or t.get("name")
        return next((d for d in spec.tasks if d.name == source), None)

    def _show_task(self, row: int) -> None:
        tasks = self.tasks()
        self.detail.setEnabled(0 <= row < len(tasks))
        self.remove_btn.setEnabled(len(tasks) > 1 and row >= 0)
        if not 0 <= row < len(tasks):
            return
        task = tasks[row]
        dt = self._dataset_task(task)
        ttype = dt.type if dt is not None else None
        for w in (self.name_edit, self.target_combo, self.loss_combo, self.metric_combo,
                  self.weight_spin, self.class_weight_combo, self.enabled_box):
            w.blockSignals(True)
        self.name_edit.setText(task.get("name", ""))
        self.target_combo.clear()
        spec = self.session.check.spec
        self.target_combo.addItems([d.name for d in spec.tasks] if spec else [])
        self.target_combo.setCurrentText(task.get("target") or task.get("name", ""))
        self.type_label.setText(f"{ttype}, {dt.n_classes} classes" if dt and ttype ==
                                "classification" else (ttype or "unknown target"))
        self._fill(self.loss_combo, choices_for(LOSSES, ttype), task.get("loss"),
                   dt.loss if dt else "")
        # the engine's own rule (type, loss, values per row: IoU only for a 4-value box)
        metrics = (metrics_for(dt.type, task.get("loss") or dt.loss, dt.n_outputs) if dt
                   else choices_for(METRICS, None))
        self._fill(self.metric_combo, metrics, task.get("metric"), dt.metric if dt else "")
        self.weight_spin.setValue(float(task.get("weight", 1.0)))
        self.enabled_box.setChecked(bool(task.get("enabled", True)))
        self.class_weight_combo.setCurrentText(str(task.get("class_weight") or CLASS_WEIGHTS[0]))
        self.class_weight_combo.setEnabled(ttype in ("classification", "binary"))
        for w in (self.name_edit, self.target_combo, self.loss_combo, self.metric_combo,
                  self.weight_spin, self.class_weight_combo, self.enabled_box):
            w.blockSignals(False)
        self.head.set_layers(list(task.get("head") or []))
        self.on_checked()

    @staticmethod
    def _fill(combo: QComboBox, names: list[str], value: str | None, default: str) -> None:
        combo.clear()
        combo.addItem(f"{DEFAULT} ({default})" if default else DEFAULT)
        combo.addItems(names)
        combo.setCurrentIndex(0 if value is None else max(0, combo.findText(value)))

    def on_checked(self) -> None:
        row = self.current()
        check = self.session.check
        tasks = self.tasks()
        if not 0 <= row < len(tasks):
            return
        prefix = f"tasks[{row}]"
        self.head.set_info(row_infos(check.summary, f"{prefix}.head", len(self.head.layers())))
        rows = {r.where: r for r in check.summary.layers} if check.summary else {}
        out = rows.get(f"{prefix}.output")
        if out is not None and out.out_shape is not None:
            self.output_label.setText(f"then the output layer, added for you: linear "
                                      f"{fmt_shape(out.in_shape)} \u2192 "
                                      f"{fmt_shape(out.out_shape)}")
        else:
            self.output_label.setText("then the output layer sized to the task (added for you)")
        path = check.problem_path or ""
        mine = bool(check.problem) and (path.startswith(prefix) or path == "tasks")
        self.error.setVisible(mine)
        self.error.setText(check.problem or "")

    # ------------------------------------------------------------------ edits
    def _set(self, key: str, value: Any) -> None:
        row = self.current()
        if row < 0:
            return

        def mutate(d: dict[str, Any]) -> None:
            task = d["tasks"][row]
            if key == "name" and task.get("target") is None and value != task.get("name"):
                task["target"] = task.get("name")  # a renamed task keeps reading its target
            task[key] = value

        rerender = key in ("name", "enabled")  # the list shows names and switches
        self.edit(mutate, rerender=rerender)

    def _class_weight_picked(self, index: int) -> None:
        row = self.current()
        if row < 0:
            return
        value = CLASS_WEIGHTS[index]

        def mutate(d: dict[str, Any]) -> None:
            task = d["tasks"][row]
            if value == CLASS_WEIGHTS[0]:
                task.pop("class_weight", None)  # the default stays unwritten in the preset
            else:
                task["class_weight"] = value

        self.edit(mutate)

    def _set_choice(self, key: str, combo: QComboBox) -> None:
        self._set(key, None if combo.currentIndex() == 0 else combo.currentText())

    def _target_picked(self, _: int) -> None:
        row = self.current()
        name = self.tasks()[row].get("name")
        target = self.target_combo.currentText()

        def mutate(d: dict[str, Any]) -> None:
            # A target with the task's own name is the default; keep the preset minimal.
            d["tasks"][row]["target"] = None if target == name else target
            d["tasks"][row]["loss"] = None  # a new target may have another type
            d["tasks"][row]["metric"] = None

        self.edit(mutate, rerender=True)

    def _toggled(self, item: QListWidgetItem) -> None:
        row = self.list.row(item)
        on = item.checkState() == Qt.CheckState.Checked

        def mutate(d: dict[str, Any]) -> None:
            d["tasks"][row]["enabled"] = on

        self.edit(mutate, rerender=True)

    def _add(self) -> None:
        spec = self.session.check.spec
        tasks = self.tasks()
        used = {t.get("target") or t.get("name") for t in tasks}
        free = [d.name for d in spec.tasks if d.name not in used] if spec else []
        if not free:
            self.session.message.emit("info", "Every target of this dataset already has a task.",
                                      "")
            return
        head = copy.deepcopy(tasks[0].get("head", [])) if tasks else []

        def mutate(d: dict[str, Any]) -> None:
            d["tasks"].append({"name": free[0], "target": None, "type": None, "head": head,
                               "loss": None, "metric": None, "weight": 1.0, "enabled": True})

        self.edit(mutate, rerender=True)
        self.list.setCurrentRow(len(self.tasks()) - 1)

    def _remove(self) -> None:
        row = self.current()
        if row < 0 or len(self.tasks()) <= 1:
            return

        def mutate(d: dict[str, Any]) -> None:
            del d["tasks"][row]

        self.edit(mutate, rerender=True)
