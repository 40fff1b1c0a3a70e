"""A run with 2+ binary tasks: the GUI's "export curves" writes the run folder's epochs.csv,
run-level multi-label columns (val/_multilabel/<metric>) included."""

from __future__ import annotations

from pathlib import Path

import mtl_engine
from mtl_engine.runs import read_run
from mtl_gui.curves_csv import export_curves
from mtl_gui.history import history_from_events

CONFIG = {
    "name": "multilabel",
    "data": {"dataset": "digits", "params": {"image": False}, "val_fraction": 0.25},
    "trunk": [{"type": "linear", "out_features": 8}, {"type": "relu"}],
    "tasks": [{"name": "parity"}, {"name": "ge5"}],  # two binary tasks
    "training": {"epochs": 2, "batch_size": 64, "seed": 1, "device": "cpu", "log_every": 3,
                 "max_steps_per_epoch": 3},
}


def test_the_export_has_the_run_level_columns_of_the_run_folder(tmp_path: Path) -> None:
    out = tmp_path / "run"
    list(mtl_engine.run(CONFIG, out_dir=out))
    history = history_from_events(read_run(out).events)
    assert list(history.val_multilabel) == ["hamming_loss", "micro_f1", "macro_f1",
                                            "subset_accuracy"]
    export_curves(history, tmp_path, "gui_")
    folder = (out / "epochs.csv").read_text(encoding="utf-8")
    assert "val/_multilabel/subset_accuracy" in folder.splitlines()[0]
    assert (tmp_path / "gui_epochs.csv").read_text(encoding="utf-8") == folder
