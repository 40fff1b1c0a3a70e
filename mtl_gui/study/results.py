"""A study folder's answer as the window shows it: variant rows, the table.csv columns, each
task's headline metric, and which direction of every metric is better. No Qt here."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mtl_engine
from mtl_engine.events import RunStatus


@dataclass
class StudyResults:
    folder: Path
    tasks: tuple[str, ...]
    rows: list[Any]  # mtl_engine's VariantRow records, in table.csv order
    runs: list[Any]  # RunResult records, in study order
    varied: tuple[str, ...]
    metrics: list[str]  # "val/<task>/<metric>" in table.csv order
    headline: dict[str, tuple[str, bool]] = field(default_factory=dict)  # task -> metric, higher

    @property
    def multi_task_rows(self) -> list[Any]:
        return [r for r in self.rows if not r.baseline]

    def higher_is_better(self, column: str) -> bool | None:
        """Of a val/<task>/<metric> column: the task's headline direction for its headline
        metric, else the metric registry's; None when neither says."""
        _, task, metric = column.split("/", 2)
        if task in self.headline and self.headline[task][0] == metric:
            return self.headline[task][1]
        if metric in mtl_engine.METRICS:
            return bool(mtl_engine.METRICS.get(metric).meta["higher_is_better"])
        return None

    def table_header(self) -> list[str]:
        """table.csv's columns, in its order (summary.table_rows writes the same)."""
        header = ["variant", "baseline", *self.varied, "n_seeds", "n_runs"]
        for c in self.metrics:
            header += [f"{c}_mean", f"{c}_std"]
        header += ["delta_m_mean", "delta_m_std", "rank"]
        if len(self.tasks) == 2:
            header.append("pareto")
        return header

    def table_value(self, row: Any, column: str) -> Any:
        """One table.csv cell of `row` as data (None for an empty cell)."""
        fixed = {"variant": row.variant, "baseline": row.baseline, "n_seeds": row.n_seeds,
                 "n_runs": row.n_runs, "delta_m_mean": row.delta_m_mean,
                 "delta_m_std": row.delta_m_std, "rank": row.rank}
        if column in fixed:
            return fixed[column]
        if column == "pareto":
            return "" if row.pareto is None else ("yes" if row.pareto else "no")
        if column in self.varied:
            return row.fields.get(column)
        if column.endswith("_mean"):
            return row.means.get(column[: -len("_mean")])
        if column.endswith("_std"):
            return row.stds.get(column[: -len("_std")])
        raise KeyError(column)


def load_results(folder: str | Path) -> StudyResults:
    """summarize_study(folder) (which rewrites its tables) as the window's data; MTLError for a
    folder that is not a study's."""
    root = Path(folder)
    runs, rows, tasks = mtl_engine.summarize_study(root)
    varied = _varied(root)
    metrics: list[str] = []
    order = {t: i for i, t in enumerate(tasks)}
    for r in runs:
        if r.status == RunStatus.COMPLETED:
            for c in r.metrics:
                if c not in metrics:
                    metrics.append(c)
    seen = list(metrics)
    metrics.sort(key=lambda c: (order.get(c.split("/")[1], len(order)), seen.index(c)))
    headline: dict[str, tuple[str, bool]] = {}
    for r in rows:
        for t, mh in r.headline.items():
            headline.setdefault(t, tuple(mh))
    return StudyResults(root, tuple(tasks), list(rows), list(runs), varied, metrics, headline)


def _varied(root: Path) -> tuple[str, ...]:
    """The varied fields, read off table.csv's header (between baseline and n_seeds)."""
    import csv

    with open(root / "table.csv", newline="", encoding="utf-8") as f:
        header = next(csv.reader(f), [])
    if "n_seeds" not in header:
        return ()
    return tuple(header[2: header.index("n_seeds")])


def csv_cell(value: Any) -> str:
    """A value as table.csv writes it: floats at full precision (repr), None empty."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)
    if isinstance(value, (list, dict)):
        import json

        return json.dumps(value, separators=(",", ":"))
    return str(value)
