"""A run folder belongs to one run: exclusive while a run lives, never appended to, replaced whole
with --overwrite, marked when unfinished; and every file-system failure is one line, exit code 2.

The CLI runs as a subprocess (`python -m mtl_engine`), as a user would start it. The read-only,
permission and full-disk cases need a file system that refuses: as root they mount a small tmpfs
(and drop the capability that lets root ignore permissions); without root, chmod does it and the
full-disk cases are skipped.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mtl_engine.config import from_dict
from mtl_engine.errors import FileWriteError
from mtl_engine.events import RunFailed, RunFinished, RunStarted, StepsLogged
from mtl_engine.export import load_bundle
from mtl_engine.presets import save
from mtl_engine.runs import INCOMPLETE_FILE, LOCK_FILE, RunRecorder, new_run_dir, read_run
from mtl_engine.training import run

from .conftest import tiny

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
RUN_FILES = ["config.yaml", "epochs.csv", "events.jsonl", "model.pt", "split.json", "steps.csv"]
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file systems")


def _preset(tmp_path: Path, name: str = "p", **training) -> Path:
    cfg = tiny(training={"epochs": 1, **training})
    return save(cfg, tmp_path / f"{name}.yaml")


def _cli(*args: str | Path, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    return subprocess.run([*prefix, sys.executable, "-m", "mtl_engine", *map(str, args),
                           "--quiet"],
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})


_SPAWNED: list[subprocess.Popen] = []


@pytest.fixture(autouse=True)
def _kill_leftovers():
    """A failed test must not leave an endless run behind."""
    yield
    while _SPAWNED:
        proc = _SPAWNED.pop()
        if proc.poll() is None:
            proc.kill()
            proc.wait(60)


def _popen(*args: str | Path) -> subprocess.Popen:
    # not --quiet: the epoch lines on stderr say when training has begun (no bar: not a tty)
    proc = subprocess.Popen([sys.executable, "-m", "mtl_engine", *map(str, args)],
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    _SPAWNED.append(proc)
    return proc


def _wait_for_training(proc: subprocess.Popen) -> None:
    assert proc.stderr is not None
    for line in proc.stderr:
        if line.startswith("  epoch 1/"):
            return
    pytest.fail(f"the run ended before training began (exit {proc.wait(60)})")


def _one_line(res: subprocess.CompletedProcess) -> str:
    """The refusal: exit code 2 and exactly one line on stderr, no traceback."""
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 2, res.stderr
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    return lines[0]


def _no_leftovers(root: Path) -> None:
    """No temporary, partial or lock file anywhere below `root`."""
    left = [p for p in root.rglob("*") if p.name.endswith((".tmp", ".partial"))
            or p.name == LOCK_FILE]
    assert left == []


# ------------------------------------------------------------------ one run per folder
def test_two_runs_started_together_into_one_folder_one_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "run"
    endless = _preset(tmp_path, "endless", epochs=100_000)
    procs = [_popen(endless, "--out", out) for _ in range(2)]
    deadline = time.monotonic() + 300  # the refused one ends at once; the other trains on
    while all(p.poll() is None for p in procs) and time.monotonic() < deadline:
        time.sleep(0.05)
    ended = [p for p in procs if p.poll() is not None]
    assert len(ended) == 1, "expected exactly one of the two runs to be refused"
    loser = ended[0]
    winner = procs[1 - procs.index(loser)]
    _, err = loser.communicate(timeout=60)
    assert loser.returncode == 2
    # The holder writes its pid just after taking the lock; a claimant that comes in between
    # (and past a short wait for it) names no process.
    assert err.strip() in (
        f"mtl-run: {out}: cannot write: another run (process {winner.pid}) is writing into it",
        f"mtl-run: {out}: cannot write: another run (another process) is writing into it")
    _wait_for_training(winner)
    winner.send_signal(signal.SIGINT)
    _, err = winner.communicate(timeout=300)
    assert winner.returncode == 130 and "Traceback" not in err
    record = read_run(out)  # one run, whole: one RunStarted, every step once, closed
    assert sum(isinstance(e, RunStarted) for e in record.events) == 1
    steps = [s for e in record.events if isinstance(e, StepsLogged) for s in e.steps]
    assert steps == list(range(record.events[-1].step))
    assert isinstance(record.events[-1], RunFinished) and not record.incomplete
    assert len((out / "steps.csv").read_text().splitlines()) == len(steps) + 1
    assert sorted(p.name for p in out.iterdir()) == RUN_FILES


def test_a_finished_folder_is_refused_and_replaced_whole_with_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "run"
    first = _cli(_preset(tmp_path, "a", epochs=2, seed=3), "--out", out)
    assert first.returncode == 0, first.stderr
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    again = _cli(_preset(tmp_path, "b", seed=4), "--out", out)
    assert _one_line(again) == (f"mtl-run: {out}: cannot write: it already holds a run (pass "
                                "--overwrite to replace it, or name a new folder)")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # not touched
    replaced = _cli(_preset(tmp_path, "b", seed=4), "--out", out, "--overwrite")
    assert replaced.returncode == 0, replaced.stderr
    assert sorted(p.name for p in out.iterdir()) == RUN_FILES
    record = read_run(out)
    assert [e.kind for e in record.events].count("RunStarted") == 1
    assert record.config["training"]["seed"] == 4 and record.config["training"]["epochs"] == 1
    assert len((out / "steps.csv").read_text().splitlines()) == 1 + 10  # the new run's 10 steps
    assert len((out / "epochs.csv").read_text().splitlines()) == 1 + 1  # and its one epoch
    assert load_bundle(out / "model.pt").config.training.seed == 4


def test_a_killed_run_leaves_no_lock_and_is_marked_incomplete(tmp_path: Path) -> None:
    out = tmp_path / "run"
    endless = _preset(tmp_path, "endless", epochs=100_000)
    proc = _popen(endless, "--out", out)
    _wait_for_training(proc)
    proc.kill()  # SIGKILL: nothing runs; the kernel drops the lock with the process
    proc.wait(60)
    record = read_run(out)
    assert record.incomplete and record.finished is None
    assert (out / INCOMPLETE_FILE).exists()
    # the folder is free (not "another run is writing"), but it holds a run
    again = _cli(_preset(tmp_path), "--out", out)
    assert _one_line(again).endswith("it already holds a run (pass --overwrite to replace "
                                     "it, or name a new folder)")
    replaced = _cli(_preset(tmp_path), "--out", out, "--overwrite")
    assert replaced.returncode == 0, replaced.stderr
    assert sorted(p.name for p in out.iterdir()) == RUN_FILES
    assert not read_run(out).incomplete


def test_overwrite_removes_every_file_of_an_abandoned_run(tmp_path: Path) -> None:
    out = tmp_path / "run"
    list(run(tiny(training={"epochs": 1}), out_dir=out))
    # what a run killed mid-way can leave: the marker, growing CSVs, an atomic write's temp file
    for name in ("INCOMPLETE", "steps.csv.partial", ".model.pt.abc123.tmp", "error.txt"):
        (out / name).write_text("old")
    (out / "notes.txt").write_text("mine")  # not a run's file: left alone
    with pytest.raises(FileWriteError, match="already holds a run"):
        RunRecorder(out)
    events = list(run(tiny(training={"epochs": 1, "seed": 9}), out_dir=out, overwrite=True))
    assert isinstance(events[-1], RunFinished)
    assert sorted(p.name for p in out.iterdir()) == sorted([*RUN_FILES, "notes.txt"])
    assert read_run(out).events == events


def test_a_folder_with_other_things_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    events = list(run(tiny(), out_dir=tmp_path, overwrite=True))
    assert len(events) == 1 and isinstance(events[0], RunFailed)
    assert events[0].message == (f"{tmp_path}: cannot write: it is not empty and holds no run "
                                 "(name a new or an empty folder)")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_a_folder_held_in_this_process_is_refused_to_the_api(tmp_path: Path) -> None:
    holder = RunRecorder(tmp_path / "run")
    try:
        events = list(run(tiny(), out_dir=tmp_path / "run"))
        assert [e.kind for e in events] == ["RunFailed"]
        assert events[0].error_type == "FileWriteError"
        assert events[0].message == (f"{tmp_path / 'run'}: cannot write: another run (process "
                                     f"{os.getpid()}) is writing into it")
    finally:
        holder.close()
    assert not (tmp_path / "run").exists()  # the holder wrote nothing of value


def test_into_gives_each_run_a_fresh_folder(tmp_path: Path) -> None:
    parent = tmp_path / "runs"
    a = new_run_dir(parent, "same name", create=True)
    b = new_run_dir(parent, "same name", create=True)
    assert a != b and a.is_dir() and b.is_dir() and a.parent == b.parent == parent
    a.rmdir()
    b.rmdir()
    preset = _preset(tmp_path)
    procs = [_popen(preset, "--into", parent) for _ in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
    folders = sorted(parent.iterdir())
    assert len(folders) == 2
    for f in folders:
        assert sorted(p.name for p in f.iterdir()) == RUN_FILES
        assert [e.kind for e in read_run(f).events].count("RunStarted") == 1


@pytest.mark.parametrize("where", ["--out", "--into"])
def test_a_refused_setup_leaves_no_folder(tmp_path: Path, where: str) -> None:
    d = tiny().to_dict()
    d["tasks"][0]["name"] = "digt"  # passes the schema, refused by the dataset at setup
    preset = save(from_dict(d), tmp_path / "bad.yaml")
    target = tmp_path / "target"
    line = _one_line(_cli(preset, where, target))
    assert line.startswith("mtl-run: tasks[0].name: unknown task of dataset 'digits'")
    assert not target.exists() if where == "--out" else list(target.iterdir()) == []


# ------------------------------------------------------------------ file-system failures
def test_out_naming_an_existing_file(tmp_path: Path) -> None:
    f = tmp_path / "afile"
    f.write_text("x")
    assert _one_line(_cli(_preset(tmp_path), "--out", f)) == \
        f"mtl-run: {f}: cannot write: it is a file, not a folder"
    assert f.read_text() == "x"
    inside = f / "run"
    assert _one_line(_cli(_preset(tmp_path), "--out", inside)) == \
        f"mtl-run: {inside}: cannot write: a part of the path is a file, not a folder"
    into = _one_line(_cli(_preset(tmp_path), "--into", f))
    assert into == f"mtl-run: {f}: cannot write: it is a file, not a folder"


def _mount_tmpfs(path: Path, options: str) -> None:
    if not IS_ROOT:
        pytest.skip("mounting a small tmpfs needs root (CI runs as root)")
    path.mkdir(parents=True, exist_ok=True)
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
                         capture_output=True, text=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {res.stderr.strip()}")


@pytest.fixture
def mounts():
    made: list[Path] = []
    yield lambda path, options: (_mount_tmpfs(path, options), made.append(path))
    for path in reversed(made):
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_out_inside_a_read_only_folder(tmp_path: Path, mounts) -> None:
    ro = tmp_path / "ro"
    if IS_ROOT:  # chmod does not stop root; a read-only file system does
        mounts(ro, "ro,size=1m")
        reason = "the file system is read-only"
    else:
        ro.mkdir()
        ro.chmod(0o555)
        reason = "permission denied"
    for target in (ro / "run", ro):  # a new folder inside it, and the (empty) folder itself
        line = _one_line(_cli(_preset(tmp_path), "--out", target))
        assert line == f"mtl-run: {target}: cannot write: {reason}"
    assert list(ro.iterdir()) == []


def test_permission_denied(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    prefix: tuple[str, ...] = ()
    if IS_ROOT:  # root without the capability to override file permissions
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("root ignores permissions, and setpriv (util-linux) is not installed")
        caps = "-dac_override,-dac_read_search"
        prefix = (setpriv, f"--inh-caps={caps}", f"--bounding-set={caps}", "--")
    for target in (locked / "run", locked):
        line = _one_line(_cli(_preset(tmp_path), "--out", target, prefix=prefix))
        assert line == f"mtl-run: {target}: cannot write: permission denied"
    line = _one_line(_cli(_preset(tmp_path), "--into", locked / "runs", prefix=prefix))
    assert line == f"mtl-run: {locked / 'runs'}: cannot write: permission denied"
    assert list(locked.iterdir()) == []


def test_a_full_disk_before_the_run_leaves_nothing(tmp_path: Path, mounts) -> None:
    disk = tmp_path / "disk"
    mounts(disk, "size=32k")
    with open(disk / "filler", "wb") as f:
        try:
            f.write(b"\0" * 64 * 1024)
            f.flush()
        except OSError:
            pass  # full, as wanted
    out = disk / "run"
    assert _one_line(_cli(_preset(tmp_path), "--out", out)) == \
        f"mtl-run: {out}: cannot write: no space left on the device (disk full)"
    assert sorted(p.name for p in disk.iterdir()) == ["filler"]


def test_a_disk_that_fills_during_the_run(tmp_path: Path, mounts) -> None:
    disk = tmp_path / "disk"
    mounts(disk, "size=32k")  # room to start; the event log outgrows it within ~40 steps
    out = disk / "run"
    res = _cli(_preset(tmp_path, epochs=1000), "--out", out)
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
    last = res.stderr.strip().splitlines()[-1]
    m = re.fullmatch(rf"mtl-run: {re.escape(str(out))}/(\S+): cannot write: no space left on "
                     rf"the device \(disk full\) \(the run stopped at step (\d+); "
                     rf"{re.escape(str(out))} is marked incomplete\)", last)
    assert m, last
    assert m.group(1) in ("events.jsonl", "steps.csv", "epochs.csv", "model.pt", "config.yaml")
    _no_leftovers(disk)
    assert (out / INCOMPLETE_FILE).exists() and not (out / "model.pt").exists()
    record = read_run(out)  # what fitted replays, and reads as incomplete
    assert record.incomplete
    assert record.finished is None or isinstance(record.finished, RunFailed)
    assert any(isinstance(e, StepsLogged) for e in record.events)
