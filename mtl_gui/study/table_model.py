"""The results table: table.csv's variant rows, one column per task metric as mean ± std,
Δm% ± std, rank; sortable by any column on its number; the best value per column in bold."""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QFont

from .results import StudyResults

SORT_ROLE = Qt.ItemDataRole.UserRole  # the number a column sorts by (mean, Δm%, rank, ...)
STD_ROLE = Qt.ItemDataRole.UserRole + 1  # the std beside a mean, None when there is none
Index = QModelIndex | QPersistentModelIndex


def _fmt(v: float | None, digits: int = 4) -> str:
    return "" if v is None else f"{v:.{digits}g}"


class Column:
    """One shown column: a title, the table.csv column(s) it shows, how to compare."""

    def __init__(self, title: str, mean: str, std: str | None = None,
                 higher: bool | None = None, tip: str = "") -> None:
        self.title, self.mean, self.std, self.higher, self.tip = title, mean, std, higher, tip


def columns(res: StudyResults) -> list[Column]:
    cols = [Column("variant", "variant", tip="the grid's and variants' values of this variant"),
            Column("baseline", "baseline", tip="the task of a single-task baseline")]
    cols += [Column(f, f, tip="a varied config field") for f in res.varied]
    cols.append(Column("n", "n_seeds", tip="completed seeds (n_runs in the study)"))
    for c in res.metrics:
        _, task, metric = c.split("/", 2)
        higher = res.higher_is_better(c)
        arrow = "" if higher is None else (" \u2191" if higher else " \u2193")
        star = " *" if res.headline.get(task, ("",))[0] == metric else ""
        cols.append(Column(f"{task} {metric}{arrow}{star}", f"{c}_mean", f"{c}_std", higher,
                           f"validation {metric} of task {task}: mean \u00b1 std over seeds"
                           + (" (its headline metric)" if star else "")))
    cols.append(Column("\u0394m% \u2193", "delta_m_mean", "delta_m_std", False,
                       "mean relative change against the single-task baselines; lower is "
                       "better"))
    cols.append(Column("rank", "rank", higher=False, tip="1 = lowest \u0394m%"))
    if len(res.tasks) == 2:
        cols.append(Column("Pareto", "pareto", tip="no other variant is at least as good on "
                           "both headline metrics and better on one"))
    return cols


class ResultsModel(QAbstractTableModel):
    def __init__(self, res: StudyResults | None = None) -> None:
        super().__init__()
        self.res: StudyResults | None = None
        self.cols: list[Column] = []
        self.best: dict[int, float] = {}
        if res is not None:
            self.set_results(res)

    def set_results(self, res: StudyResults | None) -> None:
        self.beginResetModel()
        self.res = res
        self.cols = columns(res) if res is not None else []
        self.best = self._best() if res is not None else {}
        self.endResetModel()

    def _best(self) -> dict[int, float]:
        """Column -> its best value among the multi-task variants (where a direction is known)."""
        assert self.res is not None
        best = {}
        for i, col in enumerate(self.cols):
            if col.higher is None:
                continue
            vals = [self.value(r, col.mean) for r in self.res.multi_task_rows]
            vals = [v for v in vals if isinstance(v, (int, float)) and math.isfinite(v)]
            if vals:
                best[i] = max(vals) if col.higher else min(vals)
        return best

    def value(self, row: Any, column: str) -> Any:
        assert self.res is not None
        return self.res.table_value(row, column)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008 - Qt API
        return 0 if parent.isValid() or self.res is None else len(self.res.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008 - Qt API
        return 0 if parent.isValid() else len(self.cols)

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802 - Qt API
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self.cols):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.cols[section].title
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.cols[section].tip
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or self.res is None:
            return None
        row, col = self.res.rows[index.row()], self.cols[index.column()]
        mean = self.value(row, col.mean)
        std = self.value(row, col.std) if col.std else None
        if role == Qt.ItemDataRole.DisplayRole:
            if isinstance(mean, float) and col.mean == "delta_m_mean":
                return f"{mean:+.2f}" + ("" if std is None else f" \u00b1 {std:.2f}")
            if isinstance(mean, float):
                return _fmt(mean) + ("" if std is None else f" \u00b1 {_fmt(std, 2)}")
            return "" if mean is None else str(mean)
        if role == SORT_ROLE:
            if isinstance(mean, (int, float)) and not isinstance(mean, bool):
                return float(mean)
            return mean if mean not in (None, "") else None
        if role == STD_ROLE:
            return std
        if role == Qt.ItemDataRole.FontRole:
            best = self.best.get(index.column())
            if best is not None and not row.baseline and mean == best:
                font = QFont()
                font.setBold(True)
                return font
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if isinstance(mean, (int, float)):
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            return row.variant
        return None

    def is_bold(self, row: int, column: int) -> bool:
        return self.data(self.index(row, column), Qt.ItemDataRole.FontRole) is not None
