"""The public API at its edges: argument types checked up front (ArgumentError naming the
argument), plain config dicts accepted where a config is, save_preset validating before it
writes, and read_run replaying what it can read of a damaged log."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

import mtl_engine
from mtl_engine.config import from_dict, to_dict
from mtl_engine.errors import ArgumentError, BundleError, ConfigError
from mtl_engine.events import RunFinished, RunStarted, StepsLogged
from mtl_engine.runs import EVENTS_FILE

from .conftest import TINY, tiny

SHORT = {**copy.deepcopy(TINY), "training": {**TINY["training"], "epochs": 1,
                                             "max_steps_per_epoch": 4, "log_every": 2}}


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    out = tmp_path_factory.mktemp("run")
    events = list(mtl_engine.run(from_dict(SHORT), out_dir=out))
    return out, events


def _losses(events: list) -> list[tuple[float, ...]]:
    return [e.total for e in events if isinstance(e, StepsLogged)]


def test_run_accepts_a_plain_dict_as_its_validated_config(run_folder) -> None:
    _, from_config = run_folder
    from_plain = list(mtl_engine.run(copy.deepcopy(SHORT)))
    assert isinstance(from_plain[0], RunStarted) and isinstance(from_plain[-1], RunFinished)
    assert from_plain[0].config == to_dict(from_dict(SHORT))
    assert _losses(from_plain) == _losses(from_config)  # same seed, same run


def test_run_refuses_wrong_arguments_before_starting(tmp_path: Path) -> None:
    cases = [
        ((42,), "run(): config must be an ExperimentConfig or a config dict, got int 42"),
        ((tiny(), "stop"), "run(): control must be a RunControl or None, got str 'stop'"),
        ((tiny(), None, 7), "run(): out_dir must be a path (str or os.PathLike), got int 7"),
    ]
    for args, message in cases:
        with pytest.raises(ArgumentError) as info:
            mtl_engine.run(*args)
        assert str(info.value) == message
        assert isinstance(info.value, TypeError)
    bad = copy.deepcopy(SHORT)
    bad["training"]["seed"] = 2**70
    with pytest.raises(ConfigError, match=r"^training.seed: must be an integer in \[0, "):
        mtl_engine.run(bad, out_dir=tmp_path / "never")  # refused on the call, not later
    assert not (tmp_path / "never").exists()


def test_save_preset_validates_a_dict_before_writing(tmp_path: Path) -> None:
    bad = copy.deepcopy(TINY)
    bad["optimizer"]["lr"] = -1
    dest = tmp_path / "p.yaml"
    with pytest.raises(ConfigError) as info:
        mtl_engine.save_preset(bad, dest)
    assert str(info.value) == "optimizer.lr: must be a number >= 0, got -1.0"
    assert not dest.exists() and list(tmp_path.iterdir()) == []
    mtl_engine.save_preset(copy.deepcopy(TINY), dest)  # a valid dict: written canonical
    assert mtl_engine.load_preset(dest) == tiny()
    assert "max_steps_per_epoch: 10" in dest.read_text()


def test_preset_functions_check_their_arguments(tmp_path: Path) -> None:
    with pytest.raises(ArgumentError, match=r"^save_preset\(\): config must be an "
                                            "ExperimentConfig or a config dict, got list"):
        mtl_engine.save_preset([1], tmp_path / "p.yaml")
    with pytest.raises(ArgumentError, match=r"^save_preset\(\): path must be a path"):
        mtl_engine.save_preset(tiny(), None)
    with pytest.raises(ArgumentError, match=r"^load_preset\(\): path must be a path .*got int"):
        mtl_engine.load_preset(3)
    with pytest.raises(ArgumentError, match=r"^load_preset\(\): path must be a non-empty path"):
        mtl_engine.load_preset("  ")
    assert list(tmp_path.iterdir()) == []


def test_bundle_functions_check_their_arguments(run_folder, tmp_path: Path) -> None:
    out, _ = run_folder
    with pytest.raises(ArgumentError, match=r"^load_bundle\(\): path must be a path"):
        mtl_engine.load_bundle(b"model.pt")
    with pytest.raises(ArgumentError, match=r"^load_bundle\(\): device must be a device name"):
        mtl_engine.load_bundle(out / "model.pt", device=0.5)
    with pytest.raises(ArgumentError, match=r"^load_bundle\(\): device must be a device name"):
        mtl_engine.load_bundle(out / "model.pt", device="gpu please")
    with pytest.raises(ArgumentError, match=r"^export_torchscript\(\): dest must be a path"):
        mtl_engine.export_torchscript(out / "model.pt", 12)
    with pytest.raises(ArgumentError, match=r"^export_program\(\): bundle must be a path"):
        mtl_engine.export_program(None, tmp_path / "m.pt2")
    assert list(tmp_path.iterdir()) == []


def _copy_log(run_folder, tmp_path: Path) -> tuple[Path, list[bytes]]:
    out, _ = run_folder
    lines = (out / EVENTS_FILE).read_bytes().splitlines(keepends=True)
    return tmp_path, lines


def test_read_run_skips_an_undecodable_line_and_names_it(run_folder, tmp_path: Path) -> None:
    folder, lines = _copy_log(run_folder, tmp_path)
    _, events = run_folder
    broken = list(lines)
    broken[2] = broken[2][:20] + b"\xff" + broken[2][20:]  # one stray byte in line 3
    (folder / EVENTS_FILE).write_bytes(b"".join(broken))
    record = mtl_engine.read_run(folder)
    assert record.warnings == [f"{folder / EVENTS_FILE}, line 3: not UTF-8 text; skipped"]
    assert len(record.events) == len(events) - 1
    assert record.events == events[:2] + events[3:]
    assert isinstance(record.finished, RunFinished)


def test_read_run_skips_a_line_that_is_not_an_event(run_folder, tmp_path: Path) -> None:
    folder, lines = _copy_log(run_folder, tmp_path)
    broken = [*lines[:2], b'{"event": "Nonsense"}\n', b"not json\n", *lines[2:],
              b'{"event": "StepsLo']
    (folder / EVENTS_FILE).write_bytes(b"".join(broken))
    record = mtl_engine.read_run(folder)
    path = folder / EVENTS_FILE
    assert record.warnings == [
        f"{path}, line 3: not a valid event ('Nonsense'); skipped",
        f"{path}, line 4: not a valid event (Expecting value: line 1 column 1 (char 0)); "
        "skipped",
        f"{path}, line {len(broken)}: cut off (the run stopped while writing it); skipped",
    ]
    assert len(record.events) == len(lines)


def test_read_run_refuses_what_is_no_run(run_folder, tmp_path: Path) -> None:
    folder, lines = _copy_log(run_folder, tmp_path)
    (folder / EVENTS_FILE).write_bytes(b"\xff\xfe" + b"".join(lines))
    with pytest.raises(BundleError) as info:
        mtl_engine.read_run(folder)
    assert str(info.value) == (f"{folder / EVENTS_FILE}: does not start with a readable "
                               f"RunStarted event ({folder / EVENTS_FILE}, line 1: not UTF-8 "
                               "text; skipped)")
    (tmp_path / "file").write_text("x")
    with pytest.raises(BundleError, match="not a run folder \\(it is a file\\)"):
        mtl_engine.read_run(tmp_path / "file")
    with pytest.raises(BundleError, match="not a run folder \\(no such folder\\)"):
        mtl_engine.read_run(tmp_path / "missing")
    with pytest.raises(ArgumentError, match=r"^read_run\(\): folder must be a path"):
        mtl_engine.read_run(5)


def test_a_clean_log_reads_without_warnings(run_folder) -> None:
    out, events = run_folder
    record = mtl_engine.read_run(out)
    assert record.warnings == [] and record.events == events


def test_the_public_names_resolve() -> None:
    for name in mtl_engine.__all__:
        assert getattr(mtl_engine, name) is not None, name


def test_errors_cross_a_process_boundary_intact() -> None:
    """A study's worker process hands its error back pickled: same class, message, fields."""
    import pickle

    from mtl_engine.errors import DataError, FileWriteError, UnknownNameError

    for exc in (ConfigError("training.seed", "must be an integer"),
                UnknownNameError("strategy", "uncertanty", ["uncertainty", "equal"],
                                 "strategy.name"),
                DataError("a.csv", "is not a number", "b", 4),
                ArgumentError("run", "config", "an ExperimentConfig or a config dict", 42),
                FileWriteError("/full/x.pt", "no space left on the device (disk full)", 28)):
        back = pickle.loads(pickle.dumps(exc))
        assert type(back) is type(exc) and str(back) == str(exc)
        assert vars(back) == vars(exc)
    back = pickle.loads(pickle.dumps(FileWriteError("/x", "disk full", 28)))
    assert (back.path, back.reason, back.errno) == ("/x", "disk full", 28)
