"""Run the three shipped MMoE relatedness studies and print one table (issue 13, point 3).

    .venv/bin/python scripts/mmoe_relatedness.py              # into studies/mmoe_*_relatedness
    .venv/bin/python scripts/mmoe_relatedness.py --out /tmp/mm --epochs 2
    .venv/bin/python scripts/mmoe_relatedness.py --summary    # the tables of studies/, no training

Ma et al. (KDD 2018, section 5.3, Fig. 4) compare MMoE with a shared-bottom (hard sharing) model on
their synthetic data at several task correlations p and find the MoE models ahead at every p, and
MMoE's loss nearly unchanged as p falls while the shared bottom's grows. The studies
mmoe_full_relatedness (p = 1.0), mmoe_mid_relatedness (0.5) and mmoe_low_relatedness (0.1) train
hard sharing, MMoE and cross-stitch at about equal parameter counts, three seeds each, with
single-task baselines at the same p (one study per p, because a study's single-task baselines take
only its overrides, not a grid's data values). This prints, per p and scheme, each task's
validation MSE and their per-seed sum as mean ± std over seeds, and Δm% against the baselines.
Every study runs in this process, one run at a time (workers 0): a few minutes of CPU in all.
Runs already done in a folder are reused (the study's run keys), so a second call is quick.
"""

from __future__ import annotations

import argparse
import statistics
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from mtl_engine import load_study, run_study, summarize_study
from mtl_engine.events import StudyFinished

STUDIES_DIR = Path(__file__).resolve().parent.parent / "presets" / "studies"
STUDIES = ("mmoe_full_relatedness", "mmoe_mid_relatedness", "mmoe_low_relatedness")
TASKS = ("y1", "y2")
SCHEME_ORDER = ("hard", "mmoe", "cross_stitch", "single task")


def _mean_std(xs: Sequence[float]) -> tuple[float, float]:
    return statistics.fmean(xs), (statistics.stdev(xs) if len(xs) > 1 else 0.0)


def study_rows(folder: Path) -> list[dict]:
    """One row per scheme of a study folder: p, scheme, seeds, (mean, std) per task, sum, Δm%."""
    study = load_study(folder / "study.yaml")
    p = float(study.overrides["data.params.correlation"])
    runs, _rows, _tasks = summarize_study(folder)
    groups: dict[str, list] = defaultdict(list)
    baselines: dict[str, list[float]] = defaultdict(list)
    for r in runs:
        if r.status != "completed":
            continue
        if r.baseline:
            baselines[r.baseline].append(r.metrics[f"val/{r.baseline}/mse"])
        else:
            groups[str(r.fields.get("sharing.scheme", r.variant))].append(r)
    out = []
    for scheme, members in groups.items():
        row = {"p": p, "scheme": scheme, "seeds": len(members)}
        for t in TASKS:
            row[t] = _mean_std([r.metrics[f"val/{t}/mse"] for r in members])
        row["sum"] = _mean_std([sum(r.metrics[f"val/{t}/mse"] for t in TASKS) for r in members])
        dms = [r.delta_m for r in members if r.delta_m is not None]
        row["delta_m"] = _mean_std(dms) if len(dms) == len(members) else None
        out.append(row)
    if all(baselines.get(t) for t in TASKS):  # each task alone: its own network per task
        n = min(len(baselines[t]) for t in TASKS)
        row = {"p": p, "scheme": "single task", "seeds": n, "delta_m": None}
        for t in TASKS:
            row[t] = _mean_std(baselines[t])
        row["sum"] = _mean_std([baselines["y1"][i] + baselines["y2"][i] for i in range(n)])
        out.append(row)
    order = {s: i for i, s in enumerate(SCHEME_ORDER)}
    return sorted(out, key=lambda r: order.get(r["scheme"], len(order)))


def table_markdown(rows: list[dict]) -> str:
    head = ["p", "scheme", "y1 val MSE", "y2 val MSE", "sum", "Δm%", "seeds"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [f"{r['p']:g}", r["scheme"]]
        cells += [f"{r[k][0]:.4f} ± {r[k][1]:.4f}" for k in (*TASKS, "sum")]
        dm = r["delta_m"]
        cells += ["" if dm is None else f"{dm[0]:+.1f} ± {dm[1]:.1f}", str(r["seeds"])]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def gaps_text(rows: list[dict]) -> str:
    """Hard sharing's summed MSE against MMoE's, per p (the paper: the gap grows as p falls)."""
    by_p: dict[float, dict[str, float]] = defaultdict(dict)
    for r in rows:
        by_p[r["p"]][r["scheme"]] = r["sum"][0]
    lines = []
    for p in sorted(by_p, reverse=True):
        s = by_p[p]
        if "hard" in s and "mmoe" in s and s["mmoe"] > 0:
            lines.append(f"p = {p:g}: hard - MMoE = {s['hard'] - s['mmoe']:+.4f}, "
                         f"hard / MMoE = {s['hard'] / s['mmoe']:.2f}")
    return "\n".join(lines) + ("\n" if lines else "")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("studies"),
                    help="the folder that holds one study folder per p (default: studies)")
    ap.add_argument("--epochs", type=int, help="override training.epochs (a shorter check)")
    ap.add_argument("--seeds", type=int, help="only the first N seeds of each study")
    ap.add_argument("--summary", action="store_true", help="print the tables, train nothing")
    args = ap.parse_args(argv)
    rows: list[dict] = []
    for name in STUDIES:
        folder = args.out / name
        if not args.summary:
            from dataclasses import replace

            study = load_study(STUDIES_DIR / f"{name}.yaml")
            if args.epochs is not None:
                study = replace(study, overrides={**study.overrides,
                                                  "training.epochs": args.epochs})
            if args.seeds is not None:
                study = replace(study, seeds=study.seeds[:args.seeds])
            for event in run_study(study, folder, workers=0):
                if isinstance(event, StudyFinished):
                    counts = ", ".join(f"{n} {status}" for status, n in event.counts.items())
                    print(f"{name}: {event.status} ({counts}) in {event.seconds:.0f} s",
                          flush=True)
        rows += study_rows(folder)
    print(table_markdown(rows), end="")
    print(gaps_text(rows), end="")


if __name__ == "__main__":
    main()
