"""steps.csv / epochs.csv: the run folder's files and the GUI's "export curves" of the same run are
the same files (one definition, mtl_engine's curves table), with the values the run logged."""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import pytest
from conftest import fake_events

import mtl_engine
from mtl_engine.events import EpochEnded, StepsLogged
from mtl_engine.runs import read_run
from mtl_gui.curves_csv import export_curves
from mtl_gui.history import history_from_events

CONFIG = {
    "name": "curves",
    "data": {"dataset": "digits", "params": {"image": False}, "val_fraction": 0.25},
    "trunk": [{"type": "linear", "out_features": 16}, {"type": "relu"}],
    "tasks": [{"name": "digit"}, {"name": "parity"}],
    "strategy": {"name": "equal"},
    "optimizer": {"name": "adam", "lr": 0.01, "l2": 1e-4},  # an extra series: extra/l2
    "training": {"epochs": 2, "batch_size": 64, "seed": 3, "device": "cpu", "log_every": 3,
                 "max_steps_per_epoch": 7},
}


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run")
    list(mtl_engine.run(CONFIG, out_dir=out))
    return out


def _read(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


@pytest.mark.parametrize("name", ["steps.csv", "epochs.csv"])
def test_the_gui_export_and_the_run_folder_write_the_same_file(run_folder: Path,
                                                               tmp_path: Path, name: str) -> None:
    history = history_from_events(read_run(run_folder).events)
    export_curves(history, tmp_path, "run1_")
    folder_header, folder_rows = _read(run_folder / name)
    gui_header, gui_rows = _read(tmp_path / f"run1_{name}")
    assert gui_header == folder_header
    assert len(gui_rows) == len(folder_rows) > 0
    for a, b in zip(gui_rows, folder_rows):
        assert [float(x) if x else None for x in a] == [float(x) if x else None for x in b]
    # Same cells too: one writer, one way of spelling a number.
    assert (tmp_path / f"run1_{name}").read_bytes() == (run_folder / name).read_bytes()


def test_the_columns_are_the_documented_ones_with_the_logged_values(run_folder: Path) -> None:
    events = read_run(run_folder).events
    header, rows = _read(run_folder / "steps.csv")
    assert header == ["step", "epoch", "wall", "total", "lr", "loss/digit", "loss/parity",
                      "weight/digit", "weight/parity", "weighted/digit", "weighted/parity",
                      "extra/l2"]
    logged = [e for e in events if isinstance(e, StepsLogged)]
    assert len(rows) == 14 == sum(len(e.steps) for e in logged)  # 2 epochs of 7 steps
    last = logged[-1]
    row = dict(zip(header, rows[-1]))
    assert int(row["step"]) == last.steps[-1] == 13 and int(row["epoch"]) == 1
    assert float(row["loss/parity"]) == last.losses["parity"][-1]
    assert float(row["weighted/digit"]) == last.weighted["digit"][-1]
    assert float(row["extra/l2"]) == last.extra["l2"][-1] > 0
    header, rows = _read(run_folder / "epochs.csv")
    assert header[:6] == ["epoch", "step", "wall", "seconds", "samples_per_sec", "score"]
    assert header[6:10] == ["train_loss/digit", "train_loss/parity", "val_loss/digit",
                            "val_loss/parity"]
    assert "val/parity/accuracy" in header and "val/digit/accuracy" in header
    epochs = [e for e in events if isinstance(e, EpochEnded)]
    first = dict(zip(header, rows[0]))
    assert [int(r[0]) for r in rows] == [1, 2] and int(first["step"]) == 7
    # wall: the last step logged before the epoch ended (step 6, the 7th step)
    step6 = next(e for e in logged if 6 in e.steps)
    assert float(first["wall"]) == step6.wall[step6.steps.index(6)]
    assert float(first["seconds"]) == epochs[0].seconds
    assert float(first["val/parity/accuracy"]) == epochs[0].val_metrics["parity"]["accuracy"]


def test_a_series_first_logged_late_gets_empty_cells_before_it(tmp_path: Path) -> None:
    """(The engine logs the same extra series from a run's first step on; a stream that starts
    one late still exports whole, earlier steps empty.)"""
    events = fake_events(epochs=1, steps_per_epoch=10, log_every=5, grads_every=0)
    second = [k for k, e in enumerate(events) if isinstance(e, StepsLogged)][1]
    events[second] = dataclasses.replace(events[second], extra={"l1": (0.5,) * 5})
    export_curves(history_from_events(events), tmp_path)
    header, rows = _read(tmp_path / "steps.csv")
    assert header[-1] == "extra/l1" and len(rows) == 10
    assert [r[-1] for r in rows] == [""] * 5 + ["0.5"] * 5
    header, rows = _read(tmp_path / "epochs.csv")
    assert float(dict(zip(header, rows[0]))["seconds"]) == pytest.approx(10 * 0.01)
