"""The app refuses to start on the one Qt binding release it is known to break on.

PySide6 6.12.0 gives back ``None`` from every void method (``widget.update()``, ``setValue`` ...)
and ``True`` from every ``Signal.emit`` without taking a reference to it, so each call lowers that
object's reference count by one; on CPython before 3.12 (where these objects are not yet immortal,
PEP 683) the interpreter aborts after some 10^5 calls, seconds of live plotting, with ``Fatal
Python error: none_dealloc``. pyproject.toml excludes that release on every interpreter; this
says so in one line when it is installed anyway (run_app, before the first window), rather than
patching the interpreter's reference counts.
"""

from __future__ import annotations

import re

# The releases pyproject.toml excludes (keep the two together), with why, for the message.
BROKEN_RELEASES: dict[tuple[int, int, int], str] = {
    (6, 12, 0): "it drops a reference to None/True on every Qt call (on Python before 3.12 the "
                "app aborts within seconds)",
}
INSTALL_INSTEAD = "pip install 'PySide6-Essentials>=6.6,!=6.12.0,<6.13'"


def release(version: str) -> tuple[int, int, int] | None:
    """(major, minor, patch) of a final release's version string ("6.12.0", "6.12", "6.12.0+x");
    None for a pre- or dev release ("6.12.0rc1"), which the pin's ``!=6.12.0`` does not exclude
    either, or a string that is no version."""
    found = re.fullmatch(r"\s*(\d+)\.(\d+)(?:\.(\d+))?(?:\+[\w.]+)?\s*", version)
    if found is None:
        return None
    major, minor, patch = found.groups()
    return int(major), int(minor), int(patch or 0)


def binding_problem(version: str) -> str | None:
    """One line saying why the app cannot run on PySide6 `version` and what to install instead,
    or None when it can."""
    why = BROKEN_RELEASES.get(release(version) or (0, 0, 0))
    if why is None:
        return None
    return (f"MTL Explorer cannot run on the installed PySide6 {version.strip()}: {why}; "
            f"install another release: {INSTALL_INSTEAD}")


def installed_problem() -> str | None:
    """`binding_problem` for the PySide6 this interpreter imports."""
    import PySide6

    return binding_problem(PySide6.__version__)
