"""Why Qt cannot open a window, said in words before Qt tries.

When Qt's X11 platform plugin (xcb) cannot load, Qt aborts with "From 6.5.0, xcb-cursor0 or
libxcb-cursor0 is needed ...", whatever is really missing (on a fresh Debian 12 it is
libxcb-icccm4 and libxcb-keysyms1), and the same line when no X server answers at all. Qt gives
no way to catch that failure in Python: it aborts the process. So before the QApplication exists
we ask the dynamic linker (``ldd`` on the plugin, which follows libQt6XcbQpa and the rest) which
libraries it cannot find, and check that the display answers, and name what to do.

``python -m mtl_gui.qt_platform`` prints the diagnosis; ``--packages`` prints only the Debian
packages the plugin still needs (CI installs them).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

# The system libraries Qt 6's xcb plugin links (readelf -d on libqxcb.so, libQt6XcbQpa.so.6,
# libQt6Gui.so.6, libQt6DBus.so.6), with the Debian 12 / Ubuntu package shipping each (dpkg -S).
DEBIAN_PACKAGES: dict[str, str] = {
    "libxcb.so.1": "libxcb1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-glx.so.0": "libxcb-glx0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libX11.so.6": "libx11-6",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libXau.so.6": "libxau6",
    "libXdmcp.so.6": "libxdmcp6",
    "libGL.so.1": "libgl1",
    "libGLX.so.0": "libglx0",
    "libGLdispatch.so.0": "libglvnd0",
    "libEGL.so.1": "libegl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libdbus-1.so.3": "libdbus-1-3",
    "libpng16.so.16": "libpng16-16",
    "libexpat.so.1": "libexpat1",
    "libzstd.so.1": "libzstd1",
    "libz.so.1": "zlib1g",
}

_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found\s*$")
_BUNDLED = ("libQt6", "libicu")  # shipped inside the PySide6 wheel, not by the system
_DISPLAY = re.compile(r"(?P<host>[A-Za-z0-9._-]*):(?P<num>\d+)(?:\.\d+)?")


def parse_ldd(text: str) -> list[str]:
    """The libraries ``ldd`` reports as "not found", in its order, each once."""
    found: list[str] = []
    for line in text.splitlines():
        m = _NOT_FOUND.match(line)
        if m and m.group(1) not in found:
            found.append(m.group(1))
    return found


def package_for(soname: str) -> str:
    """The Debian package shipping a library; the library's own name for one we do not know."""
    return DEBIAN_PACKAGES.get(soname, soname)


def packages_for(sonames: list[str]) -> list[str]:
    out: list[str] = []
    for soname in sonames:
        if package_for(soname) not in out:
            out.append(package_for(soname))
    return out


def xcb_plugin() -> Path:
    from PySide6.QtCore import QLibraryInfo  # QtCore only: loads no platform plugin

    plugins = QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)
    return Path(plugins) / "platforms" / "libqxcb.so"


def missing_libraries(plugin: Path) -> list[str] | None:
    """What the dynamic linker cannot find for ``plugin``; None when we cannot tell (no plugin
    file, no ldd: musl, a stripped-down system)."""
    if not plugin.is_file():
        return None
    try:
        res = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True, timeout=20,
                             env={**os.environ, "LC_ALL": "C"}, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return parse_ldd(res.stdout + "\n" + res.stderr)


def requested_platform(env: Mapping[str, str]) -> str:
    """The first plugin QT_QPA_PLATFORM names ("xcb:opt;wayland" -> "xcb"), "" when unset."""
    first = env.get("QT_QPA_PLATFORM", "").split(";")[0]
    return first.split(":")[0].strip()


def display_answers(display: str, timeout_s: float = 2.0) -> bool:
    """Whether an X server accepts a connection on ``display``. A value we cannot parse counts as
    answering: Qt then says for itself what is wrong."""
    m = _DISPLAY.fullmatch(display.strip())
    if m is None:
        return True
    num, host = int(m.group("num")), m.group("host")
    if host not in ("", "unix"):
        try:
            with socket.create_connection((host, 6000 + num), timeout=timeout_s):
                return True
        except OSError:
            return False
    path = f"/tmp/.X11-unix/X{num}"
    for address in ("\0" + path, path):  # Linux servers listen on both, either is enough
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout_s)
            try:
                s.connect(address)
                return True
            except OSError:
                continue
    return False


def library_problem(missing: list[str]) -> str:
    bundled = [s for s in missing if s.startswith(_BUNDLED)]
    if bundled:
        return (f"MTL Explorer cannot start: the PySide6 install lacks {', '.join(bundled)}; "
                "reinstall it: pip install --force-reinstall PySide6-Essentials")
    return (f"MTL Explorer cannot start: Qt's X11 platform plugin (xcb) needs libraries that are "
            f"not installed: {', '.join(missing)}\n"
            f"  sudo apt-get install {' '.join(packages_for(missing))}")


def startup_problem(env: Mapping[str, str] | None = None, plugin: Path | None = None
                    ) -> str | None:
    """Why a QApplication would abort on this machine, or None when it should start (or when
    Qt will not use xcb: offscreen, Wayland, another OS)."""
    env = os.environ if env is None else env
    if not sys.platform.startswith("linux"):
        return None
    requested = requested_platform(env)
    if requested not in ("", "xcb"):
        return None
    if not requested and env.get("WAYLAND_DISPLAY"):
        return None  # Qt tries Wayland first there; xcb is only its fallback
    display = env.get("DISPLAY", "")
    if not display:
        return ("MTL Explorer cannot start: no X display: set DISPLAY, or run under xvfb-run "
                "(xvfb-run -a mtl-explorer)")
    missing = missing_libraries(plugin or xcb_plugin())
    if missing:
        return library_problem(missing)
    if not display_answers(display):
        return (f"MTL Explorer cannot start: no X server answers on DISPLAY={display}: start "
                "one, or run under xvfb-run (xvfb-run -a mtl-explorer)")
    return None


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["--packages"]:
        print(" ".join(packages_for(missing_libraries(xcb_plugin()) or [])))
        return 0
    problem = startup_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 1
    print(f"Qt can start: platform {requested_platform(os.environ) or 'default'}, "
          f"DISPLAY={os.environ.get('DISPLAY', '')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
