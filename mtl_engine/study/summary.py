"""A study's answer: per-run results (summary.csv) and per-variant means over seeds with Δm%
against the single-task baselines (table.csv, table.md).

Δm% (Maninis et al., CVPR 2019, in the form CAGrad, Nash-MTL and FAMO report):

    Δm = 100 / K * sum_k (-1)^{δ_k} (M_k - B_k) / B_k

over the K tasks' headline metrics, δ_k = 1 when higher is better, M_k the run's value and B_k
the mean over seeds of task k's single-task baseline. Lower is better; negative means better than
training each task alone. A run's Δm is empty when a task has no completed baseline or B_k = 0.

Only completed runs count: a stopped, failed or missing run is listed in summary.csv with its
status and left out of every mean. Standard deviations are over seeds with n - 1 (empty for one
seed). `select: final` reads the epoch the run kept (its RunFinished.selected_epoch: the last
unless the run's own `training.select` is best); `best` the epoch with the highest validation score
(the user-weighted mean of the higher-is-better headline metrics), or, for a run with no such
metric, the lowest mean validation loss: mtl_engine/selection.py, the rule `training.select: best`
uses too.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..events import EpochEnded, RunFailed, RunFinished, RunStarted, RunStatus
from ..selection import best_epoch

SUMMARY_FILE = "summary.csv"
TABLE_FILE = "table.csv"
TABLE_MD = "table.md"


@dataclass
class RunResult:
    key: str
    variant: str
    seed: int
    baseline: str
    fields: dict[str, Any]
    status: str  # completed | stopped | failed | incomplete | not run
    epoch: int | None = None  # the selected epoch (1-based)
    metrics: dict[str, float] = field(default_factory=dict)  # "val/<task>/<metric>" -> value
    headline: dict[str, tuple[str, bool]] = field(default_factory=dict)  # task -> metric, higher
    message: str = ""  # why it failed
    delta_m: float | None = None


def delta_m(values: dict[str, float], baselines: dict[str, float],
            higher: dict[str, bool]) -> float | None:
    """Δm% of one run: `values` and `baselines` map task -> headline metric."""
    terms = []
    for task, m in values.items():
        b = baselines.get(task)
        if b is None or b == 0 or not math.isfinite(b) or not math.isfinite(m):
            return None
        sign = -1.0 if higher[task] else 1.0
        terms.append(sign * (m - b) / b)
    return 100.0 * sum(terms) / len(terms) if terms else None


def collect(folder: Path, records: list[dict[str, Any]], select: str) -> list[RunResult]:
    """Read every run of the study from its folder; Δm filled in."""
    results = [_read(folder, r, select) for r in records]
    base: dict[str, list[float]] = {}
    for r in results:
        if r.baseline and r.status == RunStatus.COMPLETED and r.baseline in r.headline:
            metric, _ = r.headline[r.baseline]
            v = r.metrics.get(f"val/{r.baseline}/{metric}")
            if v is not None:
                base.setdefault(r.baseline, []).append(v)
    means = {t: statistics.fmean(vs) for t, vs in base.items()}
    for r in results:
        if r.baseline or r.status != RunStatus.COMPLETED or not r.headline:
            continue
        values = {t: r.metrics.get(f"val/{t}/{m}", math.nan) for t, (m, _) in r.headline.items()}
        r.delta_m = delta_m(values, means, {t: h for t, (_, h) in r.headline.items()})
    return results


def _read(folder: Path, rec: dict[str, Any], select: str) -> RunResult:
    from .. import read_run
    from ..errors import MTLError

    result = RunResult(rec["key"], rec["variant"], int(rec["seed"]), rec["baseline"],
                  dict(rec.get("fields", {})), RunStatus.NOT_RUN)
    run_dir = folder / rec["folder"]
    if not run_dir.is_dir():
        return result
    try:
        record = read_run(run_dir)
    except MTLError:
        result.status = RunStatus.INCOMPLETE
        return result
    started = next(e for e in record.events if isinstance(e, RunStarted))
    result.headline = {t.name: (t.metric, t.higher_is_better) for t in started.tasks}
    last = record.finished
    if isinstance(last, RunFailed):
        result.status, result.message = RunStatus.FAILED, last.message
    elif isinstance(last, RunFinished) and not record.incomplete:
        result.status = RunStatus(last.status)
    else:
        result.status = RunStatus.INCOMPLETE
    epochs = [e for e in record.events if isinstance(e, EpochEnded)]
    if epochs:
        kept = last.selected_epoch if isinstance(last, RunFinished) else None
        chosen = (next((e for e in epochs if e.epoch == kept), epochs[-1]) if select == "final"
                  else _best(epochs))
        result.epoch = chosen.epoch
        result.metrics = {f"val/{t}/{m}": v for t, ms in chosen.val_metrics.items()
                     for m, v in ms.items()}
    return result


def _best(epochs: list[EpochEnded]) -> EpochEnded:
    return best_epoch(epochs)  # the training loop's `select: best` rule, shared


def metric_columns(results: list[RunResult], tasks: tuple[str, ...]) -> list[str]:
    """Every val/<task>/<metric> seen, tasks in study order, metrics in the order reported."""
    cols: list[str] = []
    order = {t: i for i, t in enumerate(tasks)}
    for r in results:
        for c in r.metrics:
            if c not in cols:
                cols.append(c)
    return sorted(cols, key=lambda c: (order.get(c.split("/")[1], len(order)), cols.index(c)))


def summary_rows(results: list[RunResult], varied: tuple[str, ...], tasks: tuple[str, ...]
                 ) -> tuple[list[str], list[dict[str, Any]]]:
    cols = metric_columns(results, tasks)
    header = ["key", "variant", "seed", "baseline", "status", *varied, "epoch", *cols,
              "delta_m", "message"]
    rows = []
    for r in results:
        row: dict[str, Any] = {"key": r.key, "variant": r.variant, "seed": r.seed,
                               "baseline": r.baseline, "status": r.status, "epoch": r.epoch,
                               "delta_m": r.delta_m, "message": r.message}
        row.update({k: r.fields.get(k) for k in varied})
        row.update({c: r.metrics.get(c) for c in cols})
        rows.append(row)
    return header, rows


@dataclass
class VariantRow:
    variant: str
    baseline: str
    fields: dict[str, Any]
    n_seeds: int  # completed runs
    n_runs: int
    means: dict[str, float]
    stds: dict[str, float | None]
    delta_m_mean: float | None
    delta_m_std: float | None
    rank: int | None = None
    pareto: bool | None = None
    headline: dict[str, tuple[str, bool]] = field(default_factory=dict)


def variant_rows(results: list[RunResult], tasks: tuple[str, ...]) -> list[VariantRow]:
    groups: dict[str, list[RunResult]] = {}
    for r in results:
        groups.setdefault(r.variant, []).append(r)
    rows = []
    for variant, runs in groups.items():
        done = [r for r in runs if r.status == RunStatus.COMPLETED]
        cols = metric_columns(done, tasks)
        means, stds = {}, {}
        for c in cols:
            vs = [r.metrics[c] for r in done if c in r.metrics]
            means[c] = statistics.fmean(vs)
            stds[c] = statistics.stdev(vs) if len(vs) > 1 else None
        dms = [r.delta_m for r in done if r.delta_m is not None]
        complete = bool(done) and len(dms) == len(done)  # a mean over some seeds would mislead
        headline = next((r.headline for r in done if r.headline), {})
        rows.append(VariantRow(
            variant, runs[0].baseline, runs[0].fields, len(done), len(runs), means, stds,
            statistics.fmean(dms) if complete else None,
            statistics.stdev(dms) if complete and len(dms) > 1 else None, headline=headline))
    ranked = sorted((r for r in rows if r.delta_m_mean is not None),
                    key=lambda r: r.delta_m_mean)  # type: ignore[arg-type, return-value]
    for i, r in enumerate(ranked):  # equal values share the better rank
        prev = ranked[i - 1] if i else None
        r.rank = prev.rank if prev and prev.delta_m_mean == r.delta_m_mean else i + 1
    if len(tasks) == 2:
        _mark_pareto([r for r in rows if not r.baseline], tasks)
    return rows


def _mark_pareto(rows: list[VariantRow], tasks: tuple[str, ...]) -> None:
    """Front of the two tasks' headline means (each oriented so that larger is better)."""
    points: dict[int, tuple[float, float]] = {}
    for i, r in enumerate(rows):
        vals = []
        for t in tasks:
            if t not in r.headline:
                break
            metric, higher = r.headline[t]
            v = r.means.get(f"val/{t}/{metric}")
            if v is None or not math.isfinite(v):
                break
            vals.append(v if higher else -v)
        if len(vals) == 2:
            points[i] = (vals[0], vals[1])
    for i, p in points.items():
        dominated = any(q[0] >= p[0] and q[1] >= p[1] and q != p
                        for j, q in points.items() if j != i)
        rows[i].pareto = not dominated


def table_rows(rows: list[VariantRow], varied: tuple[str, ...], tasks: tuple[str, ...],
               results: list[RunResult]) -> tuple[list[str], list[dict[str, Any]]]:
    cols = metric_columns([r for r in results if r.status == RunStatus.COMPLETED], tasks)
    header = ["variant", "baseline", *varied, "n_seeds", "n_runs"]
    for c in cols:
        header += [f"{c}_mean", f"{c}_std"]
    header += ["delta_m_mean", "delta_m_std", "rank"]
    if len(tasks) == 2:
        header.append("pareto")
    out = []
    for r in rows:
        row: dict[str, Any] = {"variant": r.variant, "baseline": r.baseline,
                               "n_seeds": r.n_seeds, "n_runs": r.n_runs,
                               "delta_m_mean": r.delta_m_mean, "delta_m_std": r.delta_m_std,
                               "rank": r.rank}
        row.update({k: r.fields.get(k) for k in varied})
        for c in cols:
            row[f"{c}_mean"] = r.means.get(c)
            row[f"{c}_std"] = r.stds.get(c)
        if len(tasks) == 2:
            row["pareto"] = "" if r.pareto is None else ("yes" if r.pareto else "no")
        out.append(row)
    return header, out
