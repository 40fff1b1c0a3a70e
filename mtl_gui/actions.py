"""Menus and file handling of the main window: presets, run folders, export, theme.

A mixin so main_window.py stays about layout. Every file operation reports failures in the
message bar and leaves the app as it was; the user-facing prompts (file pickers, "save changes?")
are single methods, which tests replace.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMessageBox

from mtl_engine import DEFAULT_PRESET, builtin_presets, config_from_dict
from mtl_engine.errors import MTLError

from .curves_csv import export_runs
from .plots.export import PngOptions, export_all
from .plots.export_ui import ExportChoice, ask_export_choice
from .plots.style import THEMES, apply_app_theme
from .run_entry import RunEntry

YAML_FILTER = "Presets (*.yaml *.yml)"


class FileActions:
    """Mixed into MainWindow; relies on its session, settings, plots and message_bar."""

    session: Any
    settings: Any
    plots: Any
    message_bar: Any
    theme: str

    # ------------------------------------------------------------------ menus
    def build_menus(self) -> None:
        bar = self.menuBar()  # type: ignore[attr-defined]
        file = bar.addMenu("&File")
        self._add(file, "&New", lambda: self.new_from(DEFAULT_PRESET),
                  QKeySequence.StandardKey.New)
        self.new_menu = file.addMenu("New from &built-in preset")
        for name in builtin_presets():
            self.new_menu.addAction(name, lambda n=name: self.new_from(n))
        self._add(file, "&Open preset\u2026", self.open_dialog, QKeySequence.StandardKey.Open)
        self.recent_menu = file.addMenu("Open &recent")
        self._add(file, "&Save", self.save, QKeySequence.StandardKey.Save)
        self._add(file, "Save &as\u2026", self.save_as, QKeySequence.StandardKey.SaveAs)
        file.addSeparator()
        self._add(file, "&Import data (CSV / NPZ)\u2026", lambda: self.dataset_panel.open_import())
        self._add(file, "Open run &folder\u2026", self.open_run_folder)
        self._add(file, "Open stud&y folder\u2026", lambda: self.open_study_folder())
        self._add(file, "Open &TensorBoard log folder\u2026", lambda: self.open_tensorboard())
        file.addSeparator()
        export = file.addMenu("&Export")
        self._add(export, "Model bundle of the latest run\u2026", lambda: self.export_model(None))
        self._add(export, "TorchScript of the latest run\u2026",
                  lambda: self.export_model(None, torchscript=True))
        self._add(export, "ONNX of the latest run\u2026",
                  lambda: self.export_model(None, onnx=True))
        self._add(export, "All plots (PNG, SVG, PDF)\u2026", lambda: self.export_plots())
        self._add(export, "Curves of the shown runs (CSV)\u2026", self.export_csv)
        file.addSeparator()
        self._add(file, "&Quit", self.close, QKeySequence.StandardKey.Quit)  # type: ignore
        self.build_edit_menu(bar)  # type: ignore[attr-defined]
        view = bar.addMenu("&View")
        theme = view.addMenu("&Theme")
        self.theme_actions: dict[str, QAction] = {}
        group = QActionGroup(theme)
        for name in THEMES:
            action = theme.addAction(name.title(), lambda n=name: self.set_theme(n))
            action.setCheckable(True)
            action.setChecked(name == self.theme)
            group.addAction(action)
            self.theme_actions[name] = action
        self.build_run_menu(bar)  # type: ignore[attr-defined]
        self.tools_menu = bar.addMenu("&Tools")
        self._add_toy()
        self.study_action = self._add(self.tools_menu, "New &study\u2026", self.open_study)
        self.study_action.setToolTip("compare strategies, sharing schemes or any parameter over "
                                     "seeds, from this setup")
        self.build_help_menu(bar)  # type: ignore[attr-defined]
        self.update_recent_menu()

    def _add(self, menu: Any, text: str, slot: Any, shortcut: Any = None) -> QAction:
        action = menu.addAction(text, slot)
        if shortcut is not None:
            action.setShortcut(shortcut)
        return action

    def _add_toy(self) -> None:
        self.toy_window: Any = None
        self.toy_action = self.tools_menu.addAction("2-D toy &playground\u2026", self.open_toy)
        self.toy_action.setToolTip("watch any strategy optimise the two-objective toy of the "
                                   "CAGrad / Nash-MTL papers from five starts")

    def open_toy(self) -> Any:
        """The toy playground in a window of its own (one at a time; closed with this one)."""
        from .toy import ToyPlayground

        if self.toy_window is None:
            self.toy_window = ToyPlayground()
            self.toy_window.setWindowTitle("MTL Explorer: two-objective toy")
            self.toy_window.resize(1100, 700)
        self.toy_window.show()
        self.toy_window.raise_()
        return self.toy_window

    def open_study(self) -> Any:
        """The Study window (one at a time; closed with this one), built from this setup."""
        from .study import StudyWindow

        if getattr(self, "study_window", None) is None:
            self.study_window = StudyWindow(self.session)
            self.study_window.set_theme(self.theme)
        self.study_window.show()
        self.study_window.raise_()
        return self.study_window

    def open_study_folder(self, folder: Path | None = None) -> Any:
        """A folder written by `mtl-study` (or the Study window): its table, Pareto view and
        curves, without training; they show once its files are read (the window's `loading`),
        failures in the Study window's message bar."""
        folder = folder or self.ask_open_path("Open study folder", "", folder=True)
        if folder is None:
            return None
        window = self.open_study()
        try:  # read on a thread: a study of dozens of runs takes seconds to read
            return window.open_folder(Path(folder), background=True)
        except (MTLError, OSError) as exc:
            self.message_bar.show_message("error", f"Could not open study folder: {exc}")
            return None

    def update_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.settings.recent()
        for path in recent:
            self.recent_menu.addAction(path, lambda p=path: self.open_preset(Path(p)))
        self.recent_menu.setEnabled(bool(recent))

    # ------------------------------------------------------------------ prompts (tests swap)
    def ask_unsaved(self) -> str:
        """"save", "discard" or "cancel"."""
        answer = QMessageBox.question(
            self, "Unsaved changes",  # type: ignore[arg-type]
            "The current setup has changes that are not saved. Save them first?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Save)
        return {QMessageBox.StandardButton.Save: "save",
                QMessageBox.StandardButton.Discard: "discard"}.get(answer, "cancel")

    def ask_open_path(self, title: str, filter_: str, folder: bool = False) -> Path | None:
        if folder:
            path = QFileDialog.getExistingDirectory(self, title, str(self.settings.runs_dir))
        else:
            path, _ = QFileDialog.getOpenFileName(self, title, "", filter_)
        return Path(path) if path else None

    def ask_save_path(self, title: str, filter_: str, suggested: str = "") -> Path | None:
        path, _ = QFileDialog.getSaveFileName(self, title, suggested, filter_)
        return Path(path) if path else None

    def ask_folder(self, title: str) -> Path | None:
        path = QFileDialog.getExistingDirectory(self, title)
        return Path(path) if path else None

    # ------------------------------------------------------------------ presets
    def maybe_keep_changes(self) -> bool:
        """True when it is fine to replace the current setup (saved, discarded or clean)."""
        if not self.session.draft or not self.session.dirty:
            return True
        answer = self.ask_unsaved()
        if answer == "save":
            return self.save()
        return answer == "discard"

    def new_from(self, name: str) -> bool:
        if not self.maybe_keep_changes():
            return False
        return self._load(name, remember=False)

    def open_dialog(self) -> bool:
        path = self.ask_open_path("Open preset", YAML_FILTER)
        return path is not None and self.open_preset(path)

    def open_preset(self, path: Path | str) -> bool:
        if not self.maybe_keep_changes():
            return False
        return self._load(path, remember=True)

    def _load(self, name_or_path: Path | str, remember: bool) -> bool:
        try:
            self.session.open(name_or_path)
        except (MTLError, OSError) as exc:
            said = str(exc)  # most messages already start with the file: name it once
            where = "" if said.startswith(str(name_or_path)) else f"{name_or_path}: "
            self.message_bar.show_message("error", f"Could not open {where}{said}")
            return False
        self.message_bar.hide()
        self.settings.set("last_preset", str(name_or_path))
        if remember and self.session.path is not None:
            self.settings.add_recent(self.session.path)
            self.update_recent_menu()
        return True

    def save(self) -> bool:
        if self.session.path is None:
            return self.save_as()
        return self._save(self.session.path)

    def save_as(self) -> bool:
        name = str(self.session.draft.get("name", "preset")).replace(" ", "_").lower()
        path = self.ask_save_path("Save preset as", YAML_FILTER, f"{name}.yaml")
        if path is None:
            return False
        if path.suffix.lower() not in (".yaml", ".yml"):
            path = path.with_suffix(".yaml")
        return self._save(path)

    def _save(self, path: Path) -> bool:
        try:
            self.session.save(path)
        except (MTLError, OSError) as exc:
            self.message_bar.show_message("error", f"Not saved: {exc}")
            return False
        self.settings.set("last_preset", str(path))
        self.settings.add_recent(path)
        self.update_recent_menu()
        self.statusBar().showMessage(f"saved {path}", 5000)  # type: ignore[attr-defined]
        return True

    # ------------------------------------------------------------------ runs
    def open_run_folder(self, folder: Path | None = None) -> RunEntry | None:
        folder = folder or self.ask_open_path("Open run folder", "", folder=True)
        if folder is None:
            return None
        from mtl_engine import is_tensorboard_dir

        if is_tensorboard_dir(folder):  # TensorBoard logs, not a run folder: import them
            opened = self.open_tensorboard(Path(folder))
            return opened[0] if opened else None
        try:
            return self.session.open_run(folder)
        except (MTLError, OSError) as exc:
            self.message_bar.show_message("error", f"Could not open run folder: {exc}")
            return None

    def open_tensorboard(self, folder: Path | None = None) -> list[RunEntry]:
        from .interop import open_tensorboard

        return open_tensorboard(self, folder)

    def load_run_setup(self, entry: RunEntry) -> bool:
        if not self.maybe_keep_changes():
            return False
        try:
            self.session.load_config(config_from_dict(entry.config), None)
        except MTLError as exc:
            self.message_bar.show_message("error", f"{entry.label}'s setup cannot be loaded: {exc}")
            return False
        return True

    # ------------------------------------------------------------------ export
    def _latest_with_model(self) -> RunEntry | None:
        for entry in reversed(self.session.runs):
            if entry.model_file is not None:
                return entry
        return None

    def export_model(self, entry: RunEntry | None, torchscript: bool = False,
                     dest: Path | None = None, onnx: bool = False) -> Path | None:
        from mtl_engine import copy_bundle, export_onnx, export_torchscript

        entry = entry or self._latest_with_model()
        if entry is None or entry.model_file is None:
            self.message_bar.show_message("info", "No finished run with a saved model yet.")
            return None
        ext, what, export = ((".onnx", "ONNX (*.onnx)", export_onnx) if onnx
                             else (".ts", "TorchScript (*.ts *.pt)", export_torchscript)
                             if torchscript else (".pt", "Model bundle (*.pt)", copy_bundle))
        dest = dest or self.ask_save_path("Export model", what, f"{entry.name}{ext}")
        if dest is None:
            return None
        try:
            out = export(entry.model_file, dest)
        except (MTLError, OSError, RuntimeError) as exc:
            self.message_bar.show_message("error", f"Export failed: {exc}")
            return None
        self.statusBar().showMessage(f"exported {out}", 5000)  # type: ignore[attr-defined]
        return out

    def ask_plot_export(self) -> ExportChoice | None:
        """Folder, formats and PNG resolution for "All plots" (one small dialog)."""
        folder = str(self.settings.get("plot_export_dir") or "")
        return ask_export_choice(self, folder)  # type: ignore[arg-type]

    def export_plots(self, folder: Path | None = None, formats: tuple[str, ...] = ("png", "svg"),
                     png: PngOptions | None = None) -> list[Path]:
        """Every plot, hidden tab included, as files named after the plots in `folder`."""
        if folder is None:
            choice = self.ask_plot_export()
            if choice is None:
                return []
            folder, formats, png = choice.folder, choice.formats, choice.png
            self.settings.set("plot_export_dir", str(folder))
        self.plots.refresh_all()  # hidden plots are not redrawn by the timer
        try:
            out = export_all(self.plots.plots(), folder, formats=formats, png=png or PngOptions())
        except (OSError, ValueError) as exc:
            self.message_bar.show_message("error", f"Plot export failed: {exc}")
            return []
        bar = self.statusBar()  # type: ignore[attr-defined]
        bar.showMessage(f"exported {len(out)} files to {folder}", 5000)
        return out

    def export_csv(self, folder: Path | None = None) -> list[Path]:
        runs = self.session.shown_runs()
        if not runs:
            self.message_bar.show_message("info", "No run to export yet.")
            return []
        folder = folder or self.ask_folder("Export curves to folder")
        if folder is None:
            return []
        try:
            return export_runs([(f"run{r.number}_", r.history) for r in runs], folder)
        except (MTLError, OSError) as exc:
            self.message_bar.show_message("error", f"CSV export failed, nothing new written: "
                                                   f"{exc}")
            return []

    def set_theme(self, name: str) -> None:
        """Light or dark, for the window and every plot, at once."""
        self.theme = name if name in THEMES else "light"
        self.settings.set("theme", self.theme)
        apply_app_theme(self.theme)
        for name, action in getattr(self, "theme_actions", {}).items():
            action.setChecked(name == self.theme)
        self.plots.set_theme(self.theme)
        for window in (getattr(self, "study_window", None), getattr(self, "toy_window", None)):
            if window is not None:
                window.set_theme(self.theme)
        self.model_panel.diagram.update()
        for panel in (self.model_panel, self.tasks_panel):
            panel.on_checked()  # broken layer rows take the theme's error colour
