"""Runs from the window: live plots fill, pause/resume/stop, failures shown, closing mid-run."""

from __future__ import annotations

import numpy as np
from conftest import fake_events, replay, tiny_run

import mtl_engine.events as ev
from mtl_engine.runs import MODEL_FILE, read_run


def _finish(qtbot, window, timeout: int = 60_000) -> None:  # noqa: ANN001
    qtbot.waitUntil(lambda: window.session.state == "idle", timeout=timeout)


def test_a_real_short_run_fills_every_plot_and_the_runs_table(qtbot, window) -> None:
    window.session.edit(tiny_run)
    assert window.session.problem is None, window.session.problem
    window.controls.start_btn.click()
    assert window.session.state == "running"
    assert not window.controls.start_btn.isEnabled()
    _finish(qtbot, window)
    entry = window.session.runs[-1]
    h = entry.history
    assert h.status == "completed"
    assert h.n_steps == 12  # 2 epochs x 6 steps, every step logged
    assert len(h.ep_index) == 2
    window.plots.refresh(force=True)
    loss = window.plots.loss_plot
    assert len(loss._items) == 4  # train and validation curve for each of the two tasks
    x, y = loss._items[f"{entry.uid}/train/digit"].getData()
    assert len(x) == 12 and np.all(np.isfinite(y))
    _, y_val = loss._items[f"{entry.uid}/val/parity"].getData()
    assert len(y_val) == 2
    metric_x, metric_y = next(iter(window.plots.metric_plot._items.values())).getData()
    assert len(metric_y) == 2 and 0.0 <= metric_y[-1] <= 1.0
    assert window.plots.share_plot.last_shares.shape[0] == 2
    # equal weighting: every weight is 1
    assert np.allclose(h.weight["digit"].view, 1.0)
    window.plots.tabs.setCurrentIndex(1)
    window.plots.refresh(force=True)
    assert window.plots.grad_panel.heat.matrix.shape == (2, 2)
    assert np.isclose(window.plots.grad_panel.heat.matrix[0, 0], 1.0)  # a task with itself
    # the run folder is the headless format and replays to the same curves
    assert entry.folder is not None and (entry.folder / MODEL_FILE).exists()
    record = read_run(entry.folder)
    assert isinstance(record.events[-1], ev.RunFinished)
    table = window.runs_panel.table
    assert table.item(0, 6).text() == "completed"
    assert "digit accuracy" in table.item(0, 7).text()
    assert "completed" in window.controls.status.text()


def test_pause_resume_and_stop(qtbot, window) -> None:
    events = fake_events(epochs=4, steps_per_epoch=50, log_every=1, grads_every=0)
    window.session.source_factory = lambda config, out: replay(events, delay=0.003)
    window.session.start()
    qtbot.waitUntil(lambda: window.session.runs[-1].history.n_steps > 5, timeout=10_000)
    window.controls.pause_btn.click()
    assert window.session.state == "paused"
    assert window.controls.pause_btn.text() == "Resume"
    h = window.session.runs[-1].history
    qtbot.wait(200)  # anything already in flight arrives
    paused_at = h.n_steps
    qtbot.wait(300)
    assert h.n_steps == paused_at  # nothing moves while paused
    window.controls.pause_btn.click()
    assert window.session.state == "running"
    qtbot.waitUntil(lambda: h.n_steps > paused_at, timeout=10_000)
    window.controls.stop_btn.click()
    _finish(qtbot, window)
    assert h.status == "stopped"
    assert h.n_steps < 200
    assert window.controls.start_btn.isEnabled()


def test_a_failed_run_is_shown_and_the_app_keeps_working(qtbot, window) -> None:
    events = fake_events(epochs=2, steps_per_epoch=20, fail_at=25)
    window.session.source_factory = lambda config, out: replay(events)
    window.session.start()
    _finish(qtbot, window)
    bar = window.message_bar
    assert bar.level == "error" and not bar.isHidden()
    assert "failed at step 25" in bar.text and "task left" in bar.text
    assert "step 24 was kept" in bar.text
    assert bar.details.endswith("details of the failure")  # after where it failed
    assert window.session.runs[-1].status == "failed"
    assert window.controls.start_btn.isEnabled()


def test_an_exception_in_the_stream_becomes_a_failed_run(qtbot, window) -> None:
    def broken(control):  # noqa: ANN001, ANN202
        yield fake_events()[0]
        raise MemoryError("CUDA out of memory (simulated)")

    window.session.source_factory = lambda config, out: broken
    window.session.start()
    _finish(qtbot, window)
    assert "MemoryError" in window.message_bar.text
    assert "Traceback" in window.message_bar.details
    assert window.session.runs[-1].status == "failed"


def test_closing_mid_run_stops_and_joins_the_worker(qtbot, window) -> None:
    events = fake_events(epochs=50, steps_per_epoch=100, log_every=1, grads_every=0)
    window.session.source_factory = lambda config, out: replay(events, delay=0.002)
    window.session.start()
    worker = window.session.worker
    qtbot.waitUntil(lambda: window.session.runs[-1].history.n_steps > 3, timeout=10_000)
    assert window.close()
    assert not worker.is_running()
    assert window.session.worker is None
    assert window.session.runs[-1].status == "stopped"
