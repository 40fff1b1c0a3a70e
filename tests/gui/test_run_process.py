"""Where the window trains a lone run: in a child process (the GUI thread's redraws then never hold
the training's interpreter lock), or with MTL_EXPLORER_RUN_IN_THREAD=1 in the worker thread."""

from __future__ import annotations

import pytest
from conftest import tiny_run

import mtl_engine.training as training
from mtl_engine import RUNS_IN_PROCESS
from mtl_gui.run_book import IN_THREAD_ENV


def _train_in_window(qtbot, window):  # noqa: ANN001, ANN202
    s = window.session
    s.edit(tiny_run)
    assert s.problem is None, s.problem
    entry = s.start()
    assert entry is not None
    qtbot.waitUntil(lambda: s.state == "idle", timeout=60_000)
    return entry


def _no_training_here(monkeypatch) -> None:  # noqa: ANN001
    def refuse(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise RuntimeError("trained in the window's own process")

    monkeypatch.setattr(training, "run", refuse)


@pytest.mark.skipif(not RUNS_IN_PROCESS, reason="no fork server on this platform")
def test_a_lone_run_trains_in_a_child_process(qtbot, window, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.delenv(IN_THREAD_ENV, raising=False)
    _no_training_here(monkeypatch)  # the child has the real one
    entry = _train_in_window(qtbot, window)
    assert entry.status == "completed", entry.history.failure
    assert entry.history.n_steps == 12  # 2 epochs of 6 steps, every one shown
    assert set(entry.history.final_metrics) == {"digit", "parity"}


def test_with_the_variable_set_it_trains_in_the_worker_thread(qtbot, window, monkeypatch
                                                              ) -> None:  # noqa: ANN001
    monkeypatch.setenv(IN_THREAD_ENV, "1")
    _no_training_here(monkeypatch)
    entry = _train_in_window(qtbot, window)
    assert entry.status == "failed"
    assert "trained in the window's own process" in entry.history.failure.message


@pytest.mark.skipif(not RUNS_IN_PROCESS, reason="no fork server on this platform")
def test_a_users_imported_file_trains_in_the_child(qtbot, window, tmp_path, monkeypatch
                                                   ) -> None:  # noqa: ANN001
    # the child reads the file by the path the config holds; nothing of the import is
    # needed from the window's process
    monkeypatch.delenv(IN_THREAD_ENV, raising=False)
    rows = ["a,b,kind,size"] + [f"{i % 7},{(i * 3) % 5},{'xy'[i % 2]},{i * 0.5}"
                                for i in range(80)]
    path = tmp_path / "mine.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    s = window.session
    s.document.import_dataset("csv", {"path": str(path),
                                      "tasks": ["kind:binary", "size:regression"]})
    s.edit(lambda d: d["training"].update(epochs=2, batch_size=16, device="cpu"))
    assert s.problem is None, s.problem
    _no_training_here(monkeypatch)
    entry = s.start()
    assert entry is not None
    qtbot.waitUntil(lambda: s.state == "idle", timeout=60_000)
    assert entry.status == "completed", entry.history.failure
    assert set(entry.history.final_metrics) == {"kind", "size"}
