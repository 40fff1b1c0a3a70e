"""run_in_process: a lone run trained in a child process gives the events run() gives, honours
stop and pause from the caller's RunControl, and reports a child that died."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import threading
import time

import pytest

import mtl_engine.events as ev
from mtl_engine import INCOMPLETE_FILE, MODEL_FILE, RUNS_IN_PROCESS, RunControl, run, run_in_process
from mtl_engine.errors import ArgumentError, ConfigError

from .conftest import tiny

pytestmark = pytest.mark.skipif(not RUNS_IN_PROCESS, reason="no fork server on this platform")


def _losses(events: list[ev.Event]) -> list[float]:
    return [float(x) for e in events if isinstance(e, ev.StepsLogged)
            for row in e.losses.values() for x in row]


def test_the_same_events_as_a_run_in_this_process(tmp_path) -> None:  # noqa: ANN001
    config = tiny(training={"threads": 1})
    here = list(run(config, None, tmp_path / "here"))
    there = list(run_in_process(config, None, tmp_path / "there"))
    assert [type(e).__name__ for e in there] == [type(e).__name__ for e in here]
    assert there[-1].status == ev.RunStatus.COMPLETED
    assert len(_losses(there)) > 10
    assert _losses(there) == pytest.approx(_losses(here), rel=1e-6)  # same seed, one thread
    assert there[-1].final_metrics.keys() == here[-1].final_metrics.keys()
    for task, metrics in here[-1].final_metrics.items():
        assert there[-1].final_metrics[task] == pytest.approx(metrics, rel=1e-6)
    assert (tmp_path / "there" / MODEL_FILE).is_file()


def test_a_stop_request_ends_the_run_with_its_model_saved(tmp_path) -> None:  # noqa: ANN001
    config = tiny(training={"epochs": 50, "max_steps_per_epoch": 20})
    control = RunControl()
    events = []
    for event in run_in_process(config, control, tmp_path):
        events.append(event)
        if isinstance(event, ev.StepsLogged):
            control.stop()
    assert events[-1].status == ev.RunStatus.STOPPED
    assert events[-1].epoch < 50
    assert (tmp_path / MODEL_FILE).is_file()


def test_a_run_paused_from_the_start_trains_only_once_resumed(tmp_path) -> None:  # noqa: ANN001
    control = RunControl()
    control.pause()
    events: list[ev.Event] = []
    reader = threading.Thread(target=lambda: events.extend(
        run_in_process(tiny(), control, tmp_path)))
    reader.start()
    time.sleep(1.5)  # long enough to train all 20 steps of this run, were it not paused
    logged_while_paused = [e for e in events if isinstance(e, ev.StepsLogged)]
    control.resume()
    reader.join(60)
    assert not reader.is_alive()
    assert logged_while_paused == []
    assert events[-1].status == ev.RunStatus.COMPLETED
    assert events[-1].step == 20


def test_a_child_killed_mid_run_is_a_failed_run(tmp_path) -> None:  # noqa: ANN001
    config = tiny(training={"epochs": 500, "max_steps_per_epoch": 20})
    events = []
    killed = False
    for event in run_in_process(config, None, tmp_path):
        events.append(event)
        if isinstance(event, ev.StepsLogged) and not killed:
            (child,) = [p for p in mp.active_children() if p.name == "mtl-run"]
            os.kill(child.pid, signal.SIGKILL)
            killed = True
    assert isinstance(events[-1], ev.RunFailed)
    assert events[-1].error_type == "WorkerDied"
    assert "exit code -9" in events[-1].message and "marked incomplete" in events[-1].message
    logged = [s for e in events if isinstance(e, ev.StepsLogged) for s in e.steps]
    assert events[-1].step == logged[-1] + 1  # the steps it had logged
    assert (tmp_path / INCOMPLETE_FILE).exists()  # as the message says
    assert not [p for p in mp.active_children() if p.name == "mtl-run"]


def test_arguments_are_checked_before_any_process_starts(tmp_path) -> None:  # noqa: ANN001
    with pytest.raises(ArgumentError, match="control"):
        run_in_process(tiny(), control="stop")
    with pytest.raises(ConfigError, match="strategy"):
        run_in_process({**tiny().to_dict(), "strategy": {"name": "no_such_method"}})
    assert not [p for p in mp.active_children() if p.name == "mtl-run"]



def test_what_the_child_cannot_start_is_a_failed_run_naming_it() -> None:
    # a config the child refuses (here one that skipped the caller's checks): its error, with
    # the child's traceback, as the run's end
    from mtl_engine.process_run import _stream

    config = {**tiny().to_dict(), "strategy": {"name": "no_such_method"}}
    events = list(_stream(config, RunControl(), None, False, "k"))
    assert len(events) == 1 and isinstance(events[0], ev.RunFailed)
    failed = events[0]
    assert failed.error_type == "UnknownNameError" and "no_such_method" in failed.message
    assert "Traceback" in failed.details and failed.run == "k" and failed.step == 0
