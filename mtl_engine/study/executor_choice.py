"""Which executor a study runs on: this process, a local pool or Ray.

Its own module because the Ray executor builds on the local one (`executors.run_job`), so the
choice between them can live in neither without an import circle.
"""

from __future__ import annotations

from .executors import Executor, InlineExecutor, LocalPool


def make_executor(workers: int | None = None, ray: str | None = None,
                  devices: set[str] | None = None) -> Executor:
    """`workers` 0: this process; None: one worker per core, or per GPU where there are GPUs
    and some run's device (`devices`: the runs' training.device values) may use one; `ray`:
    "local" starts a Ray instance on this machine, anything else is a cluster address."""
    if ray is not None:
        from .ray_executor import RayExecutor  # imports Ray's client only when asked for

        return RayExecutor(None if ray == "local" else ray, workers)
    if workers == 0:
        return InlineExecutor()
    cpu_only = devices is not None and devices <= {"cpu"}
    return LocalPool(workers, gpus=0 if cpu_only else None)
