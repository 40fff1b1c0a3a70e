"""The runs table: every run of this session and every opened run folder; tick to overlay.

Built to compare 2 runs or 50: a click on any column header sorts by it (numbers as numbers,
a run without the value last), each task's headline metric has a column of its own, the "group
by" box gathers runs under a header row per value of a config field (ticking a header shows or
hides its whole group), and each shown run's tick cell carries the colour its curves have when
several runs are shown (`plots.style.RUN_COLORS`). A newly added run is scrolled into view.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mtl_engine.events import RunStatus

from ..plots.style import RUN_COLORS
from ..run_entry import RunEntry
from ..session import Session
from .run_controls import fmt_duration

FIXED = ("show", "run", "name", "dataset", "sharing", "strategy", "status",
         "metrics (validation)")
TAIL = ("time", "folder")
COLUMNS = FIXED + TAIL  # plus one column per task's headline metric between the two
METRICS_COL = FIXED.index("metrics (validation)")
METRICS_TIP = ("each task's headline validation metric: the run's final value once it ended, "
               "\u201clatest:\u201d while it runs (the last validation so far), \u201clast "
               "epoch:\u201d for a run that ended without final values")
METRICS_WIDTH = 360  # the summary wraps onto more lines past this width (never cut)
LIVE = (RunStatus.PENDING, RunStatus.RUNNING)
NO_GROUP = "(no grouping)"
GROUP_FIELDS = ("strategy.name", "sharing.scheme", "data.dataset")
UID = Qt.ItemDataRole.UserRole  # a run row's uid, in its tick cell


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
    if not final:
        return f"last epoch: {text}"
    if h.selected_epoch is not None and h.selected_epoch != len(h.ep_index):
        text = f"epoch {h.selected_epoch} kept: {text}"  # training.select: best
    test = [f"{t} {h.headline(t)} {ms[h.headline(t)]:.3f}" for t, ms in h.test_metrics.items()
            if h.headline(t) in ms]
    return f"{text}; test: {', '.join(test)}" if test else text


def metric_columns(runs: list[RunEntry]) -> list[tuple[str, str]]:
    """(task, headline metric) of every run's tasks, in the order the runs name them."""
    return list(dict.fromkeys((t, r.history.headline(t)) for r in runs for t in r.history.tasks))


def field_value(entry: RunEntry, path: str) -> str:
    """A run's value of a dotted config path ("strategy.name"), or of its study variant."""
    if path == "variant":
        return str(getattr(entry, "variant", "") or "")
    node: Any = entry.config
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return ""
        node = node[part]
    return str(node)


def _leaves(d: dict[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in d.items():
        path = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_leaves(v, f"{path}."))
        elif not isinstance(v, list):
            out[path] = str(v)
    return out


def group_fields(runs: list[RunEntry]) -> list[str]:
    """What the runs can be grouped by: the usual fields, a study's variant, and every other
    scalar config field whose value differs between the runs."""
    fields = list(GROUP_FIELDS)
    if any(getattr(r, "variant", "") for r in runs):
        fields.insert(0, "variant")
    leaves = [_leaves(r.config) for r in runs]
    paths = dict.fromkeys(p for leaf in leaves for p in leaf)
    fields += sorted(p for p in paths if p not in fields and p != "name"
                     and len({leaf.get(p, "") for leaf in leaves}) > 1)
    return fields


class RunsPanel(QWidget):
    open_folder_requested = Signal()
    load_setup_requested = Signal(object)  # RunEntry
    export_requested = Signal(object)  # RunEntry

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(True)
        self.table.setTextElideMode(Qt.TextElideMode.ElideNone)  # wrapped, never "..."
        header = self.table.horizontalHeader()
        header.setSortIndicatorShown(True)
        header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        header.setSectionsClickable(True)
        header.sectionClicked.connect(self._header_clicked)
        # No stretched last section: the folder path would wrap anywhere (item views wrap
        # inside words too) and make every row three lines tall.
        header.setStretchLastSection(False)
        self.table.itemChanged.connect(self._ticked)
        self.table.itemSelectionChanged.connect(self._sync_buttons)
        self.sort_column = ""  # the header text sorted by ("" = the order runs were added)
        self.sort_order = Qt.SortOrder.AscendingOrder
        self.group_by = ""  # a dotted config path, "variant", or "" for no groups
        self.metric_cols: list[tuple[str, str]] = []
        self.row_uids: list[int | None] = []  # each row's run, None for a group's header row
        self._groups: dict[int, list[RunEntry]] = {}  # header row -> its runs
        self._seen: set[int] = set()
        self._rendering = False
        self.group_combo = QComboBox(self)
        self.group_combo.setToolTip("gather the runs under one header row per value of a "
                                    "config field (tick a header to show or hide its group)")
        self.group_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.group_combo.addItem(NO_GROUP)
        self.group_combo.currentTextChanged.connect(self._group_picked)
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
        buttons.addWidget(QLabel("group by", self))
        buttons.addWidget(self.group_combo)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.table, 1)
        lay.addLayout(buttons)
        session.runs_changed.connect(self.render)
        session.run_finished.connect(lambda _: self.render())
        session.run_updated.connect(self._update_row)
        self.render()

    # ------------------------------------------------------------------ columns and order
    def columns(self) -> list[str]:
        return list(FIXED) + [f"{t} {m}" for t, m in self.metric_cols] + list(TAIL)

    def _cells(self, r: RunEntry) -> list[tuple[str, Any]]:
        """(text, sort value) per column after the tick cell."""
        values = r.final_metrics()
        h = r.history
        metrics = [(f"{values[t]:.4g}", values[t]) if t in values and h.headline(t) == m
                   else ("", None) for t, m in self.metric_cols]
        summary = metrics_text(r)
        seconds = r.history.seconds
        return ([(r.label, r.number), (r.name, r.name.lower()), (r.dataset, r.dataset),
                 (r.sharing, r.sharing), (r.strategy, r.strategy), (r.status, r.status),
                 (summary, tuple(values.values()) or None)] + metrics
                + [(fmt_duration(seconds) if seconds else "", seconds or None),
                   (str(r.folder or "(not saved)"), str(r.folder or ""))])

    def _ordered(self, runs: list[RunEntry]) -> list[RunEntry]:
        cols = self.columns()
        if self.sort_column not in cols[1:]:
            return list(runs)
        j = cols.index(self.sort_column) - 1
        keyed = [(self._cells(r)[j][1], r) for r in runs]
        present = [(v, r) for v, r in keyed if v is not None and v != ""]
        missing = [r for v, r in keyed if v is None or v == ""]
        try:
            present.sort(key=lambda vr: vr[0],
                         reverse=self.sort_order == Qt.SortOrder.DescendingOrder)
        except TypeError:  # mixed kinds in one column: by their text
            present.sort(key=lambda vr: str(vr[0]),
                         reverse=self.sort_order == Qt.SortOrder.DescendingOrder)
        return [r for _, r in present] + missing

    def _header_clicked(self, index: int) -> None:
        name = self.columns()[index] if index < len(self.columns()) else ""
        if index == 0 or not name:
            return
        if name == self.sort_column:
            self.sort_order = (Qt.SortOrder.DescendingOrder
                               if self.sort_order == Qt.SortOrder.AscendingOrder
                               else Qt.SortOrder.AscendingOrder)
        else:
            self.sort_column, self.sort_order = name, Qt.SortOrder.AscendingOrder
        self.render()

    def _group_picked(self, text: str) -> None:
        self.group_by = "" if text == NO_GROUP else text
        self.render()

    # ------------------------------------------------------------------ rows
    def entry_at(self, row: int) -> RunEntry | None:
        uid = self.row_uids[row] if 0 <= row < len(self.row_uids) else None
        return next((r for r in self.session.runs if r.uid == uid), None)

    def row_of(self, entry: RunEntry) -> int:
        return self.row_uids.index(entry.uid) if entry.uid in self.row_uids else -1

    def selected(self) -> RunEntry | None:
        rows = self.table.selectionModel().selectedRows()
        return self.entry_at(rows[0].row()) if rows else None

    def _sync_group_combo(self, runs: list[RunEntry]) -> None:
        fields = [NO_GROUP] + group_fields(runs)
        have = [self.group_combo.itemText(i) for i in range(self.group_combo.count())]
        if fields != have:
            self.group_combo.blockSignals(True)
            self.group_combo.clear()
            self.group_combo.addItems(fields)
            self.group_combo.setCurrentText(self.group_by if self.group_by in fields
                                            else NO_GROUP)
            self.group_combo.blockSignals(False)

    def render(self) -> None:
        if self._rendering:
            return
        keep = self.selected()
        runs = self.session.runs
        self._sync_group_combo(runs)
        self.metric_cols = metric_columns(runs)
        cols = self.columns()
        shown = self.session.shown_runs()
        # The same shown runs give the plots the same colours (style.RunColors); one run shown
        # is coloured by task, so its swatch stays empty.
        colors = RUN_COLORS.assign([r.uid for r in shown]) if len(shown) > 1 else {}
        rows: list[RunEntry | tuple[str, list[RunEntry]]] = []
        if self.group_by:
            groups: dict[str, list[RunEntry]] = {}
            for r in runs:
                groups.setdefault(field_value(r, self.group_by), []).append(r)
            for value in sorted(groups, key=lambda v: (v == "", v)):
                rows.append((value, groups[value]))
                rows += self._ordered(groups[value])
        else:
            rows = list(self._ordered(runs))
        self.table.blockSignals(True)
        self.table.clearSpans()
        self.table.setColumnCount(len(cols))
        self.table.setHorizontalHeaderLabels(cols)
        self.table.horizontalHeaderItem(METRICS_COL).setToolTip(METRICS_TIP)
        self.table.setRowCount(len(rows))
        self.row_uids, self._groups = [], {}
        for i, row in enumerate(rows):
            if isinstance(row, tuple):
                self._group_row(i, *row, len(cols))
            else:
                self._run_row(i, row, colors)
        self.table.blockSignals(False)
        self._sort_indicator(cols)
        self._fit_columns(cols)
        if keep is not None and keep.uid in self.row_uids:
            self.table.selectRow(self.row_of(keep))
        new = [r for r in runs if r.uid not in self._seen]
        self._seen = {r.uid for r in runs}
        if new:  # the newest run in view, wherever sorting or grouping put it
            self._scroll_to(new[-1].uid)
            # again once the table is laid out: a horizontal scroll bar that the new columns
            # bring takes the bottom row's place
            QTimer.singleShot(0, self.table, lambda uid=new[-1].uid: self._scroll_to(uid))
        self._sync_buttons()

    def _scroll_to(self, uid: int) -> None:
        row = self.row_uids.index(uid) if uid in self.row_uids else -1
        item = self.table.item(row, 1) if row >= 0 else None
        if item is not None:
            self.table.scrollToItem(item, QAbstractItemView.ScrollHint.EnsureVisible)

    def _run_row(self, i: int, r: RunEntry, colors: dict[int, int]) -> None:
        self.row_uids.append(r.uid)
        show = QTableWidgetItem()
        show.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled
                      | Qt.ItemFlag.ItemIsSelectable)
        show.setCheckState(Qt.CheckState.Checked if r.visible else Qt.CheckState.Unchecked)
        show.setData(UID, r.uid)
        color = RUN_COLORS.color(r.uid) if r.uid in colors else None
        if color is not None:
            show.setData(Qt.ItemDataRole.DecorationRole, color)
            show.setToolTip("shown; the colour of this run's curves (tick several runs to "
                            "overlay them)")
        else:
            show.setToolTip("tick several runs to overlay their curves, each in its colour")
        self.table.setItem(i, 0, show)
        for j, (text, _) in enumerate(self._cells(r), start=1):
            item = QTableWidgetItem(text)
            item.setToolTip(text)
            self.table.setItem(i, j, item)

    def _group_row(self, i: int, value: str, members: list[RunEntry], n_cols: int) -> None:
        self.row_uids.append(None)
        self._groups[i] = members
        visible = sum(r.visible for r in members)
        head = QTableWidgetItem()
        head.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled)
        head.setCheckState(Qt.CheckState.Checked if visible == len(members) else
                           Qt.CheckState.Unchecked if visible == 0 else
                           Qt.CheckState.PartiallyChecked)
        head.setToolTip("show or hide every run of this group")
        self.table.setItem(i, 0, head)
        noun = "run" if len(members) == 1 else "runs"
        label = QTableWidgetItem(f"{self.group_by} = {value or '(not set)'}  \u00b7  "
                                 f"{len(members)} {noun}, {visible} shown")
        label.setFlags(Qt.ItemFlag.ItemIsEnabled)
        font = QFont(label.font())
        font.setBold(True)
        label.setFont(font)
        self.table.setItem(i, 1, label)
        self.table.setSpan(i, 1, 1, n_cols - 1)

    def _sort_indicator(self, cols: list[str]) -> None:
        header = self.table.horizontalHeader()
        header.blockSignals(True)
        index = cols.index(self.sort_column) if self.sort_column in cols else -1
        header.setSortIndicator(index, self.sort_order)
        header.blockSignals(False)

    def _fit_columns(self, cols: list[str]) -> None:
        header = self.table.horizontalHeader()
        for j in range(len(cols)):
            header.setSectionResizeMode(j, QHeaderView.ResizeMode.ResizeToContents)
        # The summary of 14 tasks would be some 1000 px on one line: it wraps instead.
        header.setSectionResizeMode(METRICS_COL, QHeaderView.ResizeMode.Interactive)
        self.table.resizeColumnToContents(METRICS_COL)
        if header.sectionSize(METRICS_COL) > METRICS_WIDTH:
            header.resizeSection(METRICS_COL, METRICS_WIDTH)
        self.table.resizeRowsToContents()

    def _update_row(self, entry: RunEntry) -> None:
        """Live status and metrics of a running entry, without rebuilding the table."""
        i = self.row_of(entry)
        if i < 0:
            return
        if any(c not in self.metric_cols for c in metric_columns([entry])):
            self.render()  # its tasks are known now: their columns come in
            return
        cells = self._cells(entry)
        changed = False
        for j, (text, _) in enumerate(cells, start=1):
            if j in (1, 2, 3, 4, 5):  # fixed by the config
                continue
            item = self.table.item(i, j)
            if item is not None and item.text() != text:
                item.setText(text)
                item.setToolTip(text)
                changed = changed or j == METRICS_COL
        if changed:
            self.table.resizeRowToContents(i)

    # ------------------------------------------------------------------ actions
    def _ticked(self, item: QTableWidgetItem) -> None:
        if item.column() != 0 or self._rendering:
            return
        on = item.checkState() != Qt.CheckState.Unchecked
        if item.row() in self._groups:
            self._batch([lambda r=r: self.session.set_visible(r, on)
                         for r in self._groups[item.row()] if r.visible != on])
            return
        entry = self.entry_at(item.row())
        if entry is not None:
            self.session.set_visible(entry, item.checkState() == Qt.CheckState.Checked)

    def _batch(self, calls: list[Callable[[], None]]) -> None:
        """Several visibility changes, then one redraw of the table."""
        self._rendering = True
        try:
            for call in calls:
                call()
        finally:
            self._rendering = False
        self.render()

    def swatch(self, entry: RunEntry) -> QColor | None:
        """The colour shown in a run's tick cell (None when it has none)."""
        i = self.row_of(entry)
        item = self.table.item(i, 0) if i >= 0 else None
        value = item.data(Qt.ItemDataRole.DecorationRole) if item is not None else None
        return QColor(value) if value is not None else None

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
