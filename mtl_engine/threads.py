"""How many CPU threads torch uses for a run (`training.threads`).

`auto` (the default, None in the config) gives each run its share of the machine: the cores this
process may use divided by the runs training at once. A lone run (`mtl-run`, the window, a study
run in-process) has every core; a study's executor tells each worker its share
(`set_auto_threads`). A small model gets 1 thread whatever the share: below SMALL_STEP_WORK
multiply-adds a step (every shipped MLP; the LeNet is ten times above it) a second thread has
little to split and, on a busy machine, waits for a descheduled partner at every operation:
`mtl-run digits_cascade` took 3.6x as long with 2 threads as with 1 on this project's loaded
2-core VM (docs/engine.md, "Threads"). An OMP_NUM_THREADS set in the environment caps `auto`
too (a user's or a batch scheduler's limit, which torch itself also reads). An integer is used
as given.

The count is set at the start of every run (session_setup.prepare), so it also holds for runs in
the window's worker thread: torch's thread count is one setting for the whole process.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterable
from typing import Any

SMALL_STEP_WORK = 2e7  # forward multiply-adds a step; the shipped MLPs do 3e4-6e6, the LeNet 6e7
_share: int | None = None  # the auto count of this process, where an executor set one
_interop_set = False


def cpu_count() -> int:
    """The cores this process may run on (its affinity mask where the platform has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def set_auto_threads(n: int) -> None:
    """What `auto` means in this process from now on: a study worker's share of the cores."""
    global _share
    _share = max(1, int(n))


def _env_cap() -> int | None:
    raw = os.environ.get("OMP_NUM_THREADS", "").strip()
    return int(raw) if raw.isdigit() and int(raw) >= 1 else None


def step_work(layers: Iterable[Any], batch_size: int) -> float:
    """About how many multiply-adds one forward step does: each layer's parameters times the
    positions it is applied at (1 for a dense layer, H x W for a convolution's output), times
    the batch. `layers`: the model summary's LayerInfo rows (n_params, out_shape)."""
    total = 0.0
    for layer in layers:
        shape = layer.out_shape
        positions = math.prod(shape[1:]) if shape and len(shape) > 1 else 1
        total += layer.n_params * positions
    return total * batch_size


def auto_threads(concurrent: int | None = None, work: float | None = None) -> int:
    """`auto` for `concurrent` runs at once: the cores divided by them, at least 1. Without
    `concurrent`: this process's share as an executor set it, else every core (a lone run).
    1 for a model whose step `work` is below SMALL_STEP_WORK; never more than OMP_NUM_THREADS
    where that is set."""
    if work is not None and work < SMALL_STEP_WORK:
        return 1
    if concurrent is not None:
        n = max(1, cpu_count() // max(1, concurrent))
    else:
        n = _share if _share is not None else cpu_count()
    cap = _env_cap()
    return min(n, cap) if cap is not None else n


def resolve_threads(setting: int | None, concurrent: int | None = None,
                    work: float | None = None) -> int:
    """The thread count a run with `training.threads = setting` uses (None: auto)."""
    return setting if setting is not None else auto_threads(concurrent, work)


def apply_threads(n: int) -> None:
    """Set torch's intra-op threads to `n`; the inter-op pool too, where torch still allows it
    (only before its first parallel work, once per process: later calls would raise)."""
    import torch

    global _interop_set
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    if not _interop_set:
        _interop_set = True
        with contextlib.suppress(RuntimeError):  # the pool already started: it keeps its size
            torch.set_num_interop_threads(n)
