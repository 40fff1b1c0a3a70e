"""Where a user asks for an export: each plot's right-click menu and File > Export > All plots.

The right-click menu of any plot gets "Export plot…" (PNG at screen size, 2x or 300 dpi, SVG or
PDF, by the file type picked in the save dialog); it replaces pyqtgraph's own "Export...",
whose SVG writer fails with this PySide6. "All plots" asks for a folder, the formats and the
PNG resolution in one small dialog. The prompts are module functions, which tests replace.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QWidget,
)

from .export import FORMATS, PngOptions, export_plot, plot_view

# Save-dialog filters of a single plot: each PNG entry carries its resolution.
PLOT_FILTERS: dict[str, tuple[str, PngOptions]] = {
    "PNG image, screen size (*.png)": ("png", PngOptions()),
    "PNG image, 2x (*.png)": ("png", PngOptions(scale=2.0)),
    "PNG image, 300 dpi for print (*.png)": ("png", PngOptions(dpi=300.0)),
    "SVG vector image (*.svg)": ("svg", PngOptions()),
    "PDF document (*.pdf)": ("pdf", PngOptions()),
}
PNG_CHOICES: dict[str, PngOptions] = {
    "screen size": PngOptions(),
    "2x screen size": PngOptions(scale=2.0),
    "300 dpi (print)": PngOptions(dpi=300.0),
}


@dataclass
class ExportChoice:
    """What File > Export > All plots should write."""

    folder: Path
    formats: tuple[str, ...] = ("png", "svg")
    png: PngOptions = field(default_factory=PngOptions)


# ---------------------------------------------------------------------- prompts (tests swap)
def ask_plot_path(parent: QWidget, suggested: str) -> tuple[Path, PngOptions] | None:
    """A file name for one plot and the PNG resolution its file type stands for."""
    path, chosen = QFileDialog.getSaveFileName(parent, "Export plot", suggested,
                                               ";;".join(PLOT_FILTERS))
    if not path:
        return None
    ext, png = PLOT_FILTERS.get(chosen, ("png", PngOptions()))
    out = Path(path)
    if out.suffix.lower().lstrip(".") not in FORMATS:
        out = out.with_name(out.name + f".{ext}")
    return out, png


def ask_export_choice(parent: QWidget | None, folder: str = "") -> ExportChoice | None:
    dialog = ExportAllDialog(parent, folder)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    return dialog.choice()


# ---------------------------------------------------------------------- the context menu
def add_export_action(plot: QWidget) -> QAction:
    """Give `plot` (one of our plot classes, or a bare pyqtgraph view) "Export plot…" in the
    right-click menu of every item of its scene."""
    view = plot_view(plot)
    scene = view.scene()
    action = QAction("Export plot\u2026", view)
    action.setToolTip("save this plot as PNG, SVG or PDF")
    action.triggered.connect(lambda: export_from_menu(plot))
    # pyqtgraph appends its scene's `contextMenu` actions to every item's menu.
    scene.contextMenu = [action]
    return action


def plot_name(plot: QWidget) -> str:
    """The plot's file-friendly name: its key in the plot area, else its title."""
    parent = plot.parentWidget()
    while parent is not None:
        plots = getattr(parent, "plots", None)
        if callable(plots):
            for name, widget in plots().items():
                if widget is plot:
                    return name
        parent = parent.parentWidget()
    view = plot_view(plot)
    title = str(view.getPlotItem().titleLabel.text) if hasattr(view, "getPlotItem") else ""
    return re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")[:40] or "plot"


def export_from_menu(plot: QWidget) -> Path | None:
    answer = ask_plot_path(plot, f"{plot_name(plot)}.png")
    if answer is None:
        return None
    path, png = answer
    window = plot.window()
    try:
        out = export_plot(plot, path, png)
    except (OSError, ValueError) as exc:
        bar = getattr(window, "message_bar", None)
        if bar is not None:
            bar.show_message("error", f"Plot export failed: {exc}")
        else:
            QMessageBox.warning(plot, "Plot export failed", str(exc))
        return None
    status = getattr(window, "statusBar", None)
    if callable(status):
        status().showMessage(f"exported {out}", 5000)
    return out


# ---------------------------------------------------------------------- the all-plots dialog
class ExportAllDialog(QDialog):
    def __init__(self, parent: QWidget | None = None, folder: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle("Export all plots")
        self.folder = QLineEdit(folder, self)
        self.folder.setToolTip("every plot is written here, named after the plot")
        browse = QPushButton("Browse\u2026", self)
        browse.setToolTip("pick the folder")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.folder, 1)
        row.addWidget(browse)
        self.boxes = {f: QCheckBox(f.upper(), self) for f in FORMATS}
        tips = {"png": "raster image at the resolution below",
                "svg": "vector image for the web, Inkscape or LaTeX (via svg)",
                "pdf": "vector page the size of the plot, for LaTeX and print"}
        formats = QHBoxLayout()
        for fmt, box in self.boxes.items():
            box.setChecked(fmt in ("png", "svg"))
            box.setToolTip(tips[fmt])
            box.toggled.connect(self._update_ok)
            formats.addWidget(box)
        formats.addStretch(1)
        self.resolution = QComboBox(self)
        self.resolution.addItems(list(PNG_CHOICES))
        self.resolution.setToolTip("PNG size: as on screen, twice that, or 300 dots per inch "
                                   "at the plot's on-screen size in inches")
        form = QFormLayout(self)
        form.addRow("Folder", row)
        form.addRow("Formats", formats)
        form.addRow("PNG resolution", self.resolution)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                        | QDialogButtonBox.StandardButton.Cancel, self)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)
        self.folder.textChanged.connect(self._update_ok)
        self._update_ok()

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Export plots to folder",
                                                self.folder.text())
        if path:
            self.folder.setText(path)

    def _update_ok(self) -> None:
        ok = bool(self.folder.text().strip()) and any(b.isChecked() for b in self.boxes.values())
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(ok)

    def choice(self) -> ExportChoice:
        return ExportChoice(Path(self.folder.text().strip()),
                            tuple(f for f, b in self.boxes.items() if b.isChecked()),
                            PNG_CHOICES[self.resolution.currentText()])
