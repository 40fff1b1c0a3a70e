"""The runs table: every run of this session and every opened run folder; tick to overlay."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..run_entry import RunEntry
from ..session import Session
from .run_controls import fmt_duration

COLUMNS = ("show", "run", "name", "dataset", "sharing", "strategy", "status",
           "metrics (validation)", "time", "folder")
METRICS_TIP = ("each task's headline validation metric: the run's final value once it ended, "
               "\u201clatest:\u201d while it runs (the last validation so far), \u201clast "
               "epoch:\u201d for a run that ended without final values")
LIVE = ("pending", "running")


def metrics_text(entry: RunEntry) -> str:
    """The metrics cell, saying when the values are not the run's final ones: a running run's
    are the latest validation's, and will change."""
    h = entry.history
    values = entry.final_metrics()
    if not values:
        return ""
    text = ", ".join(f"{t} {h.headline(t)} {v:.3f}" for t, v in values.items())
    if h.status in LIVE:
        return f"latest: {text}"
    final = all(h.headline(t) in h.final_metrics.get(t, {}) for t in values)
    return text if final else f"last epoch: {text}"


class RunsPanel(QWidget):
    open_folder_requested = Signal()
    load_setup_requested = Signal(object)  # RunEntry
    export_requested = Signal(object)  # RunEntry

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.horizontalHeaderItem(COLUMNS.index("metrics (validation)")).setToolTip(
            METRICS_TIP)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(7, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(9, QHeaderView.ResizeMode.Interactive)
        self.table.itemChanged.connect(self._ticked)
        self.table.itemSelectionChanged.connect(self._sync_buttons)
        self.open_btn = QPushButton("Open run folder\u2026", self)
        self.open_btn.setToolTip("show a past run (from this app or `mtl-run`) without training")
        self.open_btn.clicked.connect(self.open_folder_requested)
        self.setup_btn = QPushButton("Load its setup", self)
        self.setup_btn.setToolTip("put the selected run's config into the panels")
        self.setup_btn.clicked.connect(lambda: self._with_selected(self.load_setup_requested))
        self.export_btn = QPushButton("Export model\u2026", self)
        self.export_btn.setToolTip("save the selected run's trained model as a bundle (.pt)")
        self.export_btn.clicked.connect(lambda: self._with_selected(self.export_requested))
        self.remove_btn = QPushButton("Remove from list", self)
        self.remove_btn.setToolTip("forget the run in this window (its folder stays on disk)")
        self.remove_btn.clicked.connect(self._remove)
        buttons = QHBoxLayout()
        for b in (self.open_btn, self.setup_btn, self.export_btn, self.remove_btn):
            buttons.addWidget(b)
        buttons.addStretch(1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.table, 1)
        lay.addLayout(buttons)
        session.runs_changed.connect(self.render)
        session.run_finished.connect(lambda _: self.render())
        session.run_updated.connect(self._update_row)
        self.render()

    def selected(self) -> RunEntry | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        row = rows[0].row()
        return self.session.runs[row] if row < len(self.session.runs) else None

    def render(self) -> None:
        keep = self.selected()
        self.table.blockSignals(True)
        runs = self.session.runs
        self.table.setRowCount(len(runs))
        for i, r in enumerate(runs):
            show = QTableWidgetItem()
            show.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled
                          | Qt.ItemFlag.ItemIsSelectable)
            show.setCheckState(Qt.CheckState.Checked if r.visible else Qt.CheckState.Unchecked)
            show.setToolTip("tick several runs to overlay their curves")
            self.table.setItem(i, 0, show)
            cells = (r.label, r.name, r.dataset, r.sharing, r.strategy, r.status,
                     metrics_text(r), fmt_duration(r.history.seconds) if r.history.seconds
                     else "", str(r.folder or "(not saved)"))
            for j, text in enumerate(cells, start=1):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.table.setItem(i, j, item)
        self.table.blockSignals(False)
        if keep in runs:
            self.table.selectRow(runs.index(keep))
        self._sync_buttons()

    def _update_row(self, entry: RunEntry) -> None:
        """Live status and metrics of a running entry, without rebuilding the table."""
        if entry not in self.session.runs:
            return
        i = self.session.runs.index(entry)
        for j, text in ((6, entry.status), (7, metrics_text(entry))):
            item = self.table.item(i, j)
            if item is not None and item.text() != text:
                item.setText(text)
                item.setToolTip(text)

    def _ticked(self, item: QTableWidgetItem) -> None:
        if item.column() != 0 or item.row() >= len(self.session.runs):
            return
        entry = self.session.runs[item.row()]
        self.session.set_visible(entry, item.checkState() == Qt.CheckState.Checked)

    def _with_selected(self, signal: Signal) -> None:
        entry = self.selected()
        if entry is not None:
            signal.emit(entry)

    def _remove(self) -> None:
        entry = self.selected()
        if entry is not None:
            self.session.remove_run(entry)

    def _sync_buttons(self) -> None:
        entry = self.selected()
        self.setup_btn.setEnabled(entry is not None)
        self.export_btn.setEnabled(entry is not None and entry.model_file is not None)
        self.remove_btn.setEnabled(entry is not None and not (
            entry is self.session.current and self.session.worker is not None))
