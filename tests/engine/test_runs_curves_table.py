"""steps.csv / epochs.csv as curves_table.py defines them: columns, cells, and a run folder that a
hand-made event stream writes through RunRecorder, row by row as hand-computed here."""

from __future__ import annotations

import math

from mtl_engine import events as ev
from mtl_engine.config import to_dict
from mtl_engine.curves_table import (
    EpochSeries,
    EpochsTable,
    StepSeries,
    StepsTable,
    cell,
    csv_text,
)
from mtl_engine.runs import RunRecorder

from .conftest import tiny


def test_cells_spell_integers_floats_and_no_value() -> None:
    assert [cell(3), cell(2.5), cell(0.1), cell(1e-30), cell(-math.inf)] == [
        "3", "2.5", "0.1", "1e-30", "-inf"]
    assert cell(None) == "" and cell(math.nan) == ""  # no value: an empty cell


def test_a_block_of_steps_gives_one_row_a_step_in_the_header_order() -> None:
    e = ev.StepsLogged(steps=(4, 5), epoch=1, wall=(0.5, 0.75), losses={"a": (1.0, 2.0)},
                       weights={"a": (0.5, 0.25)}, weighted={"a": (0.5, 0.5)},
                       total=(0.5, 0.5), lr=(0.01,), extra={"l2": (0.125, 0.25)})
    table = StepsTable.of(["a", "b"], e.extra)
    assert table.header() == ["step", "epoch", "wall", "total", "lr", "loss/a", "loss/b",
                              "weight/a", "weight/b", "weighted/a", "weighted/b", "extra/l2"]
    # task b logged nothing, and lr has one value for two steps: empty cells, not a crash
    assert table.rows(StepSeries.of_event(e)) == [
        ["4", "1", "0.5", "0.5", "0.01", "1.0", "", "0.5", "", "0.5", "", "0.125"],
        ["5", "1", "0.75", "0.5", "", "2.0", "", "0.25", "", "0.5", "", "0.25"]]


def test_an_epoch_row_has_its_wall_time_and_every_metric_of_the_first_epoch() -> None:
    e = ev.EpochEnded(epoch=2, step=40, train_loss={"a": 1.5, "b": 2.0},
                      val_loss={"a": 1.25, "b": math.nan},
                      val_metrics={"a": {"accuracy": 0.75, "f1": 0.5}, "b": {"mae": 3.0}},
                      score=None, seconds=4.0, samples_per_sec=800.0)
    table = EpochsTable.of(["a", "b"], e.val_metrics)
    assert table.header() == ["epoch", "step", "wall", "seconds", "samples_per_sec", "score",
                              "train_loss/a", "train_loss/b", "val_loss/a", "val_loss/b",
                              "val/a/accuracy", "val/a/f1", "val/b/mae"]
    assert table.rows(EpochSeries.of_event(e, wall=9.5)) == [
        ["2", "40", "9.5", "4.0", "800.0", "", "1.5", "2.0", "1.25", "", "0.75", "0.5", "3.0"]]
    assert csv_text([["a", "b,c"], ["1", ""]]) == 'a,"b,c"\n1,\n'


def test_a_run_folder_gets_the_tables_rows_as_its_events_come(tmp_path) -> None:
    infos = tuple(ev.TaskInfo(t, "classification", 10, "cross_entropy", "accuracy", True,
                              ("accuracy",)) for t in ("digit", "parity"))
    started = ev.RunStarted(config=to_dict(tiny()), tasks=infos, param_counts={}, device="cpu",
                            steps_per_epoch=3, total_steps=3, train_size=10, val_size=5,
                            started_at=0.0)

    def block(steps: tuple[int, ...], tasks: tuple[str, ...]) -> ev.StepsLogged:
        losses = {t: tuple(float(s + k) for s in steps) for k, t in enumerate(tasks)}
        return ev.StepsLogged(steps=steps, epoch=0, wall=tuple(0.5 * (s + 1) for s in steps),
                              losses=losses, weights={t: (1.0,) * len(steps) for t in tasks},
                              weighted=losses, total=(9.0,) * len(steps),
                              lr=(0.1,) * len(steps))

    recorder = RunRecorder(tmp_path / "run")
    for e in (started, block((0, 1), ("digit", "parity")), block((2,), ("digit",)),
              ev.EpochEnded(1, 3, {"digit": 1.0, "parity": 2.0}, {"digit": 1.5, "parity": 2.5},
                            {"digit": {"accuracy": 0.5}, "parity": {"accuracy": 0.75}}, 0.625,
                            2.0, 100.0)):
        recorder.record(e)
    recorder.finish(ev.RunFinished("completed", 3, 1, 2.0, {}), None)
    steps = (tmp_path / "run" / "steps.csv").read_text(encoding="utf-8")
    assert steps == ("step,epoch,wall,total,lr,loss/digit,loss/parity,weight/digit,"
                     "weight/parity,weighted/digit,weighted/parity\n"
                     "0,0,0.5,9.0,0.1,0.0,1.0,1.0,1.0,0.0,1.0\n"
                     "1,0,1.0,9.0,0.1,1.0,2.0,1.0,1.0,1.0,2.0\n"
                     "2,0,1.5,9.0,0.1,2.0,,1.0,,2.0,\n")  # parity missed step 2
    epochs = (tmp_path / "run" / "epochs.csv").read_text(encoding="utf-8")
    assert epochs == ("epoch,step,wall,seconds,samples_per_sec,score,train_loss/digit,"
                      "train_loss/parity,val_loss/digit,val_loss/parity,val/digit/accuracy,"
                      "val/parity/accuracy\n"
                      "1,3,1.5,2.0,100.0,0.625,1.0,2.0,1.5,2.5,0.5,0.75\n")
