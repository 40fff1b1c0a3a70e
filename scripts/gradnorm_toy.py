"""Run the shipped GradNorm toy study and print its table of normalised losses (issue 13, point 3).

    .venv/bin/python scripts/gradnorm_toy.py                       # into studies/gradnorm_toy
    .venv/bin/python scripts/gradnorm_toy.py --out /tmp/gn --epochs 5
    .venv/bin/python scripts/gradnorm_toy.py --summary studies/gradnorm_toy   # table only

The toy of Chen et al. (ICML 2018, section 4): tasks f_i = sigma_i tanh((B + eps_i) x) with
sigma = (1, 100). The paper judges it by the sum over tasks of the test loss ratios
L_i(t) / L_i(0), which it calls equivalent up to a factor to the sum of the losses normalised by
each task's variance sigma_i^2; this script prints the latter, per strategy: each task's
validation MSE / sigma_i^2 as mean ± std over the study's seeds, and their sum (mean ± std of
the per-seed sums, and each seed's sum); then each task's validation R^2 (the mean over its 100
outputs of each output's R^2): about 0 for a task that learned nothing beyond predicting its mean,
which is where a neglected task stays (its normalised loss then sits at its start, about 0.92).
The study runs in-process, one run at a time (workers 0): about a minute of CPU (15 runs of 20
epochs). Runs already done in the folder are reused (the study's run keys), so a second call is
quick.
"""

from __future__ import annotations

import argparse
import statistics
from collections import defaultdict
from pathlib import Path

from mtl_engine import load_study, run_study, summarize_study
from mtl_engine.events import StudyFinished

STUDY = Path(__file__).resolve().parent.parent / "presets" / "studies" / "gradnorm_toy.yaml"


def _sigmas(folder: Path) -> dict[str, float]:
    """Each task's sigma, from the study's resolved base preset."""
    from mtl_engine import load_preset

    study = load_study(folder / "study.yaml")
    config = load_preset(study.base_path)
    sigmas = list(config.data.params["sigmas"])
    return {t.name: float(s) for t, s in zip(config.tasks, sigmas)}


def normalised_table(folder: Path) -> list[tuple[str, dict[str, tuple[float, float]],
                                               tuple[float, float], list[float],
                                               dict[str, tuple[float, float]]]]:
    """Per multi-task variant: task -> (mean, std) of MSE / sigma^2, (mean, std) of their sum,
    the per-seed sums in seed order, and task -> (mean, std) of its validation R^2."""
    runs, _rows, _tasks = summarize_study(folder)
    sigmas = _sigmas(folder)
    per_variant: dict[str, list[dict[str, float]]] = defaultdict(list)
    r2s: dict[str, list[dict[str, float]]] = defaultdict(list)
    for r in sorted(runs, key=lambda r: r.seed):
        if r.baseline or r.status != "completed":
            continue
        values = {t: r.metrics[f"val/{t}/mse"] / (s * s) for t, s in sigmas.items()}
        per_variant[r.variant].append(values)
        r2s[r.variant].append({t: r.metrics.get(f"val/{t}/r2", float("nan")) for t in sigmas})
    table = []
    for variant, seeds in per_variant.items():
        cols = {}
        for t in sigmas:
            xs = [v[t] for v in seeds]
            cols[t] = (statistics.fmean(xs), statistics.stdev(xs) if len(xs) > 1 else 0.0)
        sums = [sum(v.values()) for v in seeds]
        fit = {t: _mean_std([v[t] for v in r2s[variant]]) for t in sigmas}
        table.append((variant, cols, (statistics.fmean(sums),
                                      statistics.stdev(sums) if len(sums) > 1 else 0.0),
                      sums, fit))
    return table


def _mean_std(xs: list[float]) -> tuple[float, float]:
    return statistics.fmean(xs), statistics.stdev(xs) if len(xs) > 1 else 0.0


def table_markdown(table: list, tasks: list[str], sigmas: dict[str, float]) -> str:
    head = (["strategy"] + [f"{t} MSE/{sigmas[t] ** 2:g}" for t in tasks]
            + ["sum of normalised losses", "sum per seed"] + [f"{t} R^2" for t in tasks])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for variant, cols, (s_mean, s_std), sums, fit in table:
        variant = variant.removeprefix("strategy.name=")  # the study's one varied field
        cells = [f"{cols[t][0]:.4f} ± {cols[t][1]:.4f}" for t in tasks]
        total = f"{s_mean:.4f} ± {s_std:.4f}"
        per_seed = ", ".join(f"{x:.4f}" for x in sums)
        r2_cells = [f"{fit[t][0]:.4f} ± {fit[t][1]:.4f}" for t in tasks]
        lines.append(f"| {variant} | " + " | ".join(cells) + f" | {total} | {per_seed} | "
                     + " | ".join(r2_cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("studies") / "gradnorm_toy")
    ap.add_argument("--study", type=Path, default=STUDY)
    ap.add_argument("--epochs", type=int, help="override training.epochs (a shorter check)")
    ap.add_argument("--summary", type=Path, help="print the table of a study folder, run nothing")
    args = ap.parse_args(argv)
    folder = args.summary
    if folder is None:
        study = load_study(args.study)
        if args.epochs is not None:
            from dataclasses import replace

            study = replace(study, overrides={**study.overrides, "training.epochs": args.epochs})
        folder = args.out
        for event in run_study(study, folder, workers=0):
            if isinstance(event, StudyFinished):
                print(f"study {event.status}: {event.counts} in {event.seconds:.0f} s", flush=True)
    sigmas = _sigmas(folder)
    print(table_markdown(normalised_table(folder), list(sigmas), sigmas), end="")


if __name__ == "__main__":
    main()
