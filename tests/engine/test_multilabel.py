"""Run-level metrics across the binary tasks (multilabel.py): a 3-label example worked by hand
with missing labels, the run's EpochEnded field, epochs.csv columns, old event files, and
mtl-run's summary."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import pytest
import torch

from mtl_engine import events as ev
from mtl_engine.cli import train
from mtl_engine.curves_table import EpochSeries, EpochsTable
from mtl_engine.multilabel import MULTILABEL_METRICS, multilabel_metrics
from mtl_engine.training import run

from .conftest import tiny

NAN = math.nan

# Rows x labels; a missing label is -1 (int targets) or NaN (float targets), as the losses mask.
#   row 0: guess 1 0 1, true 1 0 0     -> label 2 wrong
#   row 1: guess 0 1 0, true 0 1 0     -> all right
#   row 2: guess 1 1 0, true 1 - 1     -> label 1 missing, label 2 wrong
#   row 3: guess 0 0 0, true - - -     -> nothing present: in no count
# Present cells 8, wrong 2 -> Hamming 1/4. Label 0: TP 2 -> F1 1; label 1: TP 1 -> F1 1;
# label 2: TP 0, FP 1, FN 1 -> F1 0; macro 2/3. Micro: TP 3, FP 1, FN 1 -> 6/8.
# Subset accuracy over rows 0-2: only row 1 -> 1/3.
LOGITS = [[2.0, -2.0, 2.0, -2.0], [-2.0, 2.0, 2.0, -2.0], [2.0, -2.0, -2.0, -2.0]]
TARGETS = [torch.tensor([1, 0, 1, -1]), torch.tensor([0, 1, -1, -1]),
           torch.tensor([0.0, 0.0, 1.0, NAN])]


def test_three_labels_with_missing_cells_by_hand() -> None:
    got = multilabel_metrics([torch.tensor(p) for p in LOGITS], TARGETS)
    assert list(got) == list(MULTILABEL_METRICS)
    assert got == pytest.approx({"hamming_loss": 0.25, "micro_f1": 0.75, "macro_f1": 2 / 3,
                                 "subset_accuracy": 1 / 3})


def test_column_logits_fewer_than_two_labels_and_nothing_present() -> None:
    cols = [torch.tensor(p).reshape(-1, 1) for p in LOGITS]  # heads may give (N, 1)
    assert multilabel_metrics(cols, TARGETS)["micro_f1"] == pytest.approx(0.75)
    assert multilabel_metrics(cols[:1], TARGETS[:1]) == {}
    empty = multilabel_metrics(cols[:2], [torch.full((4,), -1), torch.full((4,), NAN)])
    assert set(empty) == set(MULTILABEL_METRICS) and all(math.isnan(v) for v in empty.values())


def test_no_positive_anywhere_scores_f1_zero_and_hamming_from_the_cells() -> None:
    zeros = [torch.zeros(3, dtype=torch.long)] * 2
    got = multilabel_metrics([torch.tensor([-1.0, -1.0, 1.0]), torch.tensor([-1.0] * 3)], zeros)
    assert got == pytest.approx({"hamming_loss": 1 / 6, "micro_f1": 0.0, "macro_f1": 0.0,
                                 "subset_accuracy": 2 / 3})


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[ev.Event]]:
    out = tmp_path_factory.mktemp("ml") / "run"
    return out, list(run(tiny(), out_dir=out))  # digit (10 classes), parity and ge5 (binary)


def test_a_run_reports_them_at_each_validation(tiny_run) -> None:
    _, events = tiny_run
    epochs = [e for e in events if isinstance(e, ev.EpochEnded)]
    assert len(epochs) == 2
    for e in epochs:
        ml = e.val_multilabel
        assert list(ml) == list(MULTILABEL_METRICS)
        # digits has no missing labels: every row holds both cells, so the run-level numbers
        # follow from the two tasks' own metrics exactly
        acc = [e.val_metrics[t]["accuracy"] for t in ("parity", "ge5")]
        f1 = [e.val_metrics[t]["f1"] for t in ("parity", "ge5")]
        assert ml["hamming_loss"] == pytest.approx(1 - sum(acc) / 2, abs=1e-12)
        assert ml["macro_f1"] == pytest.approx(sum(f1) / 2, abs=1e-6)  # f1: float32
        assert ml["subset_accuracy"] <= min(acc) + 1e-12
        assert ml["subset_accuracy"] >= acc[0] + acc[1] - 1 - 1e-12
        assert 0.0 <= ml["micro_f1"] <= 1.0


def test_epochs_csv_has_a_column_per_run_level_metric(tiny_run) -> None:
    out, events = tiny_run
    with open(out / "epochs.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    epochs = [e for e in events if isinstance(e, ev.EpochEnded)]
    cols = [f"val/_multilabel/{m}" for m in MULTILABEL_METRICS]
    assert list(rows[0])[-4:] == cols
    for row, e in zip(rows, epochs):
        assert [float(row[c]) for c in cols] == [e.val_multilabel[m] for m in MULTILABEL_METRICS]


def test_the_table_leaves_them_out_for_a_run_without_them() -> None:
    e = ev.EpochEnded(1, 3, {"a": 1.0}, {"a": 2.0}, {"a": {"f1": 0.5}}, None, 1.0, 10.0)
    table = EpochsTable.of(["a"], e.val_metrics, e.val_multilabel)
    assert table.header()[-1] == "val/a/f1"
    both = ev.EpochEnded(1, 3, {}, {}, {}, None, 1.0, 10.0, val_multilabel={"micro_f1": 0.25})
    table = EpochsTable.of([], {}, both.val_multilabel)
    assert table.header()[-1] == "val/_multilabel/micro_f1"
    assert table.rows(EpochSeries.of_event(both, wall=2.0))[0][-1] == "0.25"


def test_an_event_written_before_the_field_loads_with_none() -> None:
    line = ('{"event":"EpochEnded","run":"","epoch":1,"step":3,"train_loss":{"a":1.0},'
            '"val_loss":{"a":2.0},"val_metrics":{"a":{"f1":0.5}},"score":null,"seconds":1.0,'
            '"samples_per_sec":10.0}')
    e = ev.from_json(line)
    assert isinstance(e, ev.EpochEnded) and e.val_multilabel == {}
    e2 = ev.from_json(ev.to_json(ev.EpochEnded(1, 3, {}, {}, {}, None, 1.0, 10.0,
                                               val_multilabel={"hamming_loss": 0.5})))
    assert e2.val_multilabel == {"hamming_loss": 0.5}


def test_mtl_run_prints_them_in_its_summary(tmp_path: Path) -> None:
    progress, results = io.StringIO(), io.StringIO()
    assert train(tiny(), tmp_path / "run", stream=progress, results=results) == 0
    text = results.getvalue()
    line = next(ln for ln in text.splitlines() if "binary tasks" in ln)
    final = [e for e in ev_of(tmp_path / "run") if isinstance(e, ev.EpochEnded)][-1]
    assert line == "  across the 2 binary tasks: " + ", ".join(
        f"{m} {final.val_multilabel[m]:.4g}" for m in MULTILABEL_METRICS)


def ev_of(folder: Path) -> list[ev.Event]:
    from mtl_engine.runs import read_run

    return read_run(folder).events
