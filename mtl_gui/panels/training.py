"""Optimiser and training settings: forms generated from the engine's Param schemas."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QFormLayout, QVBoxLayout, QWidget

from mtl_engine import (
    OPTIMIZER_PARAMS,
    OPTIMIZERS,
    SCHEDULES,
    TRAINING_PARAMS,
    Param,
    available_devices,
    is_warm,
)

from ..session import Session
from ..widgets.param_form import ParamForm
from .base import Panel, error_label, form_row, heading, hint

LR_HELP = {
    "lr": "learning rate of every parameter group unless set below",
    "shared_lr": "learning rate of the shared parameters (auto: lr)",
    "task_lr": "learning rate of the task heads and the strategy's own parameters (auto: lr)",
    "clip_grad_norm": "clip the global gradient norm to this value (off: no clipping)",
    "l1": "L1 penalty on the shared parameters",
    "l2": "L2 penalty on the shared parameters",
    "weight_decay": "the optimiser's own weight decay, on every parameter",
}
TRAIN_HELP = {
    "device": "where to train; only devices this machine really has are listed",
    "log_every": "steps between two points on the live curves",
    "max_steps_per_epoch": "cut epochs short for a quick look (auto: the whole dataset)",
    "diagnostics_every": "measure gradient conflict every N steps (0 = off)",
    "epochs": "passes over the training data",
    "batch_size": "samples per training step",
    "seed": "random seed of generated data, initial weights and batch order: same seed, same "
            "run",
}


def with_help(params: tuple[Param, ...], helps: dict[str, str]) -> tuple[Param, ...]:
    return tuple(replace(p, help=p.help or helps.get(p.name, "")) for p in params)


def device_param(current: str) -> Param:
    # Asking torch for its devices imports it (seconds): until the window has loaded it in the
    # background, the list is the devices every machine has; the panel refreshes it then.
    choices = available_devices() if is_warm() else ["auto", "cpu"]
    if current not in choices:  # a preset from a GPU machine: show it, the check explains
        choices = [*choices, current]
    base = next(p for p in TRAINING_PARAMS if p.name == "device")
    return replace(base, choices=tuple(choices), help=TRAIN_HELP["device"])


class TrainingPanel(Panel):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(session, parent)
        self.opt_combo = QComboBox(self)
        for e in OPTIMIZERS.entries():
            self.opt_combo.addItem(e.name)
            self.opt_combo.setItemData(self.opt_combo.count() - 1, e.summary,
                                       Qt.ItemDataRole.ToolTipRole)
        self.opt_combo.setToolTip("the optimiser of every parameter (hover an entry for its "
                                  "summary)")
        self.opt_combo.activated.connect(self._optimizer_picked)
        self.opt_summary = hint()
        self.lr_form = ParamForm(with_help(OPTIMIZER_PARAMS, LR_HELP), self)
        self.lr_form.values_changed.connect(self._lr_edited)
        self.opt_form = ParamForm((), self)
        self.opt_form.values_changed.connect(lambda v: self._opt_set("params", v))
        self.sched_combo = QComboBox(self)
        self.sched_combo.addItems(SCHEDULES.names())
        self.sched_combo.setToolTip("how the learning rate changes over the run")
        self.sched_combo.activated.connect(self._schedule_picked)
        self.sched_form = ParamForm((), self)
        self.sched_form.values_changed.connect(self._schedule_params)
        self._devices_known = is_warm()
        self.train_form = ParamForm(self._train_schema("auto"), self)
        self.train_form.values_changed.connect(self._train_edited)
        self.error = error_label()
        opt_row = QFormLayout()
        form_row(opt_row, "optimiser", self.opt_combo)
        sched_row = QFormLayout()
        form_row(sched_row, "lr schedule", self.sched_combo)
        lay = QVBoxLayout(self)
        lay.addWidget(heading("Optimiser"))
        lay.addLayout(opt_row)
        lay.addWidget(self.opt_summary)
        lay.addWidget(self.lr_form)
        lay.addWidget(self.opt_form)
        lay.addLayout(sched_row)
        lay.addWidget(self.sched_form)
        lay.addWidget(heading("Training"))
        lay.addWidget(self.train_form)
        lay.addWidget(self.error)
        lay.addStretch(1)

    @staticmethod
    def _train_schema(device: str) -> tuple[Param, ...]:
        return tuple(device_param(device) if p.name == "device" else p
                     for p in with_help(TRAINING_PARAMS, TRAIN_HELP))

    def section(self, draft: dict[str, Any]) -> Any:
        return (draft.get("optimizer"), draft.get("training"))

    def render(self, draft: dict[str, Any]) -> None:
        o = draft.get("optimizer") or {}
        name = o.get("name", "adam")
        self.opt_combo.setCurrentText(name)
        if name in OPTIMIZERS:
            self.opt_summary.setText(OPTIMIZERS.get(name).summary)
            self.opt_form.set_schema(OPTIMIZERS.get(name).params)
            self.opt_form.set_values(o.get("params") or {})
        self.lr_form.set_values(o)
        sched = o.get("schedule") or {"name": "constant"}
        self.sched_combo.setCurrentText(sched.get("name", "constant"))
        if sched.get("name") in SCHEDULES:
            self.sched_form.set_schema(SCHEDULES.get(sched["name"]).params)
            self.sched_form.set_values(sched.get("params") or {})
            self.sched_form.setVisible(bool(SCHEDULES.get(sched["name"]).params))
        self._render_training(draft)

    def _render_training(self, draft: dict[str, Any]) -> None:
        t = draft.get("training") or {}
        self._devices_known = is_warm()
        self.train_form.set_schema(self._train_schema(str(t.get("device", "auto"))))
        # the config reads `threads: auto` as unset; the form shows unset as its "auto" switch
        self.train_form.set_values({**t, "threads": None} if t.get("threads") == "auto" else t)

    def on_checked(self) -> None:
        if not self._devices_known and is_warm():  # torch came in: list the real devices
            self._render_training(self.session.draft)
        check = self.session.check
        path = check.problem_path or ""
        mine = bool(check.problem) and path.startswith(("optimizer", "training"))
        self.error.setVisible(mine)
        self.error.setText(check.problem or "")

    # ------------------------------------------------------------------ edits
    def _opt_set(self, key: str, value: Any, rerender: bool = False) -> None:
        def mutate(d: dict[str, Any]) -> None:
            d.setdefault("optimizer", {})[key] = value

        self.edit(mutate, rerender)

    def _optimizer_picked(self, _: int) -> None:
        name = self.opt_combo.currentText()

        def mutate(d: dict[str, Any]) -> None:
            o = d.setdefault("optimizer", {})
            o["name"] = name
            o["params"] = OPTIMIZERS.get(name).defaults()

        self.edit(mutate, rerender=True)

    def _lr_edited(self, values: dict[str, Any]) -> None:
        def mutate(d: dict[str, Any]) -> None:
            d.setdefault("optimizer", {}).update(values)

        self.edit(mutate)

    def _schedule_picked(self, _: int) -> None:
        name = self.sched_combo.currentText()
        self._opt_set("schedule", {"name": name, "params": SCHEDULES.get(name).defaults()},
                      rerender=True)

    def _schedule_params(self, values: dict[str, Any]) -> None:
        def mutate(d: dict[str, Any]) -> None:
            d.setdefault("optimizer", {}).setdefault("schedule", {})["params"] = values

        self.edit(mutate)

    def _train_edited(self, values: dict[str, Any]) -> None:
        defaults = {p.name: p.default for p in TRAINING_PARAMS}

        def mutate(d: dict[str, Any]) -> None:
            training = d.setdefault("training", {})
            for key, value in values.items():
                # a field the draft leaves out (saved only when set: select, patience) stays
                # out while the form shows its default, so one edit changes one field
                if key in training or value != defaults.get(key):
                    training[key] = value

        self.edit(mutate)
