"""The Study window: Build (what varies, from the main window's setup), Runs (a status cell per
run while it trains), and the answer: the results table, the Pareto view, parallel coordinates
(3+ tasks) and the curves per variant. Opening a folder written by `mtl-study` shows the answer
without training."""

from __future__ import annotations

import gc
import tempfile
from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QFileDialog, QMainWindow, QTabWidget, QWidget

from mtl_engine import (
    STUDY_FILE,
    expand_study,
    load_study,
    save_preset,
    save_study,
    study_from_dict,
)
from mtl_engine.errors import MTLError
from mtl_engine.events import RunStatus

from ..widgets.message_bar import MessageBar
from .bands import EpochSeries, series_from_history
from .build_panel import BuildPanel
from .curves_view import CurvesView
from .estimate import estimate, measured_rate
from .loader import StudyLoader, read_study
from .parallel_view import ParallelView
from .pareto_view import ParetoView
from .results import StudyResults
from .runner import StudyRunner
from .status_view import StatusTable
from .table_view import ResultsTable

STUDY_FILTER = "Study files (*.yaml *.yml)"
RECOUNT_MS = 250  # the form is re-expanded this long after the last edit
LIVE_MS = 1000  # curves redrawn from the live histories this often


def is_study_folder(path: str | Path) -> bool:
    return Path(path).is_dir() and (Path(path) / STUDY_FILE).is_file()


class StudyWindow(QMainWindow):
    def __init__(self, session: Any = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setWindowTitle("MTL Explorer: study")
        self.base_file: Path | None = None  # an opened study's base; None: the main setup
        self._scratch = Path(tempfile.mkdtemp(prefix="mtl-study-base-"))
        self.study: Any = None  # the form's study when valid
        self.n_runs = 0
        self.results: StudyResults | None = None
        self.loader: StudyLoader | None = None
        self._live_seen = -1  # epochs in the live histories at the last live redraw
        self.theme = "light"
        self.build = BuildPanel(self)
        self.status = StatusTable(self)
        self.table = ResultsTable(self)
        self.pareto = ParetoView(self)
        self.parallel = ParallelView(self)
        self.curves = CurvesView(self)
        self.tabs = QTabWidget(self)
        for w, title in ((self.build, "Build"), (self.status, "Runs"),
                         (self.table, "Table"), (self.pareto, "Pareto"),
                         (self.parallel, "Parallel coordinates"), (self.curves, "Curves")):
            self.tabs.addTab(w, title)
        self.message_bar = MessageBar(self)
        central = QWidget(self)
        from PySide6.QtWidgets import QVBoxLayout

        lay = QVBoxLayout(central)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.message_bar)
        lay.addWidget(self.tabs, 1)
        self.setCentralWidget(central)
        self.runner = StudyRunner(getattr(session, "book", None), self)
        self.runner.started.connect(self._study_started)
        self.runner.runs_changed.connect(self._runs_changed)
        self.runner.finished.connect(self._study_finished)
        self.runner.failed.connect(lambda m: self.message_bar.show_message(
            "error", f"The study did not start: {m}"))
        self._recount_timer = QTimer(self)
        self._recount_timer.setSingleShot(True)
        self._recount_timer.setInterval(RECOUNT_MS)
        self._recount_timer.timeout.connect(self.recount)
        self._live = QTimer(self)
        self._live.setInterval(LIVE_MS)
        self._live.timeout.connect(self._live_curves)
        build = self.build
        build.changed.connect(self._recount_timer.start)
        build.save_requested.connect(lambda: self._guard(self.save_study))
        build.open_requested.connect(lambda: self._guard(self.open_study))
        build.run_requested.connect(lambda: self._guard(self.run_study))
        build.stop_requested.connect(self.stop)
        build.use_setup_requested.connect(self.use_setup)
        self.file_menu = self.menuBar().addMenu("&File")
        self.file_menu.addAction("&Open study file\u2026", lambda: self._guard(self.open_study))
        self.file_menu.addAction("Open study &folder\u2026",
                                 lambda: self._guard(lambda: self.open_folder(background=True)))
        self.file_menu.addAction("&Save study file\u2026", lambda: self._guard(self.save_study))
        self.file_menu.addSeparator()
        self.file_menu.addAction("&Close", self.close)
        self._parallel_shown(False)
        self.resize(1300, 850)
        if session is not None and getattr(session, "draft", None):
            self.build.name_edit.setText(f"{session.draft.get('name') or 'setup'} study")
        self.recount()

    # ------------------------------------------------------------------ prompts (tests swap)
    def ask_open_path(self, title: str) -> Path | None:
        path, _ = QFileDialog.getOpenFileName(self, title, "", STUDY_FILTER)
        return Path(path) if path else None

    def ask_save_path(self, title: str, suggested: str) -> Path | None:
        path, _ = QFileDialog.getSaveFileName(self, title, suggested, STUDY_FILTER)
        return Path(path) if path else None

    def ask_folder(self, title: str) -> Path | None:
        path = QFileDialog.getExistingDirectory(self, title)
        return Path(path) if path else None

    def _guard(self, action: Any) -> Any:
        """File and study errors become one line in the message bar; the window stays as is."""
        try:
            return action()
        except (MTLError, OSError) as exc:
            self.message_bar.show_message("error", str(exc))
            return None

    # ------------------------------------------------------------------ building
    def use_setup(self) -> None:
        self.base_file = None
        self.build.base_label.setText("Base: the current setup")
        self.recount()

    def base_path(self, folder: Path | None = None) -> Path:
        """The study's base preset: the opened study's, or the main window's setup saved (as
        base.yaml) into `folder`, or into a scratch folder while the form is only counted."""
        if self.base_file is not None:
            return self.base_file
        draft = getattr(self.session, "draft", None)
        if not draft:
            raise MTLError("base: no setup in the main window to build a study from")
        target = (folder or self._scratch) / "base.yaml"
        save_preset(draft, target)  # ConfigError naming the field when the setup is invalid
        return target

    def form_study(self, folder: Path | None = None) -> Any:
        base = self.base_path(folder)
        return study_from_dict(self.build.study_dict(str(base)), base.parent)

    def recount(self) -> None:
        build = self.build
        try:
            study = self.form_study()
            runs = expand_study(study).runs
        except MTLError as exc:
            self.study, self.n_runs = None, 0
            build.count_label.setText("Runs: \u2014")
            build.error_label.setText(str(exc).splitlines()[0] if str(exc) else "invalid study")
            build.time_label.setText("")
            build.run_btn.setEnabled(False)
            return
        self.study, self.n_runs = study, len(runs)
        n_base = sum(1 for r in runs if r.baseline)
        variants = len({r.variant for r in runs if not r.baseline})
        build.count_label.setText(
            f"Runs: {len(runs)} ({variants} variant{'s' * (variants != 1)} \u00d7 "
            f"{len(study.seeds)} seed{'s' * (len(study.seeds) != 1)}"
            + (f" + {n_base} single-task baseline runs" if n_base else "") + ")")
        build.error_label.setText("")
        workers, _ = build.where()
        rate = (measured_rate(self.session.draft, self.session.runs)
                if self.session is not None and self.base_file is None else None)
        build.time_label.setText(estimate(len(runs), workers, rate))
        build.run_btn.setEnabled(not self.runner.running)

    def save_study(self, path: Path | None = None) -> Path | None:
        path = path or self.ask_save_path("Save study", f"{self.build.name_edit.text()}.yaml")
        if path is None:
            return None
        path = Path(path)
        if path.suffix.lower() not in (".yaml", ".yml"):
            path = path.with_suffix(".yaml")
        if self.base_file is None:  # the setup beside the study file, named after it
            draft = getattr(self.session, "draft", None) or {}
            base = path.with_name(f"{path.stem}.base.yaml")
            save_preset(draft, base)
        else:
            base = self.base_file
        study = study_from_dict(self.build.study_dict(str(base)), path.parent)
        save_study(study, path)
        self.statusBar().showMessage(f"saved {path}", 5000)
        return path

    def open_study(self, path: Path | None = None) -> Any:
        path = path or self.ask_open_path("Open study")
        if path is None:
            return None
        study = load_study(path)
        self.base_file = study.base_path
        self.build.base_label.setText(f"Base: {study.base} ({study.base_path})")
        self.build.set_study(study)
        self.recount()
        return study

    # ------------------------------------------------------------------ running
    def run_study(self, folder: Path | None = None) -> bool:
        if self.runner.running:
            return False
        folder = folder or self.ask_folder("Run the study into folder")
        if folder is None:
            return False
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        study = self.form_study(folder)  # the base preset is written into the study folder
        workers, ray = self.build.where()
        self.message_bar.hide()
        self.status.set_runs([])
        self.runner.start(study, folder, workers, ray)
        self.build.set_running(True)
        self.tabs.setCurrentWidget(self.status)
        self._live_seen = -1
        self._live.start()
        return True

    def stop(self) -> None:
        self.runner.stop()
        self.build.stop_btn.setEnabled(False)

    def _study_started(self) -> None:
        self.status.set_runs(list(self.runner.runs.values()))
        # The study has imported torch and validated every run by now: everything alive is
        # long-lived. Out of the cyclic collector's sight, full collections during the run stay
        # short (one took 0.3 s here otherwise, a stall of the whole window), as Session.start
        # does for a lone run.
        gc.freeze()

    def _runs_changed(self, keys: list[str]) -> None:
        for k in keys:
            self.status.update_run(self.runner.runs[k])

    def _live_curves(self) -> None:
        runs = list(self.runner.runs.values())
        seen = sum(len(r.history.ep_index) for r in runs)
        if not runs or seen == self._live_seen:  # curves change only when an epoch ends
            return
        self._live_seen = seen
        series: dict[str, list[EpochSeries]] = {}
        order: list[tuple[str, str]] = []
        headline: dict[str, tuple[str, bool]] = {}
        tasks: list[str] = []
        for r in runs:
            if (r.variant, r.baseline) not in order:
                order.append((r.variant, r.baseline))
            if r.history.ep_index.view.size:
                series.setdefault(r.variant, []).append(series_from_history(r.history))
            for t in r.history.tasks:
                info = r.history.task_info[t]
                headline.setdefault(t, (info.metric, info.higher_is_better))
                if t not in tasks:
                    tasks.append(t)
        if series:
            self.curves.set_series(order, series, tuple(tasks), headline)

    def _study_finished(self, result: Any) -> None:
        self._live.stop()
        self.build.set_running(False)
        self.recount()
        for s in self.runner.runs.values():
            self.status.update_run(s)
        if result is None:
            return  # the runner said why (failed signal)
        counts = ", ".join(f"{n} {s}" for s, n in sorted(result.counts.items()))
        level = "info" if result.status == RunStatus.COMPLETED else "warning"
        self.message_bar.show_message(level, f"Study {result.status} in {result.seconds:.0f} s: "
                                      f"{counts}. Tables in {result.folder}.")
        self.open_folder(Path(result.folder), switch=False, background=True)

    # ------------------------------------------------------------------ reading
    def open_folder(self, folder: Path | None = None, switch: bool = True,
                    background: bool = False) -> StudyResults | None:
        """Show a study folder's answer. In the background (the File menu, the end of a run)
        the files are read on a thread and shown when read (`loading` until then); otherwise
        at once, raising MTLError for a folder that is not a study's."""
        folder = folder or self.ask_folder("Open study folder")
        if folder is None:
            return None
        if background:
            self._load_in_background(Path(folder), switch)
            return None
        res, series = read_study(Path(folder))
        self._show_results(res, series, switch)
        return res

    def _load_in_background(self, folder: Path, switch: bool) -> None:
        if self.loader is not None and self.loader.isRunning():
            self.loader.wait()
        self.loader = StudyLoader(folder, self)
        self.loader.done.connect(lambda res, series: self._show_results(res, series, switch))
        self.loader.failed.connect(lambda text: self.message_bar.show_message("error", text))
        self.statusBar().showMessage(f"reading {folder}\u2026")
        self.loader.start()

    @property
    def loading(self) -> bool:
        return self.loader is not None and self.loader.isRunning()

    def _show_results(self, res: StudyResults, series: dict[str, list[EpochSeries]],
                      switch: bool) -> None:
        self.statusBar().clearMessage()
        self.results = res
        self.table.set_results(res)
        self.pareto.set_results(res)
        self.parallel.set_results(res)
        self._parallel_shown(len(res.headline) >= 3)
        self.curves.set_series([(r.variant, r.baseline) for r in res.rows], series, res.tasks,
                               res.headline)
        self.setWindowTitle(f"{res.folder.name} \u2014 MTL Explorer study")
        if switch:
            self.tabs.setCurrentWidget(self.table)

    def _parallel_shown(self, shown: bool) -> None:
        self.tabs.setTabVisible(self.tabs.indexOf(self.parallel), shown)

    def set_theme(self, name: str) -> None:
        self.theme = name
        for view in (self.pareto, self.parallel, self.curves):
            view.set_theme(name)
        self.status.set_runs(list(self.runner.runs.values()))

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        self._live.stop()
        self.runner.shutdown()
        if self.loader is not None:
            self.loader.wait()  # reads files only: ends soon
        event.accept()
