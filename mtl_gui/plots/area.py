"""The plot area: the catalogue's plots in their tabs, shared options, one redraw timer.

Which plots there are, and where, is `catalogue.PLOTS`: this module names none of them.

Plots never redraw per event. A 25 Hz timer asks the visible ones to refresh from the histories;
each skips the work when no history version changed since its last draw.

Plots draw from frames, not from the live histories: a frame is a snapshot of every shown run
(`RunHistory.snapshot`, no data copied), and a tick that finds something new takes one and redraws
every visible plot from it, so at any instant all plots show the same last step and, given the
same runs, hold the same x range (`base.x_span`). (Redrawing one plot per tick, as this once did,
left the plots drawn later in a cycle a frame behind the first for most of it: during a fast run
the share plot showed step 90 while the loss plot showed step 170.) The GUI-thread budget is kept
by spacing the ticks by what a whole redraw cost (`budget.py`), not by splitting the redraw.

With several runs shown the line plots compare runs one task at a time (colour = run, see
`base.py`): the bar's task picker, shown only then, says which task. One task at a time rather
than small multiples because with 14 tasks a quarter of the window split fourteen ways leaves
plots of some 150 x 90 pixels, too small to tell seven runs apart.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QSlider,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ..run_entry import RunEntry
from .base import PlotOptions, join_x
from .budget import BUDGET, set_quality
from .catalogue import PLOTS, Plot, PlotSpec, tabs

REDRAW_MS = 40


def settle(plot: Plot) -> None:
    """Let the plot's view boxes fit their new data now rather than at paint time.

    pyqtgraph defers auto-ranging to the start of the next paint; the new range then updates the
    y axis (whose grid spans the view) after that paint began, which asks for a second paint:
    every live redraw was painted twice. Fitted here, the one paint shows it all."""
    for view in plot.views().values():
        view.widget.scene().prepareForPaint()


class PlotArea(QWidget):
    options_changed = Signal()

    def __init__(self, runs: Callable[[], list[RunEntry]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._runs = runs
        self._frame: list[RunEntry] = []  # the snapshot of the shown runs plots draw from
        self._frame_key: tuple[tuple[int, int], ...] | None = None
        self._live = False
        self._requality: list[Any] = []
        self.timer = QTimer(self)
        self.timer.setInterval(REDRAW_MS)
        self.timer.timeout.connect(self.refresh)
        self.options = PlotOptions()
        self.specs: tuple[PlotSpec, ...] = PLOTS
        self._plots: dict[str, Plot] = {}  # catalogue name -> the plot
        self.tabs = QTabWidget(self)
        self._build_tabs()  # one x range for all: a zoom in one plot is a zoom in every plot
        self.tabs.currentChanged.connect(lambda _: self.refresh(force=True))

        self.x_combo = QComboBox(self)
        self.x_combo.addItems(["step", "epoch", "time"])
        self.x_combo.setToolTip("x axis: optimiser steps, epochs, or wall-clock seconds")
        self.smooth_slider = QSlider(Qt.Orientation.Horizontal, self)
        self.smooth_slider.setRange(0, 99)
        self.smooth_slider.setFixedWidth(140)
        self.smooth_slider.setToolTip("exponential moving average weight (debiased, like "
                                      "TensorBoard); the raw curve stays faint underneath")
        self.smooth_label = QLabel(self)
        self.smooth_label.setMinimumWidth(32)
        self.log_box = QCheckBox("log y", self)
        self.log_box.setToolTip("logarithmic y axis for the loss, metric, weight and gradient "
                                "norm plots (not for shares or cosines)")
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 0, 4, 0)
        bar.addWidget(QLabel("x axis", self))
        bar.addWidget(self.x_combo)
        bar.addSpacing(12)
        bar.addWidget(QLabel("smoothing", self))
        bar.addWidget(self.smooth_slider)
        bar.addWidget(self.smooth_label)
        bar.addSpacing(12)
        bar.addWidget(self.log_box)
        bar.addSpacing(12)
        for plot in self._plots.values():  # each plot's own pickers (the metric plot's)
            for label, control in plot.controls():
                bar.addWidget(QLabel(label, self))
                bar.addWidget(control)
                bar.addSpacing(12)
        self.task_label = QLabel("task", self)
        self.task_combo = QComboBox(self)
        self.task_combo.setToolTip("the task whose curves are compared when several runs are "
                                   "shown (colour = run, solid = training, dashed = validation)")
        self.task_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.task_combo.currentTextChanged.connect(self._task_picked)
        bar.addWidget(self.task_label)
        bar.addWidget(self.task_combo)
        self._show_task_picker(False)
        bar.addStretch(1)
        self.bar = bar
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(bar)
        lay.addWidget(self.tabs, 1)

        self.set_options(self.options.x_mode, self.options.smoothing, self.options.log_y)
        self.x_combo.currentTextChanged.connect(self._ui_changed)
        self.smooth_slider.valueChanged.connect(self._ui_changed)
        self.log_box.toggled.connect(self._ui_changed)

        self.timer.start()

    def _build_tabs(self) -> None:
        """A tab per catalogue tab, each a grid of its plots in their cells; a tab of one
        plot is that plot itself (no grid margins around it). Only the first tab's plots are
        made now: another tab's are made when it is first shown or first asked for (`plot`,
        `plots`), which keeps pyqtgraph's per-plot set-up (menus, axes) out of the start-up."""
        self._pages: dict[str, QWidget] = {}  # tab title -> its page until its plots are made
        for index, title in enumerate(tabs(self.specs)):
            page = QWidget(self)
            QVBoxLayout(page).setContentsMargins(0, 0, 0, 0)
            self._pages[title] = page
            self.tabs.addTab(page, title)
            if index == 0:
                self._make_tab(title)

    def _make_tab(self, title: str) -> None:
        """Make the plots of tab `title` (once) and join them to the shared x range."""
        page = self._pages.pop(title, None)
        if page is None:
            return
        made = [(s, s.make(self.options, self)) for s in self.specs if s.tab == title]
        old = [holder for plot in self._plots.values() for holder in plot.x_holders()]
        for spec, plot in made:
            self._plots[spec.name] = plot
            if spec.attr:
                setattr(self, spec.attr, plot)
        if len(made) == 1:
            page.layout().addWidget(made[0][1])
        else:
            grid = QGridLayout()
            grid.setContentsMargins(2, 2, 2, 2)
            grid.setSpacing(4)
            for spec, plot in made:
                cell = spec.cell
                grid.addWidget(plot, cell.row, cell.col, cell.rows, cell.cols)
            page.layout().addLayout(grid)
        join_x(old, [holder for _, plot in made for holder in plot.x_holders()])
        bar = self.__dict__.get("bar")  # None while the first tab is made, before the bar
        theme = self.__dict__.get("_theme")
        for _, plot in made:
            for label, control in plot.controls() if bar is not None else ():
                at = bar.indexOf(self.task_label)
                bar.insertWidget(at, QLabel(label, self))
                bar.insertWidget(at + 1, control)
                bar.insertSpacing(at + 2, 12)
            if theme is not None:
                plot.restyle(theme)
            for view in plot.views().values() if self._live else ():
                set_quality(view.widget, full=False)

    def _make_all(self) -> None:
        for title in list(self._pages):
            self._make_tab(title)

    def __getattr__(self, name: str) -> Any:
        # A plot's attribute (`grad_panel`, ...) before its tab was made: make it now.
        specs = self.__dict__.get("specs") if name != "__dict__" else None
        for spec in specs or ():
            if spec.attr == name:
                self._make_tab(spec.tab)
                return self.__dict__[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def plot(self, name: str) -> Plot:
        """The plot the catalogue names `name` (KeyError naming the choices otherwise)."""
        for spec in self.specs:
            if spec.name == name:
                self._make_tab(spec.tab)
        try:
            return self._plots[name]
        except KeyError:
            raise KeyError(f"{name!r}: no such plot (one of {', '.join(self._plots)})") from None

    def plots(self) -> dict[str, QWidget]:
        """Every exported view by its file-friendly name, in catalogue order (used by export)."""
        self._make_all()
        return {spec.export_name(part): view for spec in self.specs
                for part, view in self._plots[spec.name].views().items()}

    def tab_plots(self, index: int) -> dict[str, QWidget]:
        """`plots()` of the tab at `index`."""
        title = self.tabs.tabText(index)
        self._make_tab(title)
        return {spec.export_name(part): view for spec in self.specs if spec.tab == title
                for part, view in self._plots[spec.name].views().items()}

    def tab_of(self, name: str) -> int:
        """The index of the tab that shows the exported view `name` (a key of `plots()`)."""
        for index in range(self.tabs.count()):
            if name in self.tab_plots(index):
                return index
        raise KeyError(f"{name!r}: no such plot (one of {', '.join(self.plots())})")

    def _on_tab(self, index: int) -> list[Plot]:
        title = self.tabs.tabText(index)
        self._make_tab(title)
        return [self._plots[s.name] for s in self.specs if s.tab == title]

    def set_theme(self, name: str) -> None:
        self._theme = name  # for the plots of a tab made later
        for plot in self._plots.values():
            plot.restyle(name)

    def set_options(self, x_mode: str, smoothing: float, log_y: bool) -> None:
        for w in (self.x_combo, self.smooth_slider, self.log_box):
            w.blockSignals(True)
        self.x_combo.setCurrentText(x_mode)
        self.smooth_slider.setValue(round(smoothing * 100))
        self.log_box.setChecked(log_y)
        for w in (self.x_combo, self.smooth_slider, self.log_box):
            w.blockSignals(False)
        self._ui_changed()

    def _ui_changed(self) -> None:
        self.options.x_mode = self.x_combo.currentText()
        self.options.smoothing = self.smooth_slider.value() / 100.0
        self.options.log_y = self.log_box.isChecked()
        self.smooth_label.setText(f"{self.options.smoothing:.2f}")
        self.refresh(force=True)  # the user is looking: every plot follows at once
        self.options_changed.emit()

    def _show_task_picker(self, on: bool) -> None:
        self.task_label.setVisible(on)
        self.task_combo.setVisible(on)

    def _task_picked(self, task: str) -> None:
        if task and task != self.options.task:
            self.options.task = task
            self.refresh(force=True)

    def _sync_task_picker(self, runs: list[RunEntry]) -> None:
        """The picker lists the shown runs' tasks (in their order) while runs are compared."""
        many = len(runs) > 1
        self._show_task_picker(many)
        if not many:
            return
        tasks = list(dict.fromkeys(t for r in runs for t in r.history.tasks))
        have = [self.task_combo.itemText(i) for i in range(self.task_combo.count())]
        if tasks != have:
            self.task_combo.blockSignals(True)
            self.task_combo.clear()
            self.task_combo.addItems(tasks)
            self.task_combo.blockSignals(False)
        if tasks and self.options.task not in tasks:
            self.options.task = tasks[0]
        self.task_combo.blockSignals(True)
        self.task_combo.setCurrentText(self.options.task)
        self.task_combo.blockSignals(False)

    def refresh_all(self) -> None:
        """Redraw every plot, hidden tabs included (before exporting them), from one frame."""
        self._make_all()
        self._sync_task_picker(self._runs())
        frame = self._take_frame(self._runs())
        for plot in self._plots.values():
            plot.refresh(frame, True)

    @staticmethod
    def _key(runs: list[RunEntry]) -> tuple[tuple[int, int], ...]:
        return tuple((r.uid, r.history.version) for r in runs)

    def _take_frame(self, runs: list[RunEntry]) -> list[RunEntry]:
        """Snapshot the shown runs: what every plot draws until the next frame."""
        self._frame = [dataclasses.replace(r, history=r.history.snapshot()) for r in runs]
        self._frame_key = self._key(runs)
        return self._frame

    def frame(self) -> list[RunEntry]:
        """The runs as the plots last drew them (snapshots)."""
        return self._frame

    def refresh(self, force: bool = False) -> None:
        """Redraw every visible plot from a new frame: forced, or on the timer when a shown
        run changed since the last frame. All of them in the one tick, so no plot is ever a
        frame behind another; the timer then waits in proportion to what that cost."""
        runs = self._runs()
        live = self._follow_load(runs)
        plots = self._on_tab(self.tabs.currentIndex())
        if not force:
            # The previous redraw's cost (update + paints) is known now: space the next one.
            self.timer.setInterval(BUDGET.next_interval_ms() if live else REDRAW_MS)
            if self._key(runs) == self._frame_key:
                return  # nothing new since every plot drew the current frame
        self._sync_task_picker(runs)
        frame = self._take_frame(runs)
        t0 = time.perf_counter()
        for plot in plots:
            if plot.refresh(frame, force):
                settle(plot)
        if not force:
            BUDGET.add((time.perf_counter() - t0) * 1000.0)

    def _follow_load(self, runs: list[RunEntry]) -> bool:
        """Whether a shown run is live; switches antialiasing off for its duration."""
        live = any(r.history.status == "running" for r in runs)
        if live != self._live:
            self._live = live
            widgets = [view.widget for plot in self._plots.values()
                       for view in plot.views().values()]
            if live:
                for w in widgets:
                    set_quality(w, full=False)
                self._requality = []
            else:  # back to full quality one plot per tick: repainting all at once stalls
                self._requality = widgets
        elif self._requality:
            set_quality(self._requality.pop(), full=True)
        return live
