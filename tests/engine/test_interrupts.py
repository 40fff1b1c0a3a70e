"""Ctrl-C and SIGTERM stop `mtl-run` through the window's Stop path; a second one aborts.

The runs are real subprocesses of `python -m mtl_engine` on a tiny preset that would train for
hours; a signal is sent once the first epoch line shows training has begun.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import torch

from mtl_engine import training
from mtl_engine.cli import main
from mtl_engine.events import RunFinished, StepsLogged
from mtl_engine.export import load_bundle
from mtl_engine.presets import save
from mtl_engine.runs import INCOMPLETE_FILE, LOCK_FILE, read_run

from .conftest import tiny

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def _endless_preset(tmp_path: Path) -> Path:
    cfg = tiny(training={"epochs": 100_000, "max_steps_per_epoch": 10, "log_every": 5})
    return save(cfg, tmp_path / "endless.yaml")


def _start(tmp_path: Path, out: Path) -> tuple[subprocess.Popen, list[str]]:
    """Start mtl-run and return once it has printed its first epoch line."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "mtl_engine", str(_endless_preset(tmp_path)), "--out", str(out)],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.stderr is not None
    seen: list[str] = []
    for line in proc.stderr:
        seen.append(line)
        if line.startswith("  epoch 1/"):
            return proc, seen
    proc.wait(60)
    pytest.fail(f"mtl-run ended before training began:\n{''.join(seen)}")


def _finish(proc: subprocess.Popen, seen: list[str]) -> tuple[int, str]:
    try:
        _, rest = proc.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    return proc.returncode, "".join(seen) + rest


def _assert_clean_stop(out: Path, err: str, who: str) -> None:
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    record = read_run(out)
    closing = record.events[-1]
    assert isinstance(closing, RunFinished) and closing.status == "stopped"
    assert closing.step >= 10  # the first epoch had ended
    steps = [s for e in record.events if isinstance(e, StepsLogged) for s in e.steps]
    assert steps == list(range(closing.step))
    assert last == (f"mtl-run: stopped by {who} at step {closing.step}; model saved to "
                    f"{out / 'model.pt'}")
    assert not record.incomplete and record.warnings == []
    loaded = load_bundle(out / "model.pt")
    assert loaded.status == "stopped"
    assert all(torch.isfinite(p).all() for p in loaded.model.parameters())
    # every file is under its own name: no lock, marker, partial CSV or temporary file is left
    assert sorted(p.name for p in out.iterdir()) == [
        "config.yaml", "epochs.csv", "events.jsonl", "model.pt", "split.json", "steps.csv"]
    rows = (out / "steps.csv").read_text().splitlines()
    assert len(rows) == closing.step + 1  # a header and one row per step run


@pytest.mark.parametrize(("sig", "who", "code"),
                         [(signal.SIGINT, "Ctrl-C", 130), (signal.SIGTERM, "SIGTERM", 143)])
def test_a_signal_stops_the_run_and_saves_the_model(tmp_path: Path, sig: int, who: str,
                                                    code: int) -> None:
    out = tmp_path / "run"
    proc, seen = _start(tmp_path, out)
    proc.send_signal(sig)
    rc, err = _finish(proc, seen)
    assert rc == code, err
    _assert_clean_stop(out, err, who)


def test_a_second_signal_aborts_at_once_and_marks_the_folder(tmp_path: Path) -> None:
    # Frozen with SIGSTOP, the process receives SIGINT and SIGTERM together when it resumes, so
    # its handlers see a second signal while the first stop is still pending, every time.
    out = tmp_path / "run"
    proc, seen = _start(tmp_path, out)
    proc.send_signal(signal.SIGSTOP)
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGTERM)
    proc.send_signal(signal.SIGCONT)
    rc, err = _finish(proc, seen)
    assert rc == 143, err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("mtl-run: aborted by a second SIGTERM at step ")
    assert last.endswith(f"; {out} is marked incomplete")
    assert (out / INCOMPLETE_FILE).exists() and not (out / LOCK_FILE).exists()
    assert not (out / "model.pt").exists()
    assert not [p for p in out.iterdir() if p.name.endswith((".partial", ".tmp"))]
    record = read_run(out)  # what was logged replays, and reads as incomplete
    assert record.incomplete and record.finished is None
    assert any(isinstance(e, StepsLogged) for e in record.events)


@pytest.fixture
def keep_signal_handlers():
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    yield
    for s, h in saved.items():
        signal.signal(s, h)


def _interrupting(times: int, after_logs: int):
    """training.run, but it delivers `times` SIGINTs to this process after `after_logs` logs."""
    real = training.run

    def fake(*args, **kwargs):
        gen = real(*args, **kwargs)
        logs = 0
        try:
            for event in gen:
                yield event
                if isinstance(event, StepsLogged):
                    logs += 1
                    if logs == after_logs:
                        for _ in range(times):
                            signal.raise_signal(signal.SIGINT)  # its handler runs right here
        finally:
            gen.close()

    return fake


def test_a_second_ctrl_c_aborts_without_a_traceback(tmp_path, capsys, monkeypatch,
                                                    keep_signal_handlers) -> None:
    monkeypatch.setattr(training, "run", _interrupting(times=2, after_logs=3))
    out = tmp_path / "run"
    assert main([str(_endless_preset(tmp_path)), "--out", str(out), "--quiet"]) == 130
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == (
        f"mtl-run: aborted by a second Ctrl-C at step 15; {out} is marked incomplete")
    record = read_run(out)
    assert record.incomplete and record.finished is None
    assert [s for e in record.events if isinstance(e, StepsLogged) for s in e.steps] == \
        list(range(15))
    assert sorted(p.name for p in out.iterdir()) == ["INCOMPLETE", "config.yaml", "events.jsonl",
                                                     "split.json"]


def test_one_ctrl_c_in_process_stops_at_the_next_step(tmp_path, capsys, monkeypatch,
                                                      keep_signal_handlers) -> None:
    monkeypatch.setattr(training, "run", _interrupting(times=1, after_logs=2))
    out = tmp_path / "run"
    assert main([str(_endless_preset(tmp_path)), "--out", str(out), "--quiet"]) == 130
    err = capsys.readouterr().err
    # the stop is seen before step 10: steps 0-9 ran, and the model is the one after them
    _assert_clean_stop(out, err, "Ctrl-C")
    assert read_run(out).events[-1].step == 10



def test_the_per_step_pause_check_takes_no_lock_a_signal_handler_needs() -> None:
    # mtl-run's Ctrl-C handler calls RunControl.stop() on the thread that runs the loop, so the
    # loop's per-step check must not take the lock stop() takes (Event.set): were the signal to
    # land inside it, the handler would wait for its own thread forever. Here the lock is held
    # elsewhere; a check that needed it would not return.
    from mtl_engine.control import RunControl

    control = RunControl()
    returned = threading.Event()
    checker = threading.Thread(target=lambda: (control.wait_while_paused(), returned.set()),
                               daemon=True)
    with control._running._cond:  # the lock Event.set() and Event.wait() take
        checker.start()
        checker.join(5)
        assert returned.is_set(), "wait_while_paused took the event's lock while not paused"
    control.stop()
    assert control.stop_requested
