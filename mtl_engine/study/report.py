"""Writing a study's answer: summary.csv, table.csv (full precision), table.md (the table a paper
needs: each task's headline metric as mean ± std, Δm% with its spread, rank, the best value per
column in bold) and the same table as text for a terminal."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

from ..fileio import atomic_write_text
from .summary import (
    SUMMARY_FILE,
    TABLE_FILE,
    TABLE_MD,
    RunResult,
    VariantRow,
    summary_rows,
    table_rows,
    variant_rows,
)


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else str(v)
    if isinstance(v, (list, dict)):
        import json

        return json.dumps(v, separators=(",", ":"))
    return str(v)


def csv_text(header: list[str], rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for row in rows:
        w.writerow([_cell(row.get(h)) for h in header])
    return buf.getvalue()


def write(folder: Path, results: list[RunResult], varied: tuple[str, ...],
          tasks: tuple[str, ...]) -> list[VariantRow]:
    """Write summary.csv, table.csv and table.md into `folder` (atomically); the variant rows."""
    header, rows = summary_rows(results, varied, tasks)
    atomic_write_text(folder / SUMMARY_FILE, csv_text(header, rows))
    vrows = variant_rows(results, tasks)
    header, trows = table_rows(vrows, varied, tasks, results)
    atomic_write_text(folder / TABLE_FILE, csv_text(header, trows))
    atomic_write_text(folder / TABLE_MD, markdown(vrows, tasks))
    return vrows


def _num(v: float | None, digits: int = 4) -> str:
    return "" if v is None else f"{v:.{digits}g}"


def _cells(rows: list[VariantRow], tasks: tuple[str, ...]) -> tuple[list[str], list[list[str]]]:
    headline: dict[str, tuple[str, bool]] = {}
    for r in rows:
        for t, mh in r.headline.items():
            headline.setdefault(t, mh)
    task_cols = [t for t in tasks if t in headline]
    header = ["variant", "n"] + [f"{t} {headline[t][0]} {'↑' if headline[t][1] else '↓'}"
                                 for t in task_cols] + ["Δm% ↓", "rank"]
    pareto = len(tasks) == 2
    if pareto:
        header.append("Pareto")
    best: dict[str, float] = {}
    for t in task_cols:
        metric, higher = headline[t]
        vals = [r.means.get(f"val/{t}/{metric}") for r in rows if not r.baseline]
        vals = [v for v in vals if v is not None and math.isfinite(v)]
        if vals:
            best[t] = max(vals) if higher else min(vals)
    dms = [r.delta_m_mean for r in rows if r.delta_m_mean is not None]
    best_dm = min(dms) if dms else None
    body = []
    for r in rows:
        line = [r.variant, f"{r.n_seeds}/{r.n_runs}"]
        for t in task_cols:
            c = f"val/{t}/{headline[t][0]}"
            m, s = r.means.get(c), r.stds.get(c)
            text = "" if m is None else _num(m) + ("" if s is None else f" ± {_num(s, 2)}")
            if m is not None and not r.baseline and best.get(t) == m:
                text = f"**{text}**"
            line.append(text)
        dm = "" if r.delta_m_mean is None else f"{r.delta_m_mean:+.2f}" + (
            "" if r.delta_m_std is None else f" ± {r.delta_m_std:.2f}")
        if dm and r.delta_m_mean == best_dm:
            dm = f"**{dm}**"
        line += [dm, "" if r.rank is None else str(r.rank)]
        if pareto:
            line.append("" if r.pareto is None else ("yes" if r.pareto else "no"))
        body.append(line)
    return header, body


def markdown(rows: list[VariantRow], tasks: tuple[str, ...]) -> str:
    header, body = _cells(rows, tasks)
    esc = [[c.replace("|", "\\|") for c in line] for line in [header, *body]]
    out = ["| " + " | ".join(esc[0]) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(line) + " |" for line in esc[1:]]
    note = ("\nMean ± std over completed seeds (n = completed / runs). Δm%: mean relative change "
            "of each task's headline metric against its single-task baseline, sign-adjusted so "
            "that lower is better (Maninis et al. 2019). Bold: the best value in its column "
            "among the multi-task variants.\n")
    return "\n".join(out) + "\n" + note


_LATEX = str.maketrans({"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                        "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                        "^": r"\textasciicircum{}", "\\": r"\textbackslash{}"})


def latex(rows: list[VariantRow], tasks: tuple[str, ...]) -> str:
    """The same table as a LaTeX tabular (booktabs), best values in bold, ready for a paper."""
    header, body = _cells(rows, tasks)

    def cell(text: str) -> str:
        bold = text.startswith("**") and text.endswith("**")
        text = text.strip("*").translate(_LATEX)
        text = text.replace("±", r"$\pm$").replace("↑", r"$\uparrow$").replace(
            "↓", r"$\downarrow$").replace("Δ", r"$\Delta$")
        return rf"\textbf{{{text}}}" if bold and text else text

    cols = "l" + "r" * (len(header) - 1)
    lines = [rf"\begin{{tabular}}{{{cols}}}", r"\toprule",
             " & ".join(cell(h) for h in header) + r" \\", r"\midrule"]
    lines += [" & ".join(cell(c) for c in line) + r" \\" for line in body]
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def text_table(rows: list[VariantRow], tasks: tuple[str, ...]) -> str:
    header, body = _cells(rows, tasks)
    body = [[c.replace("**", "") for c in line] for line in body]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    fmt = "  ".join(f"{{:<{w}}}" if i == 0 else f"{{:>{w}}}" for i, w in enumerate(widths))
    lines = [fmt.format(*header), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*line) for line in body]
    return "\n".join(lines)
