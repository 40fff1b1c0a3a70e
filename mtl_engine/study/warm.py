"""What every study worker needs loaded, imported once by the fork server (executors.py) so that
each worker forked from it starts warm: torch, torch._dynamo (which torch's optimisers import at
their first use: 1.5 s on a 2-core machine, half of a small run's start-up), and every registry
entry. Importing starts no thread and touches no GPU, so forking afterwards is safe."""

from __future__ import annotations

import contextlib

import torch  # noqa: F401

from .. import training  # noqa: F401
from ..registry import ALL

with contextlib.suppress(Exception):  # a build without it: the optimiser imports nothing either
    import torch._dynamo  # noqa: F401

for _registry in ALL.values():
    _registry.load()
