"""A guard against a reference-count bug in the installed Qt binding.

PySide6 6.12.0 on CPython 3.11 gives back ``None`` from every void method (``widget.update()``,
``setData`` ...) without taking a reference to it, so each call lowers None's reference count by
one. After some 10^5 calls (seconds of live plotting) None is "deallocated" and the interpreter
aborts with ``Fatal Python error: none_dealloc``. CPython 3.12 made None immortal (PEP 683), which
hides the bug there. On an affected interpreter we do what PEP 683 does: give None a reference
count so large that the leak can never drain it (2**40 calls: years of continuous use).

The bug is detected, not assumed from version numbers, so a fixed binding is left alone.
"""

from __future__ import annotations

import ctypes
import platform
import sys

from PySide6.QtCore import QObject

_BALLAST = 1 << 40
_PROBES = 64


def void_calls_leak_none() -> bool:
    """True when a void Qt call takes a reference to None that it never gave."""
    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(_PROBES):
        probe.setObjectName("probe")
    return sys.getrefcount(None) <= before - _PROBES // 2


def guard_none_refcount() -> bool:
    """Apply the fix if needed; returns whether it was applied."""
    if platform.python_implementation() != "CPython" or sys.version_info >= (3, 12):
        return False  # None is immortal there (PEP 683)
    if not void_calls_leak_none():
        return False
    # ob_refcnt is the first field of every object in CPython's non-debug ABI.
    ctypes.c_ssize_t.from_address(id(None)).value += _BALLAST
    return True


APPLIED = guard_none_refcount()
