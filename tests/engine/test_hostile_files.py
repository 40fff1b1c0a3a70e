"""Hostile and unlucky files: every write fails as one line naming the path and the reason and
leaves nothing behind; presets are bounded (size, aliases, duplicate keys, numbers); data values
are checked in the dtype training uses (float32)."""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from mtl_engine import presets
from mtl_engine.build import load_dataset
from mtl_engine.config import SEED_MAX, to_dict
from mtl_engine.errors import ConfigError, DataError, FileWriteError, MTLError
from mtl_engine.export import copy_bundle, export_program, export_torchscript
from mtl_engine.fileio import atomic_write_bytes
from mtl_engine.training import run

from .conftest import TINY, tiny

IS_ROOT = os.geteuid() == 0
NEEDS_ROOT = "mounting a small tmpfs needs root (CI runs as root)"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run")
    list(run(tiny(), out_dir=out))
    return out / "model.pt"


# Each writer the engine offers, as (name, dest -> None).
def _writers(bundle: Path) -> dict[str, Callable[[Path], Any]]:
    return {
        "preset": lambda dest: presets.save(tiny(), dest),
        "bundle copy": lambda dest: copy_bundle(bundle, dest),
        "torchscript": lambda dest: export_torchscript(bundle, dest),
        "torch.export": lambda dest: export_program(bundle, dest),
    }


WRITERS = ("preset", "bundle copy", "torchscript", "torch.export")


def _listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@contextlib.contextmanager
def _tmpfs(where: Path, size: str = "64k", *options: str) -> Iterator[Path]:
    if not IS_ROOT:
        pytest.skip(NEEDS_ROOT)
    where.mkdir(parents=True, exist_ok=True)
    opts = ",".join((f"size={size}", *options))
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(where)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def _fill(path: Path) -> None:
    """Fill the disk holding `path` to the last page."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        for size in (65536, 4096, 1):
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, b"\0" * size)
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- file system


@pytest.mark.parametrize("writer", WRITERS)
def test_writing_onto_a_folder_is_one_line_naming_it(bundle: Path, tmp_path: Path,
                                                     writer: str) -> None:
    dest = tmp_path / "taken"
    dest.mkdir()
    with pytest.raises(FileWriteError) as info:
        _writers(bundle)[writer](dest)
    assert str(info.value) == f"{dest}: cannot write: it is a folder, not a file"
    assert _listing(tmp_path) == ["taken"]


@pytest.mark.parametrize("writer", WRITERS)
def test_a_file_where_a_folder_should_be_is_named(bundle: Path, tmp_path: Path,
                                                  writer: str) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    dest = tmp_path / "notes.txt" / "sub" / "out.bin"
    with pytest.raises(FileWriteError) as info:
        _writers(bundle)[writer](dest)
    assert str(info.value) == (f"{dest}: cannot write: {tmp_path / 'notes.txt'} is a file, not "
                               "a folder")
    assert "\n" not in str(info.value)
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert _listing(tmp_path) == ["notes.txt"]


def test_file_write_error_is_an_mtl_error_and_an_os_error(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    with pytest.raises(FileWriteError) as info:
        atomic_write_bytes(tmp_path / "d", b"x")
    assert isinstance(info.value, MTLError) and isinstance(info.value, OSError)
    assert info.value.path == str(tmp_path / "d")
    assert info.value.errno is None  # refused before any system call


@pytest.mark.parametrize("writer", WRITERS)
def test_a_full_disk_leaves_no_partial_or_temporary_file(bundle: Path, tmp_path: Path,
                                                         writer: str) -> None:
    with _tmpfs(tmp_path / "disk", "64k") as disk:
        (disk / "old.bin").write_bytes(b"old")  # an earlier file of the same name survives
        _fill(disk / "filler")
        before = _listing(disk)
        with pytest.raises(FileWriteError) as info:
            _writers(bundle)[writer](disk / "old.bin")
        assert str(info.value) == (f"{disk / 'old.bin'}: cannot write: no space left on the "
                                   "device (disk full)")
        assert info.value.errno == errno.ENOSPC
        assert _listing(disk) == before
        assert (disk / "old.bin").read_bytes() == b"old"
        with pytest.raises(FileWriteError):  # in a new subfolder: the folder goes too
            _writers(bundle)[writer](disk / "new" / "deeper" / "out.bin")
        assert _listing(disk) == before


@pytest.mark.parametrize("writer", WRITERS)
def test_a_read_only_file_system_is_named(bundle: Path, tmp_path: Path, writer: str) -> None:
    with _tmpfs(tmp_path / "ro", "64k", "ro") as disk:
        with pytest.raises(FileWriteError) as info:
            _writers(bundle)[writer](disk / "out.bin")
        assert str(info.value) == f"{disk / 'out.bin'}: cannot write: the file system is read-only"
        assert _listing(disk) == []


def test_a_folder_without_write_permission_is_named() -> None:
    """A real EACCES. Root ignores permission bits, so as root (CI) the write runs in a child
    process as the user nobody."""
    import shutil
    import sys
    import tempfile

    top = Path(tempfile.mkdtemp(prefix="mtl-perm-"))  # not under pytest's root-only folder
    try:
        top.chmod(0o777)  # writable by the child: only the file itself says no
        locked = top / "locked"
        locked.mkdir()
        locked.chmod(0o555)
        dest = locked / "p.yaml"
        kept = top / "kept.yaml"  # a read-only file in a writable folder
        kept.write_text("mine\n")
        kept.chmod(0o444)
        if IS_ROOT:
            os.chown(kept, 65534, 65534)
        code = ("from mtl_engine import presets\nfrom mtl_engine.errors import FileWriteError\n"
                f"for dest in ({str(dest)!r}, {str(kept)!r}):\n    try:\n"
                "        presets.save(presets.load('digits_cascade'), dest)\n"
                "    except FileWriteError as e:\n        print(e)\n")
        cmd = [sys.executable, "-c", code]
        if IS_ROOT:
            if shutil.which("setpriv") is None:
                pytest.skip("running as root without setpriv: cannot drop to a plain user")
            cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=top,
                              env={**os.environ, "HOME": str(top)}, timeout=300)
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines() == [f"{dest}: cannot write: permission denied",
                                            f"{kept}: cannot write: the file is read-only"]
        assert list(locked.iterdir()) == []
        assert kept.read_text() == "mine\n"
    finally:
        shutil.rmtree(top, ignore_errors=True)


@pytest.mark.parametrize(("code", "reason"), [
    (errno.ENOSPC, "no space left on the device (disk full)"),
    (errno.EACCES, "permission denied"),
    (errno.EROFS, "the file system is read-only"),
    (errno.EIO, "input/output error"),
])
@pytest.mark.parametrize("where", ["write", "fsync"])
def test_a_failing_write_or_fsync_leaves_the_old_file_and_no_temporary(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, code: int, reason: str,
        where: str) -> None:
    """Always runs (no root needed): the disk fails during the data write, or only when the data
    is flushed to the device (where a full disk often surfaces)."""
    dest = tmp_path / "sub" / "p.yaml"
    presets.save(tiny(), dest)
    old = dest.read_bytes()
    real_fdopen = os.fdopen

    class Failing:
        def __init__(self, f: Any) -> None:
            self.f = f

        def write(self, data: bytes) -> int:
            self.f.write(bytes(data)[:10])  # something reached the temporary file
            raise OSError(code, os.strerror(code))

        def __getattr__(self, name: str) -> Any:
            return getattr(self.f, name)

        def __enter__(self) -> Failing:
            return self

        def __exit__(self, *exc: object) -> None:
            self.f.close()

    def fsync(fd: int) -> None:
        raise OSError(code, os.strerror(code))

    if where == "write":
        monkeypatch.setattr(os, "fdopen", lambda fd, mode: Failing(real_fdopen(fd, mode)))
    else:
        monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(FileWriteError) as info:
        presets.save(tiny(name="changed"), dest)
    assert str(info.value) == f"{dest}: cannot write: {reason}"
    assert info.value.errno == code
    assert dest.read_bytes() == old
    assert _listing(tmp_path) == ["sub", "sub/p.yaml"]
    with pytest.raises(FileWriteError):
        presets.save(tiny(), tmp_path / "a" / "b" / "p.yaml")
    assert _listing(tmp_path) == ["sub", "sub/p.yaml"]  # the folders it made are gone too


def test_a_failing_export_leaves_no_temporary(monkeypatch: pytest.MonkeyPatch, bundle: Path,
                                              tmp_path: Path) -> None:
    def fsync(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", fsync)
    for name, write in _writers(bundle).items():
        with pytest.raises(FileWriteError, match="disk full"):
            write(tmp_path / f"{name}.out")
    assert _listing(tmp_path) == []


# --------------------------------------------------------------------------- presets

BILLION_LAUGHS = """\
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
name: laughs
description: *i
"""


def _bounded(call: Callable[[], Any], seconds: float = 20.0) -> BaseException | None:
    """Run `call` in a thread; the error it raised. A hang fails the test (the bound is a
    watchdog against hanging the suite, not a speed assertion)."""
    result: list[BaseException | None] = []

    def target() -> None:
        try:
            call()
            result.append(None)
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            result.append(exc)

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), "the parse did not finish: it hangs"
    return result[0]


def test_the_billion_laughs_is_refused_before_anything_expands(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "laughs.yaml"
    path.write_text(BILLION_LAUGHS)
    assert len(BILLION_LAUGHS) < 1000

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("the document was constructed: aliases were expanded")

    monkeypatch.setattr(presets._Loader, "construct_document", never)
    exc = _bounded(lambda: presets.load(path))
    assert isinstance(exc, ConfigError)
    assert str(exc) == (f"{path} at line 1, column 4: the value anchored here (&name) is used "
                        "again through an alias (*name); presets do not accept aliases, write "
                        "the value out")


@pytest.mark.parametrize("text", [
    "base: &b {lr: 0.1}\noptimizer:\n  <<: *b\n",  # a merge key is an alias too
    "name: &n x\ndescription: *n\n",
])
def test_every_alias_is_refused_with_its_line(text: str) -> None:
    with pytest.raises(ConfigError, match=r"^preset at line 1, column \d+: the value anchored"):
        presets.loads(text)


def test_an_anchor_without_an_alias_is_harmless() -> None:
    d = to_dict(tiny())
    text = presets.dumps(d).replace("name: tiny digits", "name: &n tiny digits", 1)
    assert presets.loads(text) == tiny()


def test_the_c_loader_is_used_when_libyaml_is_there() -> None:
    if not getattr(yaml, "__with_libyaml__", False):
        pytest.skip("PyYAML was built without libyaml here")
    assert issubclass(presets._Loader, yaml.CSafeLoader)
    assert issubclass(presets._Loader, yaml.constructor.SafeConstructor)


def test_a_preset_over_the_size_limit_is_refused_before_it_is_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.yaml"
    with open(path, "wb") as f:  # 50 MB of comments: valid YAML, sparse on disk
        f.write(b"name: big\n")
        f.seek(50 * 1024 * 1024)
        f.write(b"# end\n")

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("parsed anyway")

    monkeypatch.setattr(yaml, "load", never)
    with pytest.raises(ConfigError) as info:
        presets.load(path)
    assert str(info.value) == (f"{path}: is 52,428,806 bytes; a preset may hold at most "
                               "4,194,304")
    with pytest.raises(ConfigError, match="a preset may hold at most 4,194,304"):
        presets.loads("#" * (presets.MAX_BYTES + 1))


@pytest.mark.parametrize("text", [
    "- 1\n" * 1_000_000,  # 4 MB: under the size limit, but a million values
    "trunk: [" + "{type: relu}, " * 20_000 + "]\n",
])
def test_a_preset_of_too_many_values_is_refused_while_composing(
        text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert len(text) <= presets.MAX_BYTES

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("constructed anyway")

    monkeypatch.setattr(presets._Loader, "construct_document", never)
    with pytest.raises(ConfigError) as info:
        presets.loads(text)
    assert str(info.value) == "preset: holds more than 20,000 values; a preset holds a few hundred"


def test_the_value_limit_leaves_room_for_real_presets() -> None:
    def count(node: yaml.Node) -> int:
        if isinstance(node, yaml.SequenceNode):
            return 1 + sum(map(count, node.value))
        if isinstance(node, yaml.MappingNode):
            return 1 + sum(count(k) + count(v) for k, v in node.value)
        return 1

    largest = max(count(yaml.compose(p.read_text())) for p in presets.builtin_presets().values())
    assert largest * 50 < presets.MAX_NODES
    d = to_dict(tiny())
    d["trunk"] = [{"type": "linear", "out_features": 8}, {"type": "relu"}] * 1000
    assert len(presets.loads(presets.dumps(d)).trunk) == 2000  # a deep model still loads


def test_a_duplicate_key_is_refused_naming_the_key_and_both_lines() -> None:
    text = presets.dumps(tiny())
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip().startswith("lr:"))
    lines.insert(at + 1, "  lr: 0.5")
    with pytest.raises(ConfigError) as info:
        presets.loads("\n".join(lines))
    assert str(info.value) == (f"preset at line {at + 2}, column 3: duplicate key 'lr' (first at "
                               f"line {at + 1}); each key may appear once")
    with pytest.raises(ConfigError, match=r"line 3, column 1: duplicate key 'name' \(first at "
                                          r"line 1\)"):
        presets.loads("name: a\ndescription: b\nname: c\n")
    with pytest.raises(ConfigError, match="duplicate key 'lr'"):
        presets.loads("optimizer: {lr: 1, lr: 2}\n")


def _preset_with(section: str, key: str, value: str) -> str:
    d = to_dict(tiny())
    d[section][key] = "@@"
    return yaml.safe_dump(d, sort_keys=False).replace("'@@'", value)


def test_a_huge_string_value_gives_a_short_message() -> None:
    value = "x" * 1_000_000
    with pytest.raises(ConfigError) as info:
        presets.loads(_preset_with("training", "seed", f"'{value}'"))
    msg = str(info.value)
    assert msg.startswith("training.seed: must be an integer in [0, 4294967295], got 'xxx")
    assert len(msg) < 200 and "..." in msg
    with pytest.raises(ConfigError) as info:
        presets.loads(_preset_with("strategy", "name", f"'{value}'"))
    assert str(info.value).startswith("strategy.name: unknown strategy 'xxx")
    assert len(str(info.value)) < 1000


@pytest.mark.parametrize(("section", "key", "value", "message"), [
    ("training", "seed", str(2**70),
     "training.seed: must be an integer in [0, 4294967295], got 1180591620717411303424"),
    ("training", "seed", str(2**32),
     "training.seed: must be an integer in [0, 4294967295], got 4294967296"),
    ("training", "seed", "9" * 400,
     "training.seed: must be an integer in [0, 4294967295], got <an integer of 400 digits>"),
    ("training", "epochs", "9" * 400,
     "training.epochs: must be a positive integer, got <an integer of 400 digits>, beyond the "
     "range of a 64-bit integer"),
    ("optimizer", "lr", "9" * 400,
     "optimizer.lr: must be a number >= 0, got <an integer of 400 digits>, beyond the range of "
     "a number"),
    ("optimizer", "lr", "-" + "9" * 400,
     "optimizer.lr: must be a number >= 0, got <a negative integer of 400 digits>, beyond the "
     "range of a number"),
    ("optimizer", "lr", "3.0e+999", "optimizer.lr: must be a finite number, got inf"),
    ("training", "batch_size", "1.0e+300",
     "training.batch_size: must be a positive integer, got 1e+300, beyond the range of a 64-bit "
     "integer"),
])
def test_numbers_beyond_range_are_refused_naming_the_field(section: str, key: str, value: str,
                                                           message: str) -> None:
    with pytest.raises(ConfigError) as info:
        presets.loads(_preset_with(section, key, value))
    assert str(info.value) == message


def test_the_largest_seed_is_accepted_and_trains() -> None:
    config = presets.loads(_preset_with("training", "seed", str(SEED_MAX)))
    assert config.training.seed == 2**32 - 1
    events = list(run(config.replace(training=config.training.__class__(
        **{**to_dict(config)["training"], "epochs": 1, "max_steps_per_epoch": 2}))))
    assert type(events[-1]).__name__ == "RunFinished"


def test_a_number_python_cannot_read_names_its_line() -> None:
    with pytest.raises(ConfigError) as info:
        presets.loads("name: x\ndescription: y\ntrunk: " + "9" * 5000 + "\n")
    assert str(info.value).startswith("preset at line 3, column 8: the number '9999")
    assert "has too many digits" in str(info.value) and len(str(info.value)) < 300


def test_deep_nesting_and_bad_bytes_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid YAML"):
        presets.loads("name: " + "[" * 5000 + "]" * 5000)
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"name: x\ndescription: caf\xe9\n")
    with pytest.raises(ConfigError) as info:
        presets.load(path)
    assert str(info.value) == f"{path}: is not UTF-8 text (line 2)"
    folder = tmp_path / "a_folder.yaml"
    folder.mkdir()
    with pytest.raises(ConfigError, match="is a folder, not a preset file"):
        presets.load(folder)


def test_the_shipped_presets_still_load() -> None:
    for name, path in presets.builtin_presets().items():
        assert presets.load(path).name, name


# --------------------------------------------------------------------------- data


def _csv(tmp_path: Path, text: str) -> str:
    path = tmp_path / "data.csv"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("value", ["1e39", "-1e39", "1e308", "3.5e38"])
def test_a_csv_input_beyond_float32_is_refused_with_file_column_and_row(tmp_path: Path,
                                                                        value: str) -> None:
    path = _csv(tmp_path, f"a,b,y\n1,2,0\n3,4,1\n5,{value},0\n7,8,1\n")
    with pytest.raises(DataError) as info:
        load_dataset("csv", {"path": path, "tasks": ["y:binary"]})
    assert str(info.value) == (f"{path}, column 'b', row 4: {value!r} is beyond the range of "
                               "float32 (about ±3.4e38), the type training uses")


def test_a_csv_regression_target_beyond_float32_is_refused(tmp_path: Path) -> None:
    path = _csv(tmp_path, "a,y\n1,0.5\n2,1e308\n3,2\n")
    with pytest.raises(DataError, match=r"column 'y', row 3: '1e308' is beyond the range of "
                                        "float32"):
        load_dataset("csv", {"path": path, "tasks": ["y:regression"]})


def test_the_largest_float32_values_are_accepted(tmp_path: Path) -> None:
    path = _csv(tmp_path, "a,y\n3.4e38,1\n-3.4e38,2\n0,3\n")
    ds = load_dataset("csv", {"path": path, "tasks": ["y:regression"], "standardize": False})
    assert ds.x.dtype == np.float32 and np.isfinite(ds.x).all()
    assert ds.x[0, 0] == np.float32(3.4e38)


def test_npz_inputs_and_targets_beyond_float32_are_refused(tmp_path: Path) -> None:
    x = np.zeros((6, 2, 3))
    x[4, 1, 2] = 1e308
    y = np.arange(6) % 2
    np.savez(tmp_path / "a.npz", x=x, y=y)
    with pytest.raises(DataError) as info:
        load_dataset("npz", {"path": str(tmp_path / "a.npz"), "tasks": ["y:binary"]})
    assert str(info.value) == (f"{tmp_path / 'a.npz'}, column 'x', row 5: value 1e+308 is beyond "
                               "the range of float32 (about ±3.4e38), the type training uses")
    r = np.array([0.0, 1.0, -1e39, 2.0, 3.0, 4.0])
    np.savez(tmp_path / "b.npz", x=np.zeros((6, 2)), r=r)
    with pytest.raises(DataError, match=r"column 'r', row 3: value -1e\+39 is beyond the range"):
        load_dataset("npz", {"path": str(tmp_path / "b.npz"), "tasks": ["r:regression"]})
    np.savez(tmp_path / "c.npz", x=np.full((6, 2), 3.0e38), r=r.clip(-1, 5))
    ds = load_dataset("npz", {"path": str(tmp_path / "c.npz"), "tasks": ["r:regression"]})
    assert np.isfinite(ds.x).all() and ds.x.dtype == np.float32


def test_tiny_config_unchanged() -> None:
    assert TINY["training"]["seed"] == 3  # the helpers above build on the shared config


def test_names_near_and_over_the_system_limit(tmp_path: Path) -> None:
    long_ok = tmp_path / ("p" * 250 + ".yaml")  # 255 bytes: allowed, and so is its temporary
    presets.save(tiny(), long_ok)
    assert presets.load(long_ok) == tiny()
    too_long = tmp_path / ("p" * 300 + ".yaml")
    with pytest.raises(FileWriteError) as info:
        presets.save(tiny(), too_long)
    assert str(info.value) == f"{too_long}: cannot write: the name is too long"
    assert _listing(tmp_path) == [long_ok.name]


def test_a_preview_reads_only_the_start_of_a_big_file(tmp_path: Path) -> None:
    """The import dialog previews on the GUI thread: it shows the first rows and reads at most
    GUESS_BYTES for its role guesses; rows past the shown ones are not checked by a preview."""
    from mtl_engine.data.tabular import PREVIEW_BYTES, preview_table

    rows = "".join(f"{i},{i % 3}\n" for i in range(400_000))  # about 3.5 MB
    path = tmp_path / "big.csv"
    path.write_text("a,label\n" + rows + "1,2,3,4\n")  # a ragged row far past the preview
    assert path.stat().st_size > 3 * PREVIEW_BYTES
    header, first = preview_table(str(path), n_rows=20)
    assert header == ["a", "label"] and first[19] == ["19", "1"]
    with pytest.raises(DataError, match="row 400002"):  # a full read still checks every row
        load_dataset("csv", {"path": str(path), "tasks": ["label:classification"]})
    (tmp_path / "one_line.csv").write_text("x" * (2 * PREVIEW_BYTES))
    with pytest.raises(DataError, match=r"row 1: its first line is longer than 1,048,576 bytes"):
        preview_table(str(tmp_path / "one_line.csv"))


def test_an_npz_preview_reads_headers_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                           ) -> None:
    from mtl_engine.data.tabular import preview_table

    path = tmp_path / "a.npz"
    np.savez_compressed(path, x=np.zeros((50, 4, 4), np.float32), y=np.array(["a", "bb"] * 25))

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("the arrays were loaded for a preview")

    monkeypatch.setattr(np, "load", never)
    assert preview_table(str(path)) == (["array", "shape", "dtype"],
                                        [["x", "(50, 4, 4)", "float32"], ["y", "(50,)", "<U2"]])
