"""The main window: config panels on the left, live plots and the runs table on the right, run
controls on top. File handling and export live in `actions.py`, the Run menu's shortcuts in
`run_actions.py`, undo and redo of setup edits in `undo.py`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import (
    QCloseEvent,
    QDesktopServices,
    QDragEnterEvent,
    QDropEvent,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QMainWindow,
    QMessageBox,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from mtl_engine import registries
from mtl_engine.events import RunStatus

from .actions import FileActions
from .help import about_text, documentation_path
from .panels.base import scrolling
from .panels.dataset import DatasetPanel
from .panels.model import ModelPanel
from .panels.run_controls import RunControls
from .panels.runs import RunsPanel
from .panels.strategy import StrategyPanel
from .panels.tasks import TasksPanel
from .panels.training import TrainingPanel
from .plots.area import PlotArea
from .plots.style import apply_app_theme
from .run_actions import RunActions
from .session import Session
from .settings import Settings
from .undo import SetupUndo
from .widgets.message_bar import MessageBar

PRESET_SUFFIXES = (".yaml", ".yml")
class MainWindow(QMainWindow, FileActions):
    def __init__(self, settings: Settings | None = None, session: Session | None = None) -> None:
        super().__init__()
        registries()  # loads every registering module: the panels' pickers are complete
        self.settings = settings or Settings()
        self.theme = str(self.settings.get("theme", "light"))
        apply_app_theme(self.theme)  # before the widgets: setting the sheet later re-polishes all
        self.session = session or Session(self.settings.runs_dir)
        session = self.session
        self.setWindowTitle("MTL Explorer")
        self.setAcceptDrops(True)

        self.message_bar = MessageBar(self)
        self.setup_undo = SetupUndo(session, self)
        self.controls = RunControls(session, self)
        self.dataset_panel = DatasetPanel(session)
        self.model_panel = ModelPanel(session)
        self.tasks_panel = TasksPanel(session)
        self.strategy_panel = StrategyPanel(session)
        self.training_panel = TrainingPanel(session)
        self.config_tabs = QTabWidget(self)
        for title, panel in (("Data", self.dataset_panel), ("Model", self.model_panel),
                             ("Tasks && heads", self.tasks_panel),
                             ("Strategy", self.strategy_panel),
                             ("Training", self.training_panel)):
            self.config_tabs.addTab(scrolling(panel), title)
        self.config_tabs.setMinimumWidth(360)
        self.plots = PlotArea(session.shown_runs, self)
        self.runs_panel = RunsPanel(session, self)
        self.right = QSplitter(Qt.Orientation.Vertical, self)
        self.right.addWidget(self.plots)
        self.right.addWidget(self.runs_panel)
        self.right.setStretchFactor(0, 4)
        self.right.setStretchFactor(1, 1)
        self.right.setSizes([640, 170])
        self.split = QSplitter(Qt.Orientation.Horizontal, self)
        self.split.addWidget(self.config_tabs)
        self.split.addWidget(self.right)
        self.split.setStretchFactor(1, 1)
        self.split.setSizes([450, 950])

        central = QWidget(self)
        lay = QVBoxLayout(central)
        lay.setContentsMargins(4, 0, 4, 4)
        lay.setSpacing(2)
        lay.addWidget(self.controls)
        lay.addWidget(self.message_bar)
        lay.addWidget(self.split, 1)
        self.setCentralWidget(central)

        session.message.connect(self.message_bar.show_message)
        session.file_changed.connect(self.update_title)
        # The title shows the setup's name: a rename changes it without flipping "unsaved".
        session.config_changed.connect(self.update_title)
        # No forced redraws on run events: the plot timer sees the new run list at its next
        # tick, which redraws every visible plot from one snapshot within the GUI-thread budget.
        session.run_finished.connect(self._run_finished)
        self.runs_panel.open_folder_requested.connect(self.open_run_folder)
        self.runs_panel.load_setup_requested.connect(self.load_run_setup)
        self.runs_panel.export_requested.connect(self.export_model)
        self.run_actions = RunActions(self)
        self.about_box: QMessageBox | None = None
        self.build_menus()
        self.set_theme(self.theme)
        self.restore_settings()
        self.update_title()

    # ------------------------------------------------------------------ state
    def update_title(self) -> None:
        session = self.session
        name = (session.draft.get("name") if session.draft else None) or "untitled"
        where = f" \u2014 {session.path}" if session.path else ""
        self.setWindowTitle(f"{name}[*]{where} \u2014 MTL Explorer")  # [*]: Qt's unsaved mark
        self.setWindowModified(bool(session.draft) and session.dirty)

    def _run_finished(self, entry: object) -> None:
        from .interop import write_logs_after_run

        write_logs_after_run(self, entry)
        status = getattr(getattr(entry, "history", None), "status", "")
        if status == RunStatus.COMPLETED:
            self.statusBar().showMessage(f"{getattr(entry, 'label', 'run')} completed", 8000)

    def restore_settings(self) -> None:
        geometry = self.settings.get_bytes("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1400, 900)
        for key, splitter in (("split", self.split), ("right_split", self.right)):
            state = self.settings.get_bytes(key)
            if state is not None:
                splitter.restoreState(state)
        self.plots.set_options(str(self.settings.get("x_mode", "step")),
                               self.settings.get_float("smoothing", 0.6),
                               self.settings.get_bool("log_y", False))

    def save_settings(self) -> None:
        st = self.settings
        st.set("geometry", self.saveGeometry())
        st.set("split", self.split.saveState())
        st.set("right_split", self.right.saveState())
        st.set("theme", self.theme)
        o = self.plots.options
        st.set("x_mode", o.x_mode)
        st.set("smoothing", o.smoothing)
        st.set("log_y", o.log_y)
        st.sync()

    # ------------------------------------------------------------------ edit, run, help menus
    def build_edit_menu(self, bar: Any) -> None:
        edit = bar.addMenu("&Edit")
        stack = self.setup_undo.stack
        self.undo_action = stack.createUndoAction(self, "&Undo")
        self.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
        self.redo_action = stack.createRedoAction(self, "&Redo")
        self.redo_action.setShortcut(QKeySequence.StandardKey.Redo)
        edit.addAction(self.undo_action)
        edit.addAction(self.redo_action)

    def build_run_menu(self, bar: Any) -> None:
        run = bar.addMenu("&Run")
        for name in ("start", "pause", "stop"):
            run.addAction(self.run_actions.actions[name])
        from .interop import TB_SETTING

        run.addSeparator()
        self.tensorboard_action = run.addAction("Write &TensorBoard logs")
        self.tensorboard_action.setCheckable(True)
        self.tensorboard_action.setChecked(self.settings.get_bool(TB_SETTING, False))
        self.tensorboard_action.setToolTip("after each run, write its curves as TensorBoard "
                                           "event files into the run folder's tensorboard/")
        self.tensorboard_action.toggled.connect(lambda on: self.settings.set(TB_SETTING, on))

    def build_help_menu(self, bar: Any) -> None:
        menu = bar.addMenu("&Help")
        self.docs_action = menu.addAction("&Documentation", lambda: self.open_documentation())
        self.docs_action.setShortcut(QKeySequence.StandardKey.HelpContents)
        self.about_action = menu.addAction("&About MTL Explorer", self.show_about)

    def open_url(self, url: QUrl) -> bool:
        """Hand a local file to the desktop's viewer (tests replace this)."""
        return QDesktopServices.openUrl(url)

    def open_documentation(self, root: Path | None = None) -> Path | None:
        path = documentation_path(root)
        if path is None:
            self.message_bar.show_message(
                "info", "The documentation is not installed with this copy of MTL Explorer: "
                "docs/gui.md and README.md come with the source tree, next to mtl_gui/.")
            return None
        if not self.open_url(QUrl.fromLocalFile(str(path))):
            self.message_bar.show_message("warning", f"No program here opens {path}; open it "
                                          "with a text editor or a Markdown viewer.")
        return path

    def show_about(self) -> QMessageBox:
        box = QMessageBox(QMessageBox.Icon.Information, "About MTL Explorer", about_text(),
                          QMessageBox.StandardButton.Ok, self)
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.open()  # not exec(): the window stays live, and tests read the box
        self.about_box = box
        return box

    # ------------------------------------------------------------------ closing, dropping
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        if not self.maybe_keep_changes():
            event.ignore()
            return
        self.plots.timer.stop()
        if self.toy_window is not None:
            self.toy_window.close()  # stops and joins its own worker
        if getattr(self, "study_window", None) is not None:
            self.study_window.close()  # stops and joins its study's runs
        self.session.shutdown()
        self.save_settings()
        event.accept()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        if any(u.toLocalFile().lower().endswith(PRESET_SUFFIXES)
               for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        for url in event.mimeData().urls():
            path = url.toLocalFile()
            if path.lower().endswith(PRESET_SUFFIXES):
                self.open_preset(Path(path))
                event.acceptProposedAction()
                return
