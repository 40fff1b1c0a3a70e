"""The window meets an unlucky disk and hostile files: every failed save or export says one line
naming the path and the reason, leaves nothing behind and changes nothing; File > Open of a
hostile preset comes back with a message instead of freezing the window."""

from __future__ import annotations

import errno
import faulthandler
import os
from pathlib import Path

import pytest

import mtl_engine.presets as presets
from mtl_engine.config import from_dict
from mtl_engine.training import run

TINY = {
    "name": "tiny digits",
    "data": {"dataset": "digits", "params": {"image": False}, "val_fraction": 0.25},
    "trunk": [{"type": "linear", "out_features": 16}, {"type": "relu"}],
    "tasks": [{"name": "digit"}, {"name": "parity"}],
    "strategy": {"name": "equal"},
    "training": {"epochs": 1, "batch_size": 64, "seed": 1, "device": "cpu", "log_every": 2,
                 "max_steps_per_epoch": 4},
}

BILLION_LAUGHS = "".join(
    [f'a: &a [{", ".join(["lol"] * 9)}]\n']
    + [f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi")]
    + ["name: laughs\ndescription: *i\n"])


def _disk_full(monkeypatch: pytest.MonkeyPatch) -> None:
    def fsync(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", fsync)


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run")
    list(run(from_dict(TINY), out_dir=out))
    return out


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*"))


def test_saving_onto_a_full_disk_says_so_and_keeps_the_changes(window, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    assert window.session.path is None
    window.session.edit(lambda d: d.update(name="changed"))
    _disk_full(monkeypatch)
    dest = tmp_path / "p.yaml"
    assert not window._save(dest)
    assert window.message_bar.isVisible()
    assert window.message_bar.text == (f"Not saved: {dest}: cannot write: no space left on the "
                                       "device (disk full)")
    assert window.session.path is None and window.session.dirty
    assert window.session.draft["name"] == "changed"
    assert _files(tmp_path) == []
    assert window.isWindowModified()


@pytest.mark.parametrize("case", ["parent is a file", "target is a folder"])
def test_save_as_onto_an_impossible_path_is_one_line(window, tmp_path: Path, case: str) -> None:
    if case == "parent is a file":
        (tmp_path / "notes").write_text("mine")
        dest = tmp_path / "notes" / "p.yaml"
        reason = f"{tmp_path / 'notes'} is a file, not a folder"
    else:
        dest, reason = tmp_path / "p.yaml", "it is a folder, not a file"
        dest.mkdir()
    window.ask_save_path = lambda *a: dest  # type: ignore[method-assign]
    assert not window.save_as()
    assert window.message_bar.text == f"Not saved: {dest}: cannot write: {reason}"
    assert window.session.path is None
    assert window.settings.recent() == []


def test_a_csv_export_that_fails_part_way_leaves_no_new_file(window, run_folder: Path,
                                                            tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    window.open_run_folder(run_folder)
    window.open_run_folder(run_folder)
    for r in window.session.runs:
        window.session.set_visible(r, True)
    (tmp_path / "run1_steps.csv").write_text("older export\n")  # an older file is replaced
    real = os.fsync
    calls = []

    def fsync(fd: int) -> None:  # the third file (run2_steps.csv) hits a full disk
        calls.append(fd)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    assert window.export_csv(tmp_path) == []
    assert window.message_bar.text == (
        f"CSV export failed, nothing new written: {tmp_path / 'run2_steps.csv'}: cannot write: "
        "no space left on the device (disk full)")
    assert _files(tmp_path) == ["run1_steps.csv"]
    monkeypatch.setattr(os, "fsync", real)
    files = window.export_csv(tmp_path)
    assert [p.name for p in files] == ["run1_steps.csv", "run1_epochs.csv", "run2_steps.csv",
                                       "run2_epochs.csv"]


@pytest.mark.parametrize("torchscript", [False, True])
def test_a_model_export_to_a_full_disk_leaves_no_temporary_file(
        window, run_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        torchscript: bool) -> None:
    entry = window.open_run_folder(run_folder)
    assert entry is not None and entry.model_file is not None
    _disk_full(monkeypatch)
    dest = tmp_path / ("m.ts" if torchscript else "m.pt")
    assert window.export_model(entry, torchscript=torchscript, dest=dest) is None
    assert window.message_bar.text == (f"Export failed: {dest}: cannot write: no space left on "
                                       "the device (disk full)")
    assert _files(tmp_path) == []


def _open_in_time(window, path: Path) -> bool:  # noqa: ANN001
    """File > Open through the dialog the user sees (the picker answered with `path`)."""
    window.ask_open_path = lambda *a, **k: path  # type: ignore[method-assign]
    return window.open_dialog()


@pytest.mark.parametrize(("content", "message"), [
    (BILLION_LAUGHS, "at line 1, column 4: the value anchored here (&name) is used again "
                     "through an alias (*name); presets do not accept aliases"),
    ("name: a\nname: b\n", "at line 2, column 1: duplicate key 'name' (first at line 1)"),
    (None, "bytes; a preset may hold at most 4,194,304"),
    ("- 1\n" * 1_000_000, "holds more than 20,000 values; a preset holds a few hundred"),
])
def test_file_open_of_a_hostile_preset_comes_back_with_a_message(
        window, qtbot, tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "hostile.yaml"
    if content is None:
        with open(path, "wb") as f:
            f.write(b"name: big\n")
            f.truncate(60 * 1024 * 1024)
    else:
        path.write_text(content)
    before = dict(window.session.draft)
    # A watchdog, not a speed assertion: a parse that hung would freeze the window (and the
    # suite); this ends it with every thread's traceback instead.
    faulthandler.dump_traceback_later(60, exit=True)
    try:
        assert not _open_in_time(window, path)
    finally:
        faulthandler.cancel_dump_traceback_later()
    assert window.message_bar.isVisible()
    assert window.message_bar.text.startswith(f"Could not open {path}")
    assert window.message_bar.text.count(str(path)) == 1
    assert message in window.message_bar.text
    assert len(window.message_bar.text) < 400
    assert window.session.draft == before
    qtbot.wait(10)  # the event loop still turns
    assert window.open_preset(presets.builtin_presets()["digits_cascade"])
