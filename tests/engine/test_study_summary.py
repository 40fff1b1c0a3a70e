"""Δm% and the study tables, against hand-computed values (run folders written by hand)."""

from __future__ import annotations

import math
import statistics

import pytest

from mtl_engine.events import EpochEnded, RunFinished, RunStarted, TaskInfo, to_json
from mtl_engine.study import delta_m
from mtl_engine.study.report import markdown
from mtl_engine.study.summary import collect, table_rows, variant_rows

ACC = ("accuracy", True)
MSE = ("mse", False)


def test_delta_m_by_hand_with_both_directions():
    # a: accuracy (higher is better), baseline 0.85; b: MSE (lower is better), baseline 0.25
    # 100/2 * ( -(0.884 - 0.85)/0.85 + (0.2 - 0.25)/0.25 ) = 50 * (-0.04 - 0.2) = -12
    got = delta_m({"a": 0.884, "b": 0.2}, {"a": 0.85, "b": 0.25}, {"a": True, "b": False})
    assert got == pytest.approx(-12.0)
    # worse on both: accuracy 0.765 (-10 %), MSE 0.3 (+20 %): 50 * (0.1 + 0.2) = +15
    got = delta_m({"a": 0.765, "b": 0.3}, {"a": 0.85, "b": 0.25}, {"a": True, "b": False})
    assert got == pytest.approx(15.0)
    assert delta_m({"a": 0.9, "b": 0.2}, {"a": 0.85}, {"a": True, "b": False}) is None
    assert delta_m({"a": 0.9}, {"a": 0.0}, {"a": True}) is None  # B = 0: undefined


def _write_run(folder, tasks, epochs, status="completed"):
    """A run folder as a run leaves it: events.jsonl with RunStarted, EpochEnded, RunFinished."""
    folder.mkdir(parents=True)
    infos = tuple(TaskInfo(t, "classification" if h else "regression", 1, "x", m, h, (m,))
                  for t, (m, h) in tasks.items())
    lines = [RunStarted({"name": "x"}, infos, {"total": 1}, "cpu", 1, 1, 1, 1)]
    for i, (metrics, score) in enumerate(epochs, 1):
        lines.append(EpochEnded(i, i, {}, {t: 1.0 / i for t in tasks},
                                {t: {tasks[t][0]: v} for t, v in metrics.items()}, score, 1.0,
                                1.0))
    lines.append(RunFinished(status, len(epochs), len(epochs), 1.0, {}))
    (folder / "events.jsonl").write_text("".join(to_json(e) + "\n" for e in lines))


def _study(tmp_path, select="final"):
    """Two tasks (a: accuracy, b: MSE), two seeds; variants X and Y; baselines for a and b."""
    both = {"a": ACC, "b": MSE}
    runs = {
        ("X", 0, ""): (both, [({"a": 0.50, "b": 0.90}, None), ({"a": 0.884, "b": 0.20}, None)]),
        ("X", 1, ""): (both, [({"a": 0.800, "b": 0.25}, None)]),
        ("Y", 0, ""): (both, [({"a": 0.765, "b": 0.30}, None)]),
        ("Y", 1, ""): (both, [({"a": 0.850, "b": 0.30}, None)]),
        ("single_task:a", 0, "a"): ({"a": ACC}, [({"a": 0.80}, 0.80)]),
        ("single_task:a", 1, "a"): ({"a": ACC}, [({"a": 0.95}, 0.95), ({"a": 0.90}, 0.90)]),
        ("single_task:b", 0, "b"): ({"b": MSE}, [({"b": 0.20}, None)]),
        ("single_task:b", 1, "b"): ({"b": MSE}, [({"b": 0.30}, None)]),
    }
    records = []
    for i, ((variant, seed, baseline), (tasks, epochs)) in enumerate(runs.items()):
        key = f"k{i:02d}"
        _write_run(tmp_path / "runs" / key, tasks, epochs)
        records.append({"key": key, "variant": variant, "seed": seed, "baseline": baseline,
                        "fields": {}, "folder": f"runs/{key}"})
    records.append({"key": "missing", "variant": "Y", "seed": 2, "baseline": "",
                    "fields": {}, "folder": "runs/missing"})
    return collect(tmp_path, records, select)


def test_collect_and_table_by_hand(tmp_path):
    results = _study(tmp_path)
    by = {(r.variant, r.seed): r for r in results}
    assert by[("Y", 2)].status == "not run" and by[("Y", 2)].delta_m is None
    # baselines (final epochs): a = mean(0.80, 0.90) = 0.85; b = mean(0.20, 0.30) = 0.25
    assert by[("X", 0)].delta_m == pytest.approx(-12.0)  # the case above
    x1 = 50 * (-(0.8 - 0.85) / 0.85 + 0)  # b equals its baseline
    assert by[("X", 1)].delta_m == pytest.approx(x1)
    assert by[("Y", 0)].delta_m == pytest.approx(15.0)
    y1 = 50 * (0 + (0.3 - 0.25) / 0.25)
    assert by[("Y", 1)].delta_m == pytest.approx(y1)
    assert by[("single_task:a", 0)].delta_m is None

    rows = {r.variant: r for r in variant_rows(results, ("a", "b"))}
    x, y = rows["X"], rows["Y"]
    assert (x.n_seeds, x.n_runs, y.n_seeds, y.n_runs) == (2, 2, 2, 3)
    assert x.means["val/a/accuracy"] == pytest.approx((0.884 + 0.8) / 2)
    assert x.stds["val/a/accuracy"] == pytest.approx(statistics.stdev([0.884, 0.8]))
    assert x.delta_m_mean == pytest.approx((-12.0 + x1) / 2)
    assert x.delta_m_std == pytest.approx(statistics.stdev([-12.0, x1]))
    assert y.delta_m_mean == pytest.approx((15.0 + y1) / 2)
    assert (x.rank, y.rank) == (1, 2)
    assert rows["single_task:a"].rank is None and rows["single_task:a"].pareto is None
    # X: a 0.842, b 0.225; Y: a 0.8075, b 0.30 -> X dominates Y
    assert (x.pareto, y.pareto) == (True, False)
    assert rows["single_task:b"].means["val/b/mse"] == pytest.approx(0.25)

    header, trows = table_rows(list(rows.values()), (), ("a", "b"), results)
    assert header[:4] == ["variant", "baseline", "n_seeds", "n_runs"]
    assert {"val/a/accuracy_mean", "val/a/accuracy_std", "val/b/mse_mean", "delta_m_mean",
            "delta_m_std", "rank", "pareto"} <= set(header)
    md = markdown(list(rows.values()), ("a", "b"))
    assert "| X | 2/2 | **0.842 ± 0.059** | **0.225 ± 0.035** |" in md
    assert f"**{x.delta_m_mean:+.2f} ± {x.delta_m_std:.2f}**" in md


def test_select_best_reads_the_best_scored_epoch(tmp_path):
    results = _study(tmp_path, select="best")
    by = {(r.variant, r.seed): r for r in results}
    a1 = by[("single_task:a", 1)]
    assert (a1.epoch, a1.metrics["val/a/accuracy"]) == (1, 0.95)  # score 0.95 beats 0.90
    # no score (MSE is lower-is-better): the lowest mean validation loss, the last epoch here
    assert by[("X", 0)].epoch == 2


def test_a_pareto_front_of_equal_points_keeps_both(tmp_path):
    results = _study(tmp_path)
    for r in results:
        if r.variant == "Y":
            r.metrics = {"val/a/accuracy": 0.842, "val/b/mse": 0.225}
            r.delta_m = 0.0
        if r.variant == "X":
            r.metrics = {"val/a/accuracy": 0.842, "val/b/mse": 0.225}
            r.delta_m = 0.0
    rows = {r.variant: r for r in variant_rows(results, ("a", "b"))}
    assert rows["X"].pareto and rows["Y"].pareto
    assert rows["X"].rank == rows["Y"].rank == 1  # ties share the better rank
    assert not math.isnan(rows["X"].means["val/a/accuracy"])


def test_latex_table_escapes_and_marks_the_best(tmp_path):
    from mtl_engine.study.report import latex

    rows = variant_rows(_study(tmp_path), ("a", "b"))
    tex = latex(rows, ("a", "b"))
    assert tex.startswith("\\begin{tabular}{lrrrrrr}\n\\toprule\n")
    assert "single\\_task:a" in tex and "$\\Delta$m\\%" in tex
    assert "X & 2/2 & \\textbf{0.842 $\\pm$ 0.059} & \\textbf{0.225 $\\pm$ 0.035}" in tex
    assert tex.rstrip().endswith("\\bottomrule\n\\end{tabular}")
    assert tex.count("\\\\\n") == 1 + len(rows)  # the header and one line per variant
