"""Closing the window while a real engine run trains: the worker is stopped and joined, and the
run folder it leaves reads back as a stopped run (closing event written, model loadable) or as
incomplete, never as a run still going or a half-written folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import tiny_run

import mtl_engine.events as ev
from mtl_engine.export import load_bundle
from mtl_engine.folder_lock import LOCK_FILE
from mtl_engine.runs import INCOMPLETE_FILE, MODEL_FILE, PARTIAL, STEPS_FILE, read_run


def _long_tiny_run(d: dict) -> None:
    tiny_run(d)
    d["training"]["epochs"] = 400  # minutes of training: the close always lands mid-run


def _check_folder(folder: Path, at_least_steps: int) -> None:
    """The folder of a run closed mid-training, checked by the engine's own reader."""
    record = read_run(folder)
    assert record.warnings == []  # no torn line: the closing write was not cut off
    final = record.finished
    assert isinstance(final, ev.RunFinished), final
    assert final.status == "stopped"
    assert not record.incomplete and not (folder / INCOMPLETE_FILE).exists()
    logged = [s for e in record.events if isinstance(e, ev.StepsLogged) for s in e.steps]
    assert len(logged) >= at_least_steps and logged == list(range(len(logged)))
    assert final.step == len(logged)  # steps done = the steps it logged (log_every 1)
    assert record.has_model
    model = load_bundle(folder / MODEL_FILE)
    assert model.status == "stopped"
    x = np.zeros((3, 64), dtype=np.float32)  # digits, flat 8 x 8 images
    out = model.predict(x)
    assert set(out) == {"digit", "parity"} and all(np.all(np.isfinite(v)) for v in out.values())
    names = {p.name for p in folder.iterdir()}
    assert not {n for n in names if n.endswith((".tmp", PARTIAL))}, names  # nothing half-written
    assert LOCK_FILE not in names  # the folder was released: another run may take it
    rows = (folder / STEPS_FILE).read_text(encoding="utf-8").splitlines()
    assert len(rows) == 1 + len(logged)  # the header and one row per logged step


@pytest.mark.parametrize("paused", [False, True])
def test_closing_the_window_mid_run_leaves_a_stopped_readable_folder(qtbot, window,
                                                                     paused: bool) -> None:
    s = window.session
    s.edit(_long_tiny_run)
    assert s.problem is None, s.problem
    entry = s.start()
    assert entry is not None and entry.folder is not None
    worker = s.worker
    qtbot.waitUntil(lambda: entry.history.n_steps >= 5, timeout=60_000)
    if paused:
        window.controls.pause_btn.click()
        assert s.state == "paused"
    assert window.close()
    assert not worker.is_running()  # joined before the window went
    assert s.worker is None and s.state == "idle"
    assert entry.status == "stopped"
    _check_folder(entry.folder, at_least_steps=5)
    # what the window had shown agrees with the folder
    assert entry.history.n_steps == read_run(entry.folder).finished.step


def test_closing_the_window_while_data_is_prepared_leaves_a_consistent_folder(qtbot, window
                                                                              ) -> None:
    """Closed at once after Start, before any step: the folder is a stopped run or marked
    incomplete, and the window never waits on a run that does not end."""
    s = window.session
    s.edit(_long_tiny_run)
    entry = s.start()
    assert entry is not None and entry.folder is not None
    worker = s.worker
    assert window.close()
    assert not worker.is_running() and s.worker is None
    record = read_run(entry.folder)
    assert record.warnings == []
    final = record.finished
    if isinstance(final, ev.RunFinished) and not record.incomplete:
        logged = [st for e in record.events if isinstance(e, ev.StepsLogged) for st in e.steps]
        assert final.status == "stopped" and final.step == len(logged)
        assert record.has_model  # the untrained model is saved like any stopped run's
        assert load_bundle(entry.folder / MODEL_FILE).status == "stopped"
    else:  # a run that could not close its folder says so on disk
        assert (entry.folder / INCOMPLETE_FILE).exists()
    assert not any(p.name.endswith(".tmp") for p in entry.folder.iterdir())
