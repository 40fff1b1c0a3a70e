"""A lone run trained in a child process: the events of `run()`, and this process's GIL left alone.

The window trains through this. In the window's own process a training thread and the GUI thread
share one interpreter lock: a small model's step is mostly Python, so every redraw of the plots
held the training back (GUI attached 0.87-0.92 of headless on a 2-core machine, docs/gui.md).
Here the run trains in a process forked from the studies' fork server (study/executors.py,
which imported torch and every registry once), so it starts in milliseconds and the caller's
thread only waits on a pipe.

Same contract as `run()`: every event the run yields, in order, pickled whole (each is plain
data); a stop or pause request on the caller's RunControl reaches the run within POLL_S; a run
that raises becomes a RunFailed with its traceback; a child killed mid-run (out of memory, a
signal) a RunFailed("WorkerDied"). Closing the stream early (the caller gives up waiting) stops
the run, waits up to CLOSE_S for it to save its model and ends the process.

The child takes this process's environment as it is at the start of the run (not as it was when
the fork server started) and `training.threads: auto` as the cores divided by the runs this
process has training at once. Entries registered at run time in this process (not by an
installed package, which the fork server loads too) do not exist in the child: a run naming one
fails with the engine's unknown-name error; train it with `run()` instead.

Where the platform has no fork server (Windows), `AVAILABLE` is False: each child would import
torch afresh (seconds a run), and callers train in their own process with `run()`.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import signal
import threading
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .control import RunControl
from .events import Event, RunFailed, RunFinished, StepsLogged
from .threads import apply_threads, auto_threads, set_auto_threads

AVAILABLE = "forkserver" in mp.get_all_start_methods()
POLL_S = 0.1  # how often control requests are passed on while no event arrives
CLOSE_S = 10.0  # a stream closed early: how long the run may take to save and end
_END = "end"  # the child's last message

_lock = threading.Lock()
_active = 0  # runs this process has training in children now


def prestart() -> None:
    """Start the fork server now (it imports torch and the registries in its own process), so the
    first run starts at once; a no-op where there is none. Safe to call more than once."""
    if AVAILABLE:
        from .study.executors import prestart as _prestart

        _prestart()


def run_in_process(config: Any, control: Any = None, out_dir: Any = None, *,
                   overwrite: bool = False, key: str = "") -> Iterator[Event]:
    """`run(config, control, out_dir)` in a child process; its arguments are checked now, as
    `run()` checks them."""
    from . import config_to_dict
    from .args import run_args

    cfg = run_args("run_in_process", config, control, out_dir, overwrite, key)
    folder = None if out_dir is None else str(Path(out_dir).resolve())
    return _stream(config_to_dict(cfg), control or RunControl(), folder, overwrite, key)


def _stream(config: dict[str, Any], control: RunControl, folder: str | None, overwrite: bool,
            key: str) -> Iterator[Event]:
    global _active
    from .study.executors import context, mirror

    ctx = context()
    results: Any = ctx.Queue()
    stop, running = ctx.Event(), ctx.Event()
    running.set()
    with _lock:
        _active += 1
        share = auto_threads(_active)
    proc = ctx.Process(target=_child, name="mtl-run",
                       args=(config, folder, overwrite, key, share, dict(os.environ), results,
                             stop, running), daemon=True)
    last_step = last_epoch = 0
    ended = False
    try:
        mirror(control, stop, running)  # a run asked to pause before it starts starts paused
        proc.start()
        while True:
            mirror(control, stop, running)
            try:
                msg = results.get(timeout=POLL_S)
            except queue.Empty:
                if proc.is_alive():
                    continue
                try:  # it may have put its last messages just before ending
                    msg = results.get(timeout=POLL_S)
                except queue.Empty:
                    if not ended:
                        where = "; its folder is marked incomplete" if folder else ""
                        yield RunFailed("WorkerDied", "the process training the run died (exit "
                                        f"code {proc.exitcode}){where}", "", last_step,
                                        last_epoch, run=key)
                    return
            if msg == _END:
                return
            if isinstance(msg, tuple):  # what escaped run() in the child: its end, as run() says
                msg = RunFailed(*msg, last_step, last_epoch, run=key)
            last_step, last_epoch = _progress(msg, last_step, last_epoch)
            ended = isinstance(msg, (RunFinished, RunFailed))
            yield msg
    finally:
        with _lock:
            _active -= 1
        stop.set()
        running.set()
        if proc.pid is not None:
            proc.join(timeout=CLOSE_S)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=2.0)
        results.cancel_join_thread()
        results.close()


def _progress(event: Event, step: int, epoch: int) -> tuple[int, int]:
    """Steps done and epoch after `event`, as a RunFailed counts them."""
    if isinstance(event, StepsLogged) and event.steps:
        return int(event.steps[-1]) + 1, int(event.epoch)  # step indices count from 0
    return int(getattr(event, "step", step) or step), int(getattr(event, "epoch", epoch) or epoch)


def _child(config: dict[str, Any], folder: str | None, overwrite: bool, key: str, threads: int,
           environ: dict[str, str], results: Any, stop: Any, running: Any) -> None:
    """The child: the run's events onto `results`, then _END."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the caller's process owns Ctrl-C
    os.environ.clear()
    os.environ.update(environ)
    set_auto_threads(threads)
    apply_threads(threads)  # before any work, while the inter-op pool can still be sized
    control = RunControl(stop, running)
    try:
        from . import config_from_dict, run

        for event in run(config_from_dict(config), control, folder, overwrite=overwrite,
                         key=key):
            results.put(event)
    except BaseException as exc:  # noqa: BLE001 - run() yields its own failures; this is the rest
        # (error type, message, traceback); the caller adds the steps it saw
        results.put((type(exc).__name__, str(exc) or type(exc).__name__, traceback.format_exc()))
    finally:
        results.put(_END)
