"""Ray: a study's runs as Ray tasks, on this machine or an existing cluster (optional extra).

`RayExecutor(None)` starts a Ray instance here (`mtl-study --ray`); `RayExecutor("HOST:6379")`
joins a cluster started with `ray start --head` (`mtl-study --ray HOST:6379`). Each run is one
task asking for its CPUs (and one GPU when the run's device is cuda, or auto on a cluster that
has GPUs). A task trains into a temporary folder on whichever node runs it and returns the run
folder's files; they are written into the study folder on the machine that launched the study,
so nodes need no shared file system. Events stream back live through a Ray queue; a stop
request reaches running tasks through a small flag actor, and each stopped run keeps its model.
Every node needs this package installed (docs/studies.md).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..control import RunControl
from ..errors import ConfigError
from ..events import Event, RunFailed, RunFinished, from_dict, to_dict
from ..threads import apply_threads, set_auto_threads
from .executors import Job, cpu_count, run_job

_RUN_FILE_ORDER = ("config.yaml", "events.jsonl", "steps.csv", "epochs.csv", "error.txt",
                   "model.pt")


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError("ray", "Ray is not installed: pip install -e \".[ray]\" (or run "
                                 "without --ray, on this machine's cores)") from None
    return ray


class RayExecutor:
    def __init__(self, address: str | None = None, workers: int | None = None,
                 threads: int = 1) -> None:
        self.address = address
        self.threads = max(1, threads)
        self.workers = workers or (cpu_count() if address is None else 0)
        self.name = f"ray ({address or 'a local instance'}), CPUs a run: training.threads, " \
                    f"auto = {self.threads}"

    def run(self, jobs: list[Job], control: RunControl) -> Iterator[Event]:
        if not jobs:
            return
        ray = _import_ray()
        from ray.util.queue import Empty, Queue

        started_here = not ray.is_initialized()
        if started_here:
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                      "configure_logging": False}
            if self.address is None:
                kwargs["num_cpus"] = self.workers or cpu_count()
            import signal

            # Off the main thread (a study run from the window) no handler can be set or put back
            main = threading.current_thread() is threading.main_thread()
            handlers = ({sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
                        if main else {})
            try:
                ray.init(address=self.address, **kwargs)
            except Exception as exc:  # a wrong address, a cluster that is down
                where = self.address or "a new local instance"
                why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise ConfigError("ray", f"cannot reach Ray at {where}: {why}") from None
            finally:  # Ray installs its own SIGTERM handler; the study's turns it into a stop
                for sig, handler in handlers.items():
                    if handler is not None and signal.getsignal(sig) is not handler:
                        signal.signal(sig, handler)
        if not self.workers:
            self.workers = int(ray.cluster_resources().get("CPU", 1))
        mailbox = Queue()
        flags = ray.remote(_Flags).remote()
        remote = ray.remote(_ray_task)
        has_gpus = ray.cluster_resources().get("GPU", 0) > 0
        futures: dict[Any, Job] = {}
        for job in jobs:
            device = job.config.get("training", {}).get("device", "auto")
            gpus = 1 if device == "cuda" or (device == "auto" and has_gpus) else 0
            # a run's CPUs: its training.threads when it sets them, else the executor's share
            wanted = job.config.get("training", {}).get("threads")  # absent or None: auto
            cpus = wanted if isinstance(wanted, int) and wanted >= 1 else self.threads
            ref = remote.options(num_cpus=cpus, num_gpus=gpus, max_retries=0).remote(
                job.key, job.config, mailbox, flags, cpus)
            futures[ref] = job
        held: dict[str, Event] = {}  # closing events wait until the folder is written
        stop_sent = False
        try:
            while futures:
                if control.stop_requested and not stop_sent:
                    flags.stop.remote()
                    stop_sent = True
                try:
                    batch = mailbox.get_nowait_batch(mailbox.size())
                except Empty:
                    batch = []
                for raw in batch:
                    event = from_dict(raw)
                    if isinstance(event, (RunFinished, RunFailed)):
                        held[event.run] = event
                    else:
                        yield event
                ready, _ = ray.wait(list(futures), num_returns=1, timeout=0.2)
                for ref in ready:
                    job = futures.pop(ref)
                    yield from self._collect(ray, ref, job, mailbox, held)
        finally:
            for ref in futures:
                ray.cancel(ref, force=True)
            if started_here:
                ray.shutdown()

    def _collect(self, ray: Any, ref: Any, job: Job, mailbox: Any, held: dict[str, Event]
                 ) -> Iterator[Event]:
        try:
            files = ray.get(ref)
        except Exception as exc:
            yield RunFailed(type(exc).__name__, f"the Ray task failed: "
                            f"{str(exc).splitlines()[-1] if str(exc) else exc}", str(exc), 0, 0,
                            run=job.key)
            return
        for raw in mailbox.get_nowait_batch(mailbox.size()) if mailbox.size() else []:
            event = from_dict(raw)  # the task's last events, put just before it returned
            if isinstance(event, (RunFinished, RunFailed)):
                held[event.run] = event
            else:
                yield event
        if files is None:  # stopped before it began: nothing to write, nothing to report
            return
        try:
            install(Path(job.folder), files)
        except OSError as exc:
            yield RunFailed("FileWriteError", str(exc), "", 0, 0, run=job.key)
            return
        closing = held.pop(job.key, None)
        if closing is None:
            closing = RunFailed("RayTaskError", "the task ended without a closing event", "",
                                0, 0, run=job.key)
        yield closing


class _Flags:
    """A Ray actor holding the study's stop flag."""

    def __init__(self) -> None:
        self._stop = False

    def stop(self) -> None:
        self._stop = True

    def stopped(self) -> bool:
        return self._stop


def _ray_task(key: str, config: dict[str, Any], mailbox: Any, flags: Any,
              threads: int) -> dict[str, bytes] | None:
    """One run on a Ray worker: train into a temporary folder, stream events, return the files."""
    import ray

    set_auto_threads(threads)  # the CPUs Ray gave this task: what `auto` means here
    apply_threads(threads)
    if ray.get(flags.stopped.remote()):
        return None
    control = RunControl()
    done = threading.Event()

    def poll() -> None:
        while not done.wait(0.5):
            try:
                if ray.get(flags.stopped.remote()):
                    control.stop()
                    return
            except Exception:  # the driver went away: stop cleanly
                control.stop()
                return

    threading.Thread(target=poll, daemon=True).start()
    tmp = Path(tempfile.mkdtemp(prefix="mtl-study-"))
    try:
        folder = tmp / "run"
        for event in run_job(Job(key, config, str(folder)), control):
            mailbox.put(to_dict(event))
        return {p.name: p.read_bytes() for p in folder.iterdir()
                if p.is_file() and not p.name.startswith(".")} if folder.is_dir() else {}
    finally:
        done.set()
        shutil.rmtree(tmp, ignore_errors=True)


def install(folder: Path, files: dict[str, bytes]) -> None:
    """Write a run folder that came back from another machine: the old run's files go first,
    INCOMPLETE stays until every file is in place, and each file is written atomically."""
    from ..fileio import atomic_write_bytes
    from ..folder_lock import FolderLock
    from ..runs import INCOMPLETE_FILE, RUN_FILES

    lock = FolderLock(folder)
    try:
        for name in RUN_FILES:
            (folder / name).unlink(missing_ok=True)
        atomic_write_bytes(folder / INCOMPLETE_FILE, f"being written by process "
                           f"{os.getpid()} at {time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode())
        order = [n for n in _RUN_FILE_ORDER if n in files] + sorted(
            n for n in files if n not in _RUN_FILE_ORDER and n != INCOMPLETE_FILE)
        for name in order:
            atomic_write_bytes(folder / name, files[name])
        if INCOMPLETE_FILE not in files:  # the run itself finished its folder
            (folder / INCOMPLETE_FILE).unlink(missing_ok=True)
    finally:
        lock.release()
