"""The worker thread: events arrive in order, batched, and a run can always be stopped."""

from __future__ import annotations

from conftest import fake_events, replay

import mtl_engine.events as ev
from mtl_gui.worker import RunWorker


def test_events_arrive_in_order_and_in_batches(qtbot) -> None:
    events = fake_events(epochs=10, steps_per_epoch=100, log_every=1)
    worker = RunWorker(replay(events))
    batches: list[list[ev.Event]] = []
    worker.events_arrived.connect(batches.append)
    with qtbot.waitSignal(worker.finished, timeout=20_000):
        worker.start()
    got = [e for batch in batches for e in batch]
    assert got == events
    assert len(batches) < len(events) // 10  # one signal per ~100 ms, not one per event


def test_a_stream_that_just_ends_is_reported_finished(qtbot) -> None:
    def short(control):  # noqa: ANN001, ANN202
        yield from fake_events()[:3]

    worker = RunWorker(short)
    batches: list[list[ev.Event]] = []
    worker.events_arrived.connect(batches.append)
    with qtbot.waitSignal(worker.finished, timeout=10_000):
        worker.start()
    last = batches[-1][-1]
    assert isinstance(last, ev.RunFinished) and last.status == "completed"
    assert last.step == 10  # steps done: the stream logged steps 0 to 9


def test_shutdown_stops_a_paused_run_and_joins(qtbot) -> None:
    worker = RunWorker(replay(fake_events(epochs=100, log_every=1), delay=0.001))
    worker.start()
    worker.pause()
    assert worker.shutdown(10)
    assert not worker.is_running()
