"""The start-up diagnosis that replaces Qt's misleading "xcb-cursor0 is needed" line."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from mtl_gui import qt_platform as qp

# ldd on PySide6 6.11's libqxcb.so on a fresh Debian 12 with only libxcb-cursor0 added (trimmed):
# icccm4 and keysyms1 are missing; libQt6XcbQpa's own lookups repeat them further down.
FRESH_DEBIAN_LDD = """\
\tlinux-vdso.so.1 (0x00007ffd5a3f2000)
\tlibQt6XcbQpa.so.6 => /v/PySide6/Qt/plugins/platforms/../../lib/libQt6XcbQpa.so.6 (0x7f1)
\tlibxkbcommon-x11.so.0 => /lib/x86_64-linux-gnu/libxkbcommon-x11.so.0 (0x00007f2)
\tlibxcb-cursor.so.0 => /lib/x86_64-linux-gnu/libxcb-cursor.so.0 (0x00007f3)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-util.so.1 => /lib/x86_64-linux-gnu/libxcb-util.so.1 (0x00007f4)
\tlibxcb-keysyms.so.1 => not found
\tlibxcb-randr.so.0 => /lib/x86_64-linux-gnu/libxcb-randr.so.0 (0x00007f5)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-keysyms.so.1 => not found
\tlibstdc++.so.6 => /lib/x86_64-linux-gnu/libstdc++.so.6 (0x00007f6)
\t/lib64/ld-linux-x86-64.so.2 (0x00007f7)
"""


def test_ldd_output_gives_each_missing_library_once_in_order() -> None:
    assert qp.parse_ldd(FRESH_DEBIAN_LDD) == ["libxcb-icccm.so.4", "libxcb-keysyms.so.1"]
    assert qp.parse_ldd("\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x1)\n") == []
    assert qp.parse_ldd("\tnot a dynamic executable\n") == []


def test_libraries_map_to_debian_packages_and_unknown_ones_keep_their_name() -> None:
    assert qp.packages_for(["libxcb-icccm.so.4", "libxcb-keysyms.so.1"]) == [
        "libxcb-icccm4", "libxcb-keysyms1"]
    assert qp.package_for("libxkbcommon-x11.so.0") == "libxkbcommon-x11-0"
    assert qp.package_for("libEGL.so.1") == "libegl1"
    # two libraries of one package ask for it once
    assert qp.packages_for(["libglib-2.0.so.0", "libgthread-2.0.so.0"]) == ["libglib2.0-0"]
    assert qp.package_for("libfoo.so.3") == "libfoo.so.3"


def test_the_message_names_the_libraries_and_the_apt_command() -> None:
    text = qp.library_problem(qp.parse_ldd(FRESH_DEBIAN_LDD))
    first, second = text.splitlines()
    assert "libxcb-icccm.so.4, libxcb-keysyms.so.1" in first
    assert "cursor0" not in text
    assert second.strip() == "sudo apt-get install libxcb-icccm4 libxcb-keysyms1"
    broken = qp.library_problem(["libQt6XcbQpa.so.6"])
    assert "PySide6" in broken and "libQt6XcbQpa.so.6" in broken and "apt-get" not in broken


@pytest.mark.parametrize(("value", "plugin"), [
    ("", ""), ("xcb", "xcb"), ("xcb:nograb", "xcb"), ("wayland;xcb", "wayland"),
    ("offscreen:configfile=/tmp/s.json", "offscreen")])
def test_the_requested_platform_is_the_first_one_named(value: str, plugin: str) -> None:
    assert qp.requested_platform({"QT_QPA_PLATFORM": value}) == plugin


def test_only_xcb_is_checked_and_a_missing_display_is_named(tmp_path: Path) -> None:
    absent = tmp_path / "no-plugin.so"  # no file: the library check says nothing
    assert qp.startup_problem({"QT_QPA_PLATFORM": "offscreen"}, absent) is None
    assert qp.startup_problem({"WAYLAND_DISPLAY": "wayland-0"}, absent) is None
    for env in ({}, {"QT_QPA_PLATFORM": "xcb"}, {"QT_QPA_PLATFORM": "xcb",
                                                 "WAYLAND_DISPLAY": "wayland-0"}):
        problem = qp.startup_problem(env, absent)
        assert problem is not None and "no X display" in problem and "xvfb-run" in problem


def _free_display() -> int:
    """A display number with no server on it (abstract or file socket)."""
    for num in range(4000 + os.getpid() % 1000, 6000):
        if not qp.display_answers(f":{num}", 0.5):
            return num
    raise AssertionError("no free display number")


def test_a_display_answers_only_when_a_server_listens() -> None:
    num = _free_display()
    assert not qp.display_answers(f":{num}", 0.5)
    problem = qp.startup_problem({"DISPLAY": f":{num}.0"}, Path("/nonexistent/libqxcb.so"))
    assert problem is not None and f"DISPLAY=:{num}.0" in problem
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(f"\0/tmp/.X11-unix/X{num}")  # the abstract socket an X server opens
        server.listen(1)
        assert qp.display_answers(f":{num}", 0.5)
        assert qp.display_answers(f"unix:{num}.0", 0.5)
    with socket.socket() as tcp:  # host:N is TCP port 6000 + N
        tcp.bind(("127.0.0.1", 0))
        port = tcp.getsockname()[1]
        if port < 6000:
            pytest.skip(f"the system gave port {port}, below X's 6000")
        assert not qp.display_answers(f"127.0.0.1:{port - 6000}", 0.5)
        tcp.listen(1)
        assert qp.display_answers(f"127.0.0.1:{port - 6000}", 0.5)
    assert qp.display_answers("/private/tmp/launchd/org.xquartz:0")  # unparsed: Qt decides


@pytest.fixture
def fake_plugin(tmp_path: Path) -> Path:
    """A shared library linked against one that is then deleted: ldd reports it not found."""
    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        pytest.skip("no C compiler (gcc) to build a plugin with a missing library")
    (tmp_path / "stub.c").write_text("int mtl_stub(void) { return 0; }\n")
    (tmp_path / "plug.c").write_text("int mtl_stub(void);\nint plug(void) { return mtl_stub(); }\n")
    soname = "libmtl-absent-xcb-test.so.7"
    subprocess.run([gcc, "-shared", "-fPIC", "-o", soname, f"-Wl,-soname,{soname}", "stub.c"],
                   cwd=tmp_path, check=True)
    subprocess.run([gcc, "-shared", "-fPIC", "-o", "libqxcb.so", "plug.c", "-Wl,--no-as-needed",
                    "-L.", f"-l:{soname}"], cwd=tmp_path, check=True)
    (tmp_path / soname).unlink()
    return tmp_path / "libqxcb.so"


def test_a_plugin_with_a_deleted_dependency_is_diagnosed(fake_plugin: Path) -> None:
    assert qp.missing_libraries(fake_plugin) == ["libmtl-absent-xcb-test.so.7"]
    problem = qp.startup_problem({"DISPLAY": ":0", "QT_QPA_PLATFORM": "xcb"}, fake_plugin)
    assert problem is not None
    assert problem.splitlines()[1].strip() == "sudo apt-get install libmtl-absent-xcb-test.so.7"


def test_the_app_prints_the_diagnosis_and_exits_1_instead_of_starting_qt(fake_plugin: Path
                                                                         ) -> None:
    code = ("import sys; from pathlib import Path; from mtl_gui import qt_platform; "
            f"qt_platform.xcb_plugin = lambda: Path({str(fake_plugin)!r}); "
            "from mtl_gui.app import run_app; sys.exit(run_app())")
    env = {**os.environ, "DISPLAY": ":0", "QT_QPA_PLATFORM": "xcb"}
    env.pop("WAYLAND_DISPLAY", None)
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=120, check=False)
    assert res.returncode == 1, res.stderr
    lines = res.stderr.strip().splitlines()
    assert lines[0].startswith("MTL Explorer cannot start: Qt's X11 platform plugin (xcb)")
    assert "libmtl-absent-xcb-test.so.7" in lines[0]
    assert lines[1].strip() == "sudo apt-get install libmtl-absent-xcb-test.so.7"
    assert "xcb-cursor0" not in res.stderr


def test_qt_runs_on_the_platform_the_environment_asks_for(qapp) -> None:  # noqa: ANN001
    """Offscreen by default (conftest.py); CI's second pass asks for xcb under Xvfb, and this
    proves the tests really ran there."""
    from PySide6.QtGui import QGuiApplication

    assert QGuiApplication.platformName() == qp.requested_platform(os.environ)
