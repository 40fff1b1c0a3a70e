"""A guard against a reference-count bug in the installed Qt binding.

PySide6 6.12.0 on CPython 3.11 gives back ``None`` from every void method (``widget.update()``,
``setValue`` ...) and ``True`` from every ``Signal.emit`` without taking a reference to it, so each
call lowers that object's reference count by one. After some 10^5 calls (seconds of live
plotting) the interpreter "deallocates" None or True and aborts (``Fatal Python error:
none_dealloc`` / ``bool_dealloc``). CPython 3.12 made these singletons immortal (PEP 683), which
hides the bug there. On an affected interpreter we do what PEP 683 does: give None, True and
False a reference count so large that the leak can never drain it (2**40 calls: years of use).

The bug is detected, not assumed from version numbers, so a fixed binding is left alone.
"""

from __future__ import annotations

import ctypes
import platform
import sys

from PySide6.QtCore import QObject, Signal

_BALLAST = 1 << 40
_PROBES = 64


class _Probe(QObject):
    fired = Signal()


def _leaks(obj: object, call: object) -> bool:
    before = sys.getrefcount(obj)
    for _ in range(_PROBES):
        call()  # type: ignore[operator]
    return sys.getrefcount(obj) <= before - _PROBES // 2


def binding_leaks_singletons() -> bool:
    """True when a void Qt call or a signal emit drops a reference it never took."""
    probe = _Probe()
    return (_leaks(None, lambda: probe.setObjectName("probe"))
            or _leaks(True, probe.fired.emit))


def guard_singletons() -> bool:
    """Apply the fix if needed; returns whether it was applied."""
    if platform.python_implementation() != "CPython" or sys.version_info >= (3, 12):
        return False  # immortal there (PEP 683)
    if not binding_leaks_singletons():
        return False
    for obj in (None, True, False):
        # ob_refcnt is the first field of every object in CPython's non-debug ABI.
        ctypes.c_ssize_t.from_address(id(obj)).value += _BALLAST
    return True


APPLIED = guard_singletons()
