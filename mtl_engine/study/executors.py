"""Where a study's runs train: in this process, in local worker processes, or on Ray (ray.py).

An executor takes jobs (key, resolved config dict, run folder) and a RunControl and yields every
run's events, each stamped with its run key; each job it starts ends with a RunFinished or a
RunFailed for its key. A stop request ends the runs in progress the way the window's Stop does
(their models are saved) and starts no more; jobs never started yield nothing.

The local pool keeps long-lived worker processes that take jobs from a queue, so a process pays
its start-up once, not once per run. Where the platform has it (Linux, macOS) workers are forked
from a fork server that imported torch and the engine once (warm.py): a worker then starts in
milliseconds, and no torch, thread or Qt state of the study's own process is ever forked; the
server can be started early (`prestart`) to load while the study is being validated. Elsewhere
workers are spawned, each importing what it needs. Each worker's runs with `training.threads:
auto` get its share of the cores (the cores divided by the workers, threads.py), so that all
workers together use the machine's cores once; a run that sets a number uses it. A worker ignores
SIGINT (the study's own process turns Ctrl-C into a stop), and on a machine with GPUs is pinned
to one of them (CUDA_VISIBLE_DEVICES) in turn.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from ..control import RunControl
from ..events import Event, RunFailed, RunFinished, from_dict, to_dict
from ..threads import apply_threads, auto_threads, cpu_count, set_auto_threads

__all__ = ["Executor", "InlineExecutor", "Job", "LocalPool", "cpu_count", "run_job"]


@dataclass(frozen=True)
class Job:
    key: str
    config: dict[str, Any]
    folder: str  # absolute path of the run folder


class Executor(Protocol):
    name: str  # a description for people: "local (2 workers)"
    workers: int

    def run(self, jobs: list[Job], control: RunControl) -> Iterator[Event]: ...


def gpu_count() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def run_job(job: Job, control: RunControl) -> Iterator[Event]:
    """One job in this process; any failure to even start becomes its RunFailed."""
    from .. import config_from_dict, run  # the engine's front door, as every client uses it

    try:
        config = config_from_dict(job.config)
    except Exception as exc:  # validated at expansion; a changed registry could still refuse
        yield RunFailed(type(exc).__name__, str(exc), "", 0, 0, run=job.key)
        return
    yield from run(config, control, job.folder, overwrite=True, key=job.key)


class InlineExecutor:
    """Every run in this process, one after another (`--workers 0`; tests, debugging)."""

    name = "inline (this process; torch threads: training.threads, auto = every core)"
    workers = 1

    def run(self, jobs: list[Job], control: RunControl) -> Iterator[Event]:
        for job in jobs:
            if control.stop_requested:
                return
            yield from run_job(job, control)


class LocalPool:
    """`workers` long-lived processes on this machine taking jobs from one queue."""

    def __init__(self, workers: int | None = None, threads: int | None = None,
                 gpus: int | None = None) -> None:
        """`gpus`: how many GPUs to spread the workers over (None: as many as torch sees; pass 0
        when no run uses a GPU, so a CPU study gets one worker per core on a GPU machine)."""
        self.gpus = gpu_count() if gpus is None else gpus
        default = self.gpus or cpu_count()
        self.workers = max(1, workers if workers is not None else default)
        # the share of a run with training.threads: auto (a run that sets a number uses it)
        self.threads = threads or auto_threads(self.workers)
        self.name = f"local ({self.workers} worker{'s' * (self.workers != 1)}" + \
                    (f" over {self.gpus} GPUs" if self.gpus else "") + \
                    f"; torch threads: training.threads, auto = {self.threads} each)"

    def run(self, jobs: list[Job], control: RunControl) -> Iterator[Event]:
        if not jobs:
            return
        ctx = context()
        tasks: Any = ctx.Queue()
        results: Any = ctx.Queue()
        stop, running = ctx.Event(), ctx.Event()
        running.set()
        n = min(self.workers, len(jobs))
        for job in jobs:
            tasks.put((job.key, job.config, job.folder))
        for _ in range(n):
            tasks.put(None)
        procs = []
        for i in range(n):
            gpu = i % self.gpus if self.gpus else None
            p = ctx.Process(target=_worker, args=(i, tasks, results, stop, running,
                                                  self.threads, gpu),
                            name=f"mtl-study-worker-{i}", daemon=True)
            p.start()
            procs.append(p)
        busy: dict[int, str] = {}  # worker -> the key it is running
        closed: set[str] = set()  # keys whose closing event was yielded
        gone: set[int] = set()
        try:
            while len(gone) < n:
                mirror(control, stop, running)
                try:
                    msg = results.get(timeout=0.2)
                except queue.Empty:
                    for i, p in enumerate(procs):  # a worker killed (OOM, a signal) mid-run
                        if i not in gone and not p.is_alive():
                            gone.add(i)
                            key = busy.pop(i, None)
                            if key is not None and key not in closed:
                                closed.add(key)
                                yield RunFailed(
                                    "WorkerDied", f"the worker process running it died (exit "
                                    f"code {p.exitcode}); its folder is marked incomplete", "",
                                    0, 0, run=key)
                    continue
                kind = msg[0]
                if kind == "start":
                    busy[msg[2]] = msg[1]
                elif kind == "event":
                    event = from_dict(msg[1])
                    if isinstance(event, (RunFinished, RunFailed)):
                        closed.add(event.run)
                    yield event
                elif kind == "done":
                    busy.pop(msg[2], None)
                elif kind == "exit":
                    gone.add(msg[1])
        finally:
            stop.set()
            running.set()
            deadline = time.monotonic() + 5.0
            for p in procs:  # a clean exit is quick; an abort (generator closed) does not wait
                p.join(timeout=max(0.0, deadline - time.monotonic()) if len(gone) == n else 0.5)
                if p.is_alive():
                    p.terminate()
                    p.join(timeout=2.0)
            for q in (tasks, results):
                q.cancel_join_thread()
                q.close()


_WARM = "mtl_engine.study.warm"


def context() -> Any:
    """forkserver (preloading warm.py) where the platform has it, else spawn."""
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload([_WARM])
        return ctx
    return mp.get_context("spawn")


def prestart() -> None:
    """Start the fork server now, so it imports torch while this process does other work
    (validating a study); a no-op where workers are spawned. Safe to call more than once."""
    if "forkserver" in mp.get_all_start_methods():
        context()
        from multiprocessing import forkserver

        forkserver.ensure_running()


def mirror(control: RunControl, stop: Any, running: Any) -> None:
    """Pass `control`'s stop and pause requests on to a child's multiprocessing events."""
    if control.stop_requested:
        stop.set()
        running.set()
    elif control.paused:
        running.clear()
    else:
        running.set()


def _worker(index: int, tasks: Any, results: Any, stop: Any, running: Any, threads: int,
            gpu: int | None) -> None:
    """A worker process: jobs from `tasks` until a None or a stop; events to `results`."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the study's process owns Ctrl-C
    if gpu is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = str(gpu)
    set_auto_threads(threads)  # what `training.threads: auto` means in this worker
    apply_threads(threads)  # now, before any work, while the inter-op pool can still be sized
    control = RunControl(stop, running)
    try:
        while not stop.is_set():
            item = tasks.get()
            if item is None:
                break
            job = Job(*item)
            results.put(("start", job.key, index))
            for event in run_job(job, control):
                results.put(("event", to_dict(event)))
            results.put(("done", job.key, index))
    finally:
        results.put(("exit", index))
