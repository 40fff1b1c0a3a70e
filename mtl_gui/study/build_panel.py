"""The Build panel: what the study varies (strategies, sharing schemes, any parameter), seeds,
baselines, which epoch counts, where it runs; the number of runs and a rough duration."""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from mtl_engine import SHARING, STRATEGIES

from ..panels.strategy import FAMILIES
from .checklist import CheckList
from .param_rows import ParamRows

STRATEGY_PATH = "strategy.name"
SHARING_PATH = "sharing.scheme"


def strategy_groups() -> dict[str, list[tuple[str, str]]]:
    """Strategies under their family, families in the strategy panel's order."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for e in STRATEGIES.entries():
        groups.setdefault(str(e.meta["family"]), []).append((e.name, e.summary))
    order = [f for f in FAMILIES if f in groups] + sorted(f for f in groups if f not in FAMILIES)
    return {FAMILIES.get(f, f.title()): sorted(groups[f]) for f in order}


class BuildPanel(QWidget):
    changed = Signal()  # anything in the form changed: recount
    save_requested = Signal()
    open_requested = Signal()
    run_requested = Signal()
    stop_requested = Signal()
    use_setup_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.overrides: dict[str, Any] = {}  # kept from an opened study file
        self.variants: list[dict[str, Any]] = []
        self.description = ""
        self.name_edit = QLineEdit("study", self)
        self.name_edit.setToolTip("the study's name (its tables and folder are named after it)")
        self.base_label = QLabel("Base: the current setup", self)
        self.base_label.setWordWrap(True)
        self.use_setup_btn = QPushButton("Use the current setup", self)
        self.use_setup_btn.setToolTip("make the main window's setup the study's base preset")
        self.use_setup_btn.clicked.connect(self.use_setup_requested)
        self.strategies = CheckList(strategy_groups(), self)
        self.strategies.setToolTip("each ticked strategy is a variant (none: the base's own)")
        self.sharing = CheckList({"": [(e.name, e.summary) for e in SHARING.entries()]}, self)
        self.sharing.setToolTip("each ticked sharing scheme is a variant (none: the base's own)")
        self.sharing.setMaximumHeight(130)
        self.params = ParamRows(self)
        self.seeds = QSpinBox(self)
        self.seeds.setRange(1, 1000)
        self.seeds.setValue(3)
        self.seeds.setToolTip("every variant runs once per seed (seeds 0, 1, 2, ...)")
        self.baselines = QCheckBox("single-task baselines (one run per task and seed)", self)
        self.baselines.setChecked(True)
        self.baselines.setToolTip("needed for \u0394m%: each task trained alone")
        self.select = QComboBox(self)
        self.select.addItems(["final", "best"])
        self.select.setToolTip("final: each run's last epoch; best: its epoch with the best "
                               "validation score")
        self.local = QRadioButton("local workers", self)
        self.ray = QRadioButton("Ray", self)
        self.local.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.local)
        group.addButton(self.ray)
        self.workers = QSpinBox(self)
        self.workers.setRange(0, 256)
        self.workers.setValue(os.cpu_count() or 1)
        self.workers.setToolTip("processes training at once (0: in this app's own process)")
        self.ray_address = QLineEdit(self)
        self.ray_address.setPlaceholderText("HOST:6379 (empty: a Ray instance on this machine)")
        self.ray_address.setToolTip("an existing Ray cluster's head, or empty to start one here")
        self.count_label = QLabel("", self)
        self.count_label.setWordWrap(True)
        self.time_label = QLabel("", self)
        self.time_label.setWordWrap(True)
        self.time_label.setProperty("tone", "hint")
        self.error_label = QLabel("", self)
        self.error_label.setWordWrap(True)
        self.error_label.setProperty("tone", "error")
        self.save_btn = QPushButton("Save study\u2026", self)
        self.save_btn.setToolTip("write the study YAML that mtl-study reads, its base preset "
                                 "beside it")
        self.open_btn = QPushButton("Open study\u2026", self)
        self.open_btn.setToolTip("read a study YAML into this form")
        self.run_btn = QPushButton("Run", self)
        self.run_btn.setToolTip("run the study into a folder (a folder it ran into before "
                                "resumes it)")
        self.stop_btn = QPushButton("Stop", self)
        self.stop_btn.setToolTip("stop the runs in progress (their models are saved) and start "
                                 "no more")
        self.stop_btn.setEnabled(False)
        for b, sig in ((self.save_btn, self.save_requested), (self.open_btn, self.open_requested),
                       (self.run_btn, self.run_requested), (self.stop_btn, self.stop_requested)):
            b.clicked.connect(sig)
        self._layout()
        for sig in (self.strategies.changed, self.sharing.changed, self.params.changed,
                    self.seeds.valueChanged, self.baselines.toggled,
                    self.select.currentIndexChanged, self.name_edit.textChanged,
                    self.local.toggled, self.workers.valueChanged, self.ray_address.textChanged):
            sig.connect(lambda *_: self.changed.emit())
        self.local.toggled.connect(self._where_enabled)
        self._where_enabled()

    def _layout(self) -> None:
        vary = QGroupBox("What varies", self)
        row = QHBoxLayout(vary)
        for title, w, tall in (("Strategies", self.strategies, True),
                               ("Sharing schemes", self.sharing, False)):
            col = QVBoxLayout()
            col.addWidget(QLabel(title, self))
            col.addWidget(w, 1 if tall else 0)
            if not tall:  # a short list stays at the top, under its title
                col.addStretch(1)
            row.addLayout(col, 1)
        params_box = QGroupBox("Parameters (each value is a variant; rows combine)", self)
        QVBoxLayout(params_box).addWidget(self.params)
        for w in (self.seeds, self.select, self.workers):
            w.setMaximumWidth(160)
        form = QFormLayout()
        form.addRow("Name", self.name_edit)
        form.addRow("Seeds", self.seeds)
        form.addRow("", self.baselines)
        form.addRow("Epoch read", self.select)
        where = QHBoxLayout()
        for w in (self.local, self.workers, self.ray, self.ray_address):
            where.addWidget(w)
        form.addRow("Runs on", where)
        base = QHBoxLayout()
        base.addWidget(self.base_label, 1)
        base.addWidget(self.use_setup_btn)
        buttons = QHBoxLayout()
        for b in (self.open_btn, self.save_btn):
            buttons.addWidget(b)
        buttons.addStretch(1)
        for b in (self.run_btn, self.stop_btn):
            buttons.addWidget(b)
        lay = QVBoxLayout(self)
        lay.addLayout(base)
        lay.addWidget(vary, 3)
        lay.addWidget(params_box)
        lay.addLayout(form)
        lay.addWidget(self.count_label)
        lay.addWidget(self.time_label)
        lay.addWidget(self.error_label)
        lay.addLayout(buttons)

    def _where_enabled(self) -> None:
        self.workers.setEnabled(self.local.isChecked())
        self.ray_address.setEnabled(self.ray.isChecked())

    # ------------------------------------------------------------------ the study as data
    def study_dict(self, base: str) -> dict[str, Any]:
        """The study file's fields (as study_from_dict reads them) with `base` as its base."""
        grid: dict[str, Any] = {}
        if self.strategies.checked():
            grid[STRATEGY_PATH] = self.strategies.checked()
        if self.sharing.checked():
            grid[SHARING_PATH] = self.sharing.checked()
        grid.update(self.params.grid_values())
        d: dict[str, Any] = {"name": self.name_edit.text().strip() or "study", "base": base,
                             "seeds": self.seeds.value(),
                             "baselines": "single_task" if self.baselines.isChecked() else "none",
                             "overrides": dict(self.overrides), "grid": grid,
                             "variants": [dict(v) for v in self.variants],
                             "select": self.select.currentText()}
        if self.description:
            d["description"] = self.description
        return d

    def set_study(self, study: Any) -> None:
        """Fill the form from an mtl_engine Study (an opened study file)."""
        self.blockSignals(True)
        self.name_edit.setText(study.name)
        self.description = study.description
        seeds = list(study.seeds)
        self.seeds.setValue(len(seeds))
        self.baselines.setChecked(study.baselines == "single_task")
        self.select.setCurrentText(study.select)
        self.overrides = dict(study.overrides)
        self.variants = [dict(v) for v in study.variants]
        grid = {k: list(v) for k, v in study.grid.items()}
        self.strategies.set_checked([str(x) for x in grid.pop(STRATEGY_PATH, [])])
        self.sharing.set_checked([str(x) for x in grid.pop(SHARING_PATH, [])])
        self.params.clear()
        for path, values in grid.items():
            self.params.add_row(path, values)
        self.blockSignals(False)
        if seeds != list(range(len(seeds))):
            self.error_label.setText(f"seeds: the file's seeds {seeds} become 0 to "
                                     f"{len(seeds) - 1} in this form")
        self.changed.emit()

    def where(self) -> tuple[int | None, str | None]:
        """(workers, ray address) for run_study; ray "" means a local Ray instance."""
        if self.ray.isChecked():
            return None, self.ray_address.text().strip() or "local"
        return self.workers.value(), None

    def set_running(self, running: bool) -> None:
        for w in (self.run_btn, self.open_btn, self.use_setup_btn):
            w.setEnabled(not running)
        self.stop_btn.setEnabled(running)
