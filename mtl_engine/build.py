"""From a validated config to the things a run needs: dataset, resolved tasks, model, strategy.

Checks that need the data (which tasks the dataset has, whether the layers fit its input) live here.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .config import ExperimentConfig
from .data.base import Dataset, DatasetSpec
from .errors import ConfigError
from .registry import DATASETS, LOSSES, METRICS


@dataclass(frozen=True)
class ResolvedTask:
    """A config task joined with what the dataset declares for it."""

    name: str  # display name (config)
    source: str  # the dataset's task name
    type: str
    n_classes: int
    n_outputs: int
    loss: str
    metric: str
    weight: float
    higher_is_better: bool


def load_dataset(dataset: str, params: dict[str, Any], seed: int = 0) -> Dataset:
    """Load (and cache) a dataset; generated datasets depend on `seed`."""
    return _load_cached(dataset, json.dumps(params, sort_keys=True), seed, _file_stamp(params))


def _file_stamp(params: dict[str, Any]) -> tuple[float, int] | None:
    """A user file's modification time and size: an edited file is read again, not cached."""
    path = params.get("path")
    if not isinstance(path, str) or not path:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime, st.st_size


@lru_cache(maxsize=8)
def _load_cached(dataset: str, params_json: str, seed: int, stamp: object) -> Dataset:
    loader = DATASETS.get(dataset, "data.dataset").obj
    return loader(json.loads(params_json), seed)


def dataset_for(config: ExperimentConfig) -> Dataset:
    return load_dataset(config.data.dataset, dict(config.data.params), config.training.seed)


def resolve_tasks(config: ExperimentConfig, spec: DatasetSpec) -> tuple[ResolvedTask, ...]:
    """Enabled tasks in config order, losses/metrics filled in and checked against task types."""
    out = []
    for i, task in enumerate(config.tasks):
        if not task.enabled:
            continue
        path = f"tasks[{i}]"
        declared = spec.task(task.source, f"{path}.target" if task.target else f"{path}.name")
        if task.type is not None and task.type != declared.type:
            raise ConfigError(f"{path}.type", f"is {task.type!r} but dataset {spec.name!r} "
                                              f"declares task {declared.name!r} as "
                                              f"{declared.type!r}")
        loss = task.loss or declared.loss
        metric = task.metric or declared.metric
        for kind, name, reg in (("loss", loss, LOSSES), ("metric", metric, METRICS)):
            types = reg.get(name, f"{path}.{kind}").meta["task_types"]
            if types and declared.type not in types:
                raise ConfigError(f"{path}.{kind}", f"{name!r} does not apply to a "
                                                    f"{declared.type} task (it takes "
                                                    f"{', '.join(types)})")
        needs = METRICS.get(metric).meta["outputs"]
        if needs is not None and declared.n_outputs != needs:
            raise ConfigError(f"{path}.metric", f"{metric!r} needs a task of {needs} values per "
                                                f"row; {declared.name!r} has "
                                                f"{declared.n_outputs}")
        hib = bool(METRICS.get(metric).meta["higher_is_better"])
        out.append(ResolvedTask(task.name, declared.name, declared.type, declared.n_classes,
                                declared.n_outputs, loss, metric, task.weight, hib))
    _refuse_unread(config, spec)
    return tuple(out)


def _refuse_unread(config: ExperimentConfig, spec: DatasetSpec) -> None:
    """A column a user's file declares as a task (data.params.tasks) that no entry of `tasks:`
    reads would be loaded, checked, and then silently neither trained nor an input. A built-in
    dataset may offer more tasks than a preset uses; an importer's tasks are the user's own."""
    if spec.name not in DATASETS or not DATASETS.get(spec.name).meta["suffixes"]:
        return
    read = {task.source for task in config.tasks}  # a disabled task counts: a choice made
    for declared in spec.tasks:
        if declared.name not in read:
            raise ConfigError("tasks", f"no task reads column {declared.name!r}, which "
                                       "data.params.tasks declares; add a task named "
                                       f"{declared.name!r} (enabled: false to keep it out of "
                                       "training) or drop it from data.params.tasks")


def resolve_device(requested: str) -> Any:
    """"auto" picks CUDA, then Apple MPS, then CPU; an explicit device that is absent errors."""
    import torch

    if requested == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise ConfigError("training.device", f"'cuda' was asked for, but torch {torch.__version__} "
                                             "sees no CUDA device; use 'auto' or 'cpu'")
    if requested == "mps" and not (getattr(torch.backends, "mps", None)
                                   and torch.backends.mps.is_available()):
        raise ConfigError("training.device", "'mps' was asked for, but no Apple GPU is available")
    return torch.device(requested)


def available_devices() -> list[str]:
    """The choices for training.device that would work on this machine ("auto" first)."""
    import torch

    found = ["auto", "cpu"]
    if torch.cuda.is_available():
        found.append("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        found.append("mps")
    return found
