"""Running studies: the folder, resume, a failing run among good ones, the summary recomputed
from the run folders by hand, local worker processes, Ctrl-C, the CLI, the shipped studies."""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mtl_engine.control import RunControl
from mtl_engine.events import RunFailed, RunFinished, RunStarted, StudyFinished, StudyStarted
from mtl_engine.study import LocalPool, expand, load_study, run_key, run_study, with_epochs
from mtl_engine.study.cli import builtin_studies
from mtl_engine.study.cli import main as study_main
from tests.engine.study_helpers import read_csv, write_study

BLOW_UP = {"optimizer.name": "sgd", "optimizer.lr": 1.0e30}  # diverges at once: a failing run


def _tiny_study(tmp_path, **extra):
    study = {"name": "tiny", "seeds": [0, 1], "grid": {"strategy.name": ["equal", "mgda"]},
             **extra}
    return write_study(tmp_path, study)


def _events(path, out, **kw):
    return list(run_study(path, out, workers=0, **kw))


def test_a_study_run_writes_its_folder_and_every_event_names_its_run(tmp_path):
    out = tmp_path / "out"
    events = _events(_tiny_study(tmp_path), out)
    assert isinstance(events[0], StudyStarted) and isinstance(events[-1], StudyFinished)
    keys = [r["key"] for r in events[0].runs]
    assert len(keys) == 2 * 2 + 2 * 2  # 2 strategies x 2 seeds + 2 tasks x 2 seeds
    assert all(e.run in keys for e in events[1:-1])
    assert {e.run for e in events if isinstance(e, RunFinished)} == set(keys)
    assert events[-1].status == "completed" and events[-1].counts == {"completed": 8}
    for key in keys:
        folder = out / "runs" / key
        assert {"config.yaml", "events.jsonl", "steps.csv", "epochs.csv", "model.pt"} <= \
            {p.name for p in folder.iterdir()}
        assert f'"run":"{key}"' in (folder / "events.jsonl").read_text().splitlines()[0]
        from mtl_engine.presets import load

        assert run_key(load(folder / "config.yaml").to_dict()) == key  # the folder is its key
    assert {"study.yaml", "summary.csv", "table.csv", "table.md"} <= {p.name
                                                                     for p in out.iterdir()}
    again = load_study(out / "study.yaml")  # the resolved copy is itself a study file
    assert [r.key for r in expand(again).runs] == keys


def _epochs_csv_final(folder: Path) -> dict[str, float]:
    rows = read_csv(folder / "epochs.csv")
    return {k: float(v) for k, v in rows[-1].items() if k.startswith("val/") and v}


def test_summary_and_delta_m_recomputed_from_the_run_folders(tmp_path):
    out = tmp_path / "out"
    _events(_tiny_study(tmp_path), out)
    summary = read_csv(out / "summary.csv")
    assert list(summary[0])[:6] == ["key", "variant", "seed", "baseline", "status",
                                    "strategy.name"]
    finals = {r["key"]: _epochs_csv_final(out / "runs" / r["key"]) for r in summary}
    for r in summary:  # every final validation metric, as epochs.csv names it
        for col, v in finals[r["key"]].items():
            assert float(r[col]) == pytest.approx(v, rel=1e-12)
    # headline metric of both digits tasks: accuracy (higher is better)
    base = {t: statistics.fmean(finals[r["key"]][f"val/{t}/accuracy"] for r in summary
                                if r["baseline"] == t) for t in ("digit", "parity")}
    dms: dict[str, list[float]] = {}
    for r in summary:
        if r["baseline"]:
            assert r["delta_m"] == ""
            continue
        m = finals[r["key"]]
        want = 100 / 2 * sum(-(m[f"val/{t}/accuracy"] - base[t]) / base[t]
                             for t in ("digit", "parity"))
        assert float(r["delta_m"]) == pytest.approx(want, rel=1e-9)
        dms.setdefault(r["variant"], []).append(want)
    table = {r["variant"]: r for r in read_csv(out / "table.csv")}
    assert set(table) == {"strategy.name=equal", "strategy.name=mgda", "single_task:digit",
                          "single_task:parity"}
    for variant, values in dms.items():
        row = table[variant]
        assert float(row["delta_m_mean"]) == pytest.approx(statistics.fmean(values))
        assert float(row["delta_m_std"]) == pytest.approx(statistics.stdev(values))
        assert row["n_seeds"] == "2"
    ranked = sorted(dms, key=lambda v: statistics.fmean(dms[v]))
    assert [table[v]["rank"] for v in ranked] == ["1", "2"]
    assert table["single_task:digit"]["rank"] == "" and table["single_task:digit"]["pareto"] == ""
    assert {table[v]["pareto"] for v in dms} <= {"yes", "no"} and "yes" in \
        {table[v]["pareto"] for v in dms}


def test_running_again_resumes_and_a_failed_run_does_not_stop_the_others(tmp_path):
    path = _tiny_study(tmp_path, variants=[{}, BLOW_UP], baselines="none", seeds=[0])
    out = tmp_path / "out"
    first = _events(path, out)
    failed = {e.run for e in first if isinstance(e, RunFailed)}
    done = {e.run for e in first if isinstance(e, RunFinished)}
    assert len(failed) == 2 and len(done) == 2  # both strategies blow up with sgd at 1e30
    assert first[-1].status == "failed" and first[-1].counts == {"completed": 2, "failed": 2}
    summary = {r["key"]: r for r in read_csv(out / "summary.csv")}
    assert {summary[k]["status"] for k in failed} == {"failed"}
    assert all("DivergedError" in summary[k]["message"] or "non-finite" in
               summary[k]["message"] or "loss" in summary[k]["message"] for k in failed)
    table = {r["variant"]: r for r in read_csv(out / "table.csv")}
    blown = [v for v in table if "sgd" in v]
    assert all(table[v]["n_seeds"] == "0" and table[v]["n_runs"] == "1" for v in blown)

    stamps = {k: (out / "runs" / k / "model.pt").stat().st_mtime_ns for k in done}
    second = _events(path, out)
    assert {r["key"]: r["status"] for r in second[0].runs} == {
        **{k: "completed" for k in done}, **{k: "queued" for k in failed}}
    assert {e.run for e in second if isinstance(e, RunStarted)} == failed  # only those again
    assert {k: (out / "runs" / k / "model.pt").stat().st_mtime_ns for k in done} == stamps

    third = _events(path, out)  # still failing: run again; the completed ones never
    assert {e.run for e in third if isinstance(e, RunStarted)} == failed


def test_a_stop_request_stops_the_runs_and_keeps_what_finished(tmp_path):
    path = _tiny_study(tmp_path, baselines="none")
    out = tmp_path / "out"
    control = RunControl()
    seen = []
    for e in run_study(path, out, workers=0, control=control):
        seen.append(e)
        if isinstance(e, RunFinished) and not control.stop_requested:
            control.stop()  # after the first run
    last = seen[-1]
    assert isinstance(last, StudyFinished) and last.status == "stopped"
    assert last.counts == {"completed": 1, "not run": 3}
    again = _events(path, out)
    assert sum(r["status"] == "completed" for r in again[0].runs) == 1
    assert again[-1].status == "completed"


def test_local_workers_give_the_same_results_as_one_process(tmp_path):
    path = _tiny_study(tmp_path, seeds=[0], baselines="none")
    _events(path, tmp_path / "inline")
    events = list(run_study(path, tmp_path / "pool", executor=LocalPool(2, threads=1)))
    assert events[0].executor.startswith("local (2 workers")
    started = [e for e in events if isinstance(e, RunStarted)]
    assert len({e.run for e in started}) == 2
    a = {r["key"]: r for r in read_csv(tmp_path / "inline" / "summary.csv")}
    b = {r["key"]: r for r in read_csv(tmp_path / "pool" / "summary.csv")}
    assert a.keys() == b.keys()
    for k in a:  # same seed, same data, same maths: the same numbers in another process
        assert a[k]["val/digit/accuracy"] == b[k]["val/digit/accuracy"]
        assert a[k]["status"] == b[k]["status"] == "completed"


def test_a_second_study_into_a_busy_folder_is_refused(tmp_path):
    from mtl_engine.errors import FileWriteError
    from mtl_engine.folder_lock import FolderLock

    out = tmp_path / "out"
    lock = FolderLock(out)
    try:
        with pytest.raises(FileWriteError, match="another run"):
            _events(_tiny_study(tmp_path), out)
    finally:
        lock.release()


# ---------------------------------------------------------------------------- the command line


def test_cli_runs_resumes_and_prints_the_table(tmp_path, capsys):
    path = _tiny_study(tmp_path, seeds=[0])
    out = tmp_path / "out"
    assert study_main([str(path), "--out", str(out), "--workers", "0", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert "strategy.name=mgda" in captured.out and "Δm%" in captured.out
    assert "4 runs" in captured.err
    assert study_main([str(path), "--out", str(out), "--workers", "0", "--quiet"]) == 0
    assert "4 already done" in capsys.readouterr().err
    assert study_main(["--summary", str(out)]) == 0
    assert "single_task:parity" in capsys.readouterr().out
    assert study_main([str(path), "--out", str(out), "--plan"]) == 0
    assert capsys.readouterr().out.count(" completed ") == 4


@pytest.mark.parametrize(("args", "says"), [
    (["no_such_study"], "unknown study"),
    (["{study}", "--workers", "0", "--out", "{out}"], "grid.strategy.name"),
    (["--summary", "{tmp}"], "not a study folder"),
])
def test_cli_bad_input_is_one_line_and_exit_2(tmp_path, capsys, args, says):
    bad = write_study(tmp_path, {"grid": {"strategy.name": ["equal", "mgdaa"]}})
    args = [a.format(study=bad, out=tmp_path / "o", tmp=tmp_path) for a in args]
    assert study_main(args) == 2
    err = capsys.readouterr().err.strip()
    assert says in err and len(err.splitlines()) == 1
    assert not (tmp_path / "o").exists()  # refused before anything was written


def test_cli_epochs_overrides_every_run(tmp_path):
    study = with_epochs(load_study(_tiny_study(tmp_path)), 3)
    assert {r.config["training"]["epochs"] for r in expand(study).runs} == {3}


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_stops_every_run_cleanly_and_keeps_what_finished(tmp_path):
    """A real mtl-study process with 2 workers; SIGINT once some runs are under way."""
    big = {"training.epochs": 5000, "training.max_steps_per_epoch": 20}  # minutes, if let run
    path = _tiny_study(tmp_path, seeds=[0], baselines="none", overrides=big)
    out = tmp_path / "out"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "mtl_engine.study.cli", str(path), "--out",
                             str(out), "--workers", "2"], stderr=subprocess.PIPE, text=True,
                            env=env)
    deadline = time.monotonic() + 120
    runs = out / "runs"
    under_way = False
    while not under_way and time.monotonic() < deadline and proc.poll() is None:
        logs = list(runs.glob("*/steps.csv.partial")) if runs.exists() else []
        under_way = len(logs) == 2 and all(p.stat().st_size > 200 for p in logs)
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    assert under_way, "the two runs never started"
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "stopped by Ctrl-C" in err
    summary = read_csv(out / "summary.csv")
    assert {r["status"] for r in summary} == {"stopped"}
    for r in summary:  # each stopped run kept its model and finished its folder
        folder = out / "runs" / r["key"]
        assert (folder / "model.pt").exists() and not (folder / "INCOMPLETE").exists()


# ---------------------------------------------------------------------------- shipped studies


@pytest.mark.parametrize("name", sorted(builtin_studies()))
def test_every_shipped_study_runs_a_couple_of_steps(tmp_path, name):
    study = load_study(builtin_studies()[name])
    from dataclasses import replace

    study = replace(study, seeds=study.seeds[:1], overrides={
        **study.overrides, "training.epochs": 1, "training.max_steps_per_epoch": 2,
        "training.device": "cpu"})
    events = list(run_study(study, tmp_path / name, workers=0))
    assert events[-1].status == "completed", [e for e in events if isinstance(e, RunFailed)]
    table = read_csv(tmp_path / name / "table.csv")
    assert any(r["baseline"] for r in table) and all(r["n_seeds"] == "1" for r in table)
    assert all(r["delta_m_mean"] for r in table if not r["baseline"])


def test_the_shipped_studies_are_the_ones_the_docs_promise():
    shipped = {n: load_study(p) for n, p in builtin_studies().items()}
    mm = shipped["multimnist_strategies"]
    assert mm.grid["strategy.name"] == ("equal", "uncertainty", "mgda", "pcgrad", "cagrad",
                                        "nash_mtl")
    assert mm.seeds == (0, 1, 2) and mm.baselines == "single_task"
    assert shipped["gradnorm_toy"].grid["strategy.name"] == ("equal", "gradnorm", "uncertainty")
    schemes = [v["sharing.scheme"] for v in shipped["mmoe_low_relatedness"].variants]
    assert schemes == ["hard", "mmoe", "cross_stitch"]
