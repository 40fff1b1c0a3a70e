"""The run book: runs keyed by their run key, events routed by key, several workers at once, and
studies (run live in one worker, or replayed from a folder `mtl-study` wrote) as entries."""

from __future__ import annotations

import csv
import dataclasses
import itertools
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import fake_events, replay, tiny_run

import mtl_engine.events as ev
from mtl_engine import (
    DEFAULT_PRESET,
    config_from_dict,
    config_to_dict,
    load_preset,
    run_study,
    save_preset,
)
from mtl_gui.history import RunHistory, history_from_events
from mtl_gui.run_book import RunBook
from mtl_gui.run_entry import RunEntry
from mtl_gui.session import Session

STRATEGIES = ("equal", "uncertainty")
SEEDS = (0, 1)
TASKS = ("digit", "parity")


def _stamped(events: list[ev.Event], key: str) -> list[ev.Event]:
    return [dataclasses.replace(e, run=key) for e in events]


def _same_curves(got: RunHistory, want: RunHistory) -> None:
    assert got.tasks == want.tasks and got.status == want.status
    assert np.array_equal(got.step.view, want.step.view)
    assert np.array_equal(got.ep_index.view, want.ep_index.view)
    for t in want.tasks:
        assert np.array_equal(got.loss[t].view, want.loss[t].view)
        assert np.array_equal(got.val_metrics[t]["accuracy"].view,
                              want.val_metrics[t]["accuracy"].view)
    assert len(got.g_cosine) == len(want.g_cosine)


def test_interleaved_events_of_two_keys_reach_only_their_own_runs(qtbot) -> None:
    book = RunBook()
    a = book.add(RunEntry(1, {}, RunHistory(), key="a"))
    b = book.add(RunEntry(2, {}, RunHistory(), key="b"))
    assert list(book.entries) == ["a", "b"] and book.runs == [a, b]
    # Different shapes, so one event in the wrong run shows: tasks, steps, epochs all differ.
    events_a = fake_events(tasks=("left", "right"), epochs=2, steps_per_epoch=20)
    events_b = fake_events(tasks=("x", "y", "z"), epochs=3, steps_per_epoch=10, log_every=2,
                           fail_at=25)
    mixed = [e for pair in itertools.zip_longest(_stamped(events_a, "a"), _stamped(events_b, "b"))
             for e in pair if e is not None]
    updated: list[str] = []
    finished: list[str] = []
    book.run_updated.connect(lambda entry: updated.append(entry.key))
    book.run_finished.connect(lambda entry: finished.append(entry.key))
    for i in range(0, len(mixed), 7):  # batches of 7: each holds both runs' events
        book.feed(None, mixed[i:i + 7])
    _same_curves(a.history, history_from_events(events_a))
    _same_curves(b.history, history_from_events(events_b))
    # b logs steps in pairs and fails in the pair (24, 25): steps 0 to 23 are logged
    assert a.history.n_steps == 40 and b.history.n_steps == 24
    assert a.status == "completed" and b.status == "failed" and b.history.failure.step == 25
    assert set(updated) == {"a", "b"} and sorted(finished) == ["a", "b"]
    # An event with run == "" (or a key the book does not hold) goes to the entry named.
    c = book.add(RunEntry(3, {}, RunHistory()))
    assert c.key.startswith("run-") and c.key not in ("a", "b")
    events_c = fake_events(tasks=("solo",), epochs=1)
    book.feed(c.key, events_c[:2] + _stamped(events_c[2:3], "nobody"))
    assert c.history.tasks == ["solo"] and c.history.n_steps == 10
    assert a.history.n_steps == 40 and b.history.n_steps == 24


def test_two_lone_runs_train_at_once_each_into_its_own_entry(qtbot) -> None:
    session = Session(None)
    session.load_config(load_preset(DEFAULT_PRESET), None)
    book = session.book
    sources = iter([replay(fake_events(tasks=("left", "right"), epochs=2), delay=0.001),
                    replay(fake_events(tasks=("p", "q", "r"), epochs=3, steps_per_epoch=10),
                           delay=0.001)])
    book.source_factory = lambda config, out: next(sources)
    first = book.start(session.config)
    second = book.start(session.config)
    assert first.key != second.key and len(book.workers) == 2
    assert book.state == "running" and session.current is second
    qtbot.waitUntil(lambda: book.state == "idle", timeout=20_000)
    assert first.history.tasks == ["left", "right"] and first.history.n_steps == 40
    assert second.history.tasks == ["p", "q", "r"] and second.history.n_steps == 30
    assert first.status == second.status == "completed"
    assert session.worker is None and session.runs == [first, second]


def test_pause_resume_and_stop_reach_every_live_worker(qtbot) -> None:
    session = Session(None)
    session.load_config(load_preset(DEFAULT_PRESET), None)
    book = session.book
    states: list[str] = []
    book.state_changed.connect(states.append)
    book.source_factory = lambda config, out: replay(
        fake_events(epochs=50, steps_per_epoch=20, log_every=1), delay=0.002)
    runs = [book.start(session.config), book.start(session.config)]
    qtbot.waitUntil(lambda: all(r.history.n_steps > 3 for r in runs), timeout=10_000)
    book.pause()
    assert book.state == "paused" and all(w.paused for w in book.workers)
    book.resume()
    assert book.state == "running" and not any(w.paused for w in book.workers)
    book.pause(worker=book.workers[0])  # one of two paused: the book still runs
    assert book.state == "running" and [w.paused for w in book.workers] == [True, False]
    book.stop()
    assert book.state == "stopping"
    qtbot.waitUntil(lambda: book.state == "idle", timeout=10_000)
    assert states == ["running", "paused", "running", "stopping", "idle"]
    assert [r.status for r in runs] == ["stopped", "stopped"]
    assert all(r.history.n_steps < 1000 for r in runs)


def test_a_study_stream_ends_with_its_own_closing_event(qtbot) -> None:
    """The worker makes up a RunFinished for a stream that just stops, never after a study's
    StudyFinished: that one ends it, and a made-up run would land in no entry."""
    from mtl_gui.worker import RunWorker

    last = ev.StudyFinished("completed", {"completed": 1}, 0.5, "somewhere")

    def study(control):  # noqa: ANN001, ANN202
        yield ev.StudyStarted("s", "somewhere", (), "inline", 0)
        yield last

    worker = RunWorker(study)
    got: list[ev.Event] = []
    worker.events_arrived.connect(got.extend)
    with qtbot.waitSignal(worker.finished, timeout=10_000):
        worker.start()
    assert got[-1] == last and len(got) == 2


def test_keys_are_unique_and_a_finished_entry_gives_its_place_to_a_newcomer() -> None:
    book = RunBook()
    old = book.add(RunEntry(1, {}, RunHistory(), key="k"))
    other = book.add(RunEntry(2, {}, RunHistory(), key="m"))
    new = book.add(RunEntry(7, {"name": "again"}, RunHistory(), key="k", visible=False))
    assert book.runs == [new, other] and book.entries["k"] is new and old not in book.runs
    assert new.number == 1 and new.visible  # the place, number and tick of the one replaced
    with pytest.raises(ValueError, match="runs: key 'm' is already taken by run 2"):
        book.runs.append(RunEntry(3, {}, RunHistory(), key="m"))
    book.runs.remove(other)
    assert list(book.entries) == ["k"] and other not in book.runs


def _tiny_study(folder: Path) -> Path:
    """2 strategies x 2 seeds on a 1-epoch, 2-step digits preset, with single-task baselines."""
    base = config_to_dict(load_preset(DEFAULT_PRESET))
    tiny_run(base)
    base["training"].update(epochs=1, max_steps_per_epoch=2)
    folder.mkdir(parents=True, exist_ok=True)
    save_preset(config_from_dict(base), folder / "tiny.yaml")
    path = folder / "study.yaml"
    path.write_text(yaml.safe_dump({
        "name": "tiny", "base": "tiny.yaml", "seeds": list(SEEDS), "baselines": "single_task",
        "grid": {"strategy.name": list(STRATEGIES)}}, sort_keys=False))
    return path


def _summary(folder: Path) -> dict[str, dict[str, str]]:
    with open(folder / "summary.csv", newline="") as f:
        return {row["key"]: row for row in csv.DictReader(f)}


def _check_study_entries(entries: list[RunEntry], folder: Path, statuses: dict[str, str]) -> None:
    """8 entries in the study's order: 4 multi-task (strategy x seed), then 4 baselines (task x
    seed), each with its key, variant, seed, baseline and status as summary.csv has them, and
    its last epoch's validation metrics equal to summary.csv's ('select: final')."""
    rows = _summary(folder)
    assert [e.key for e in entries] == list(rows)
    want = ([(f"strategy.name={s}", seed, "") for s in STRATEGIES for seed in SEEDS]
            + [(f"single_task:{t}", seed, t) for t in TASKS for seed in SEEDS])
    assert [(e.variant, e.seed, e.baseline) for e in entries] == want
    for e in entries:
        row = rows[e.key]
        assert (e.variant, str(e.seed), e.baseline) == (row["variant"], row["seed"],
                                                        row["baseline"])
        assert e.study == str(folder.resolve()) and e.folder == folder.resolve() / "runs" / e.key
        assert e.status == statuses.get(e.key, "completed") == row["status"]
        if e.status != "completed":
            assert e.history.n_steps == 0
            continue
        # each run got its own events only: a baseline has its one task, a variant both
        assert e.history.tasks == ([e.baseline] if e.baseline else list(TASKS))
        assert e.history.n_steps == 2 and e.strategy == ("equal" if e.baseline else
                                                         e.variant.split("=")[1])
        values = {c: float(v) for c, v in row.items() if c.startswith("val/") and v}
        assert {c.split("/")[1] for c in values} == set(e.history.tasks)
        for column, value in values.items():
            _, task, metric = column.split("/")
            assert e.history.val_metrics[task][metric].view[-1] == value
        # the headline metric per task, as the runs table shows it (from RunFinished)
        assert e.final_metrics() == {t: values[f"val/{t}/{e.history.headline(t)}"]
                                     for t in e.history.tasks}


@pytest.fixture(scope="module")
def study_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A study run by the engine alone, the way `mtl-study --workers 0` runs it."""
    root = tmp_path_factory.mktemp("study")
    events = list(run_study(_tiny_study(root / "src"), root / "out", workers=0))
    assert isinstance(events[-1], ev.StudyFinished) and events[-1].status == "completed"
    return root / "out"


def test_open_study_replays_every_run_into_its_entry(qtbot, study_folder, tmp_path) -> None:
    folder = tmp_path / "copy"
    shutil.copytree(study_folder, folder)
    missing = next(iter(_summary(folder).values()))["key"]
    session = Session(None)
    opened: list[RunEntry] = []
    session.run_opened.connect(opened.append)
    entries = session.open_study(folder)
    _check_study_entries(entries, folder, {})
    assert opened == entries == session.book.study_entries(folder) == session.runs
    assert not any(e.visible for e in entries)  # the main plots stay readable
    # Opening it again replaces the entries in place; a run folder gone is "not run".
    shutil.rmtree(folder / "runs" / missing)
    numbers = [e.number for e in entries]
    again = session.open_study(folder)
    assert len(session.runs) == 8 and session.runs == again
    assert [e.number for e in again] == numbers
    statuses = {e.key: e.status for e in again}
    assert statuses[missing] == "not run" and list(statuses.values()).count("completed") == 7


def test_open_study_on_a_folder_that_is_not_one_says_why(tmp_path) -> None:
    from mtl_engine.errors import ConfigError

    with pytest.raises(ConfigError, match=r"not a study folder \(no study.yaml\)"):
        RunBook().open_study(tmp_path)
    (tmp_path / "study.yaml").write_text("name: x\n")
    with pytest.raises(ConfigError, match="has no list of runs"):
        RunBook().open_study(tmp_path)


def test_start_study_trains_every_run_into_its_own_entry(qtbot, tmp_path) -> None:
    path = _tiny_study(tmp_path / "src")
    folder = tmp_path / "out"
    session = Session(None)
    book = session.book  # a child of the session: alive while the session is
    at_start: list[tuple[str, ...]] = []
    started: list[str] = []
    finished: list[str] = []
    book.study_started.connect(
        lambda e: at_start.append(tuple(x.status for x in book.study_entries(e.folder))))
    book.run_started.connect(lambda entry: started.append(entry.key))
    book.run_finished.connect(lambda entry: finished.append(entry.key))
    with qtbot.waitSignal(book.study_finished, timeout=180_000) as blocker:
        worker = book.start_study(path, folder, workers=0)
        assert book.workers == [worker] and book.state == "running"
    assert blocker.args[0].status == "completed"
    assert at_start == [("queued",) * 8]
    entries = book.study_entries(folder)
    _check_study_entries(entries, folder, {})
    assert sorted(started) == sorted(finished) == sorted(e.key for e in entries)
    qtbot.waitUntil(lambda: book.state == "idle", timeout=10_000)
    assert book.workers == []
    # Run again into the same folder: every run is done, replayed from its folder into the
    # entries' places; nothing trains.
    with qtbot.waitSignal(book.study_finished, timeout=60_000) as blocker:
        book.start_study(path, folder, workers=0)
    assert blocker.args[0].counts == {"completed": 8}
    assert len(book.runs) == 8 and all(e.status == "completed" for e in book.runs)
    _check_study_entries(book.study_entries(folder), folder, {})


def test_a_study_that_cannot_start_ends_failed_with_a_message(qtbot, tmp_path) -> None:
    book = RunBook()
    messages: list[str] = []
    book.message.connect(lambda level, text, details: messages.append(f"{level}: {text}"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nbase: nowhere.yaml\nseed: 2\n")
    with qtbot.waitSignal(book.study_finished, timeout=30_000) as blocker:
        book.start_study(bad, tmp_path / "out", workers=0)
    assert blocker.args[0].status == "failed"
    assert len(messages) == 1 and messages[0].startswith("error: The study failed: ")
    assert "seeds" in messages[0]  # the engine's one line, naming the field
    assert book.runs == [] and book.state == "idle"
