"""Everything a run needs, built from a config before the first step (errors raise here)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .build import ResolvedTask, dataset_for, resolve_device, resolve_tasks
from .config import ExperimentConfig
from .data.base import Dataset
from .errors import ConfigError
from .events import TaskInfo
from .metrics import metrics_for
from .model import build_model
from .optim import make_optimizer
from .registry import LOSSES, METRICS
from .strategies.base import Strategy, build_strategy


@dataclass
class Split:
    x: torch.Tensor
    y: dict[str, torch.Tensor]  # by dataset task name (ResolvedTask.source)

    def __len__(self) -> int:
        return int(self.x.shape[0])


@dataclass
class Setup:
    config: ExperimentConfig
    device: torch.device
    dataset: Dataset
    tasks: tuple[ResolvedTask, ...]
    infos: tuple[TaskInfo, ...]
    model: Any  # MultiTaskModel
    strategy: Strategy
    optimizer: torch.optim.Optimizer
    base_lrs: list[float]
    loss_fns: list[Callable[[torch.Tensor, torch.Tensor], torch.Tensor]]
    train: Split
    val: Split
    # fixed for the whole run: built once, not on every step
    shared_params: list[torch.nn.Parameter]
    other_params: list[torch.nn.Parameter]  # task-specific and the strategy's own


def split_indices(n: int, val_fraction: float, seed: int, preset: np.ndarray | None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Train/validation indices: the dataset's own split if it has one, else a seeded shuffle."""
    if preset is not None:
        val = np.asarray(preset, dtype=np.int64)
        mask = np.ones(n, dtype=bool)
        mask[val] = False
        return np.flatnonzero(mask), val
    order = np.random.default_rng(seed).permutation(n)
    n_val = int(round(n * val_fraction))
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def _to_split(ds: Dataset, idx: np.ndarray, tasks: tuple[ResolvedTask, ...],
              device: torch.device) -> Split:
    x = torch.as_tensor(ds.x[idx], dtype=torch.float32, device=device)
    y = {t.source: torch.as_tensor(ds.targets[t.source][idx], device=device) for t in tasks}
    return Split(x, y)


def task_infos(tasks: tuple[ResolvedTask, ...]) -> tuple[TaskInfo, ...]:
    return tuple(TaskInfo(t.name, t.type, t.n_classes, t.loss, t.metric, t.higher_is_better,
                          tuple(metrics_for(t.type))) for t in tasks)


def prepare(config: ExperimentConfig) -> Setup:
    device = resolve_device(config.training.device)
    ds = dataset_for(config)
    tasks = resolve_tasks(config, ds.spec)
    train_idx, val_idx = split_indices(ds.spec.n_samples, config.data.val_fraction,
                                       config.training.seed, ds.val_index)
    if len(train_idx) == 0:
        raise ConfigError("data.val_fraction", "leaves no training samples")
    torch.manual_seed(config.training.seed)
    model = build_model(config, ds.spec, device)
    infos = task_infos(tasks)
    strategy = build_strategy(config.strategy.name, config.strategy.params, infos,
                              [t.weight for t in tasks], device)
    o = config.optimizer
    groups = [
        {"params": model.shared_parameters(), "lr": o.shared_lr if o.shared_lr is not None
         else o.lr, "name": "shared"},
        {"params": model.task_parameters(), "lr": o.task_lr if o.task_lr is not None else o.lr,
         "name": "tasks"},
        {"params": strategy.parameters(), "lr": strategy.param_lr() or o.task_lr or o.lr,
         "name": "strategy", "weight_decay": 0.0},
    ]
    optimizer = make_optimizer(o.name, groups, o.params, o.weight_decay)
    return Setup(
        config=config, device=device, dataset=ds, tasks=tasks, infos=infos, model=model,
        strategy=strategy, optimizer=optimizer,
        base_lrs=[g["lr"] for g in optimizer.param_groups],
        loss_fns=[LOSSES.get(t.loss).obj for t in tasks],
        train=_to_split(ds, train_idx, tasks, device),
        val=_to_split(ds, val_idx, tasks, device),
        shared_params=model.shared_parameters(),
        other_params=model.task_parameters() + strategy.parameters(),
    )


def metric_fns(task: ResolvedTask) -> dict[str, Callable[..., float]]:
    return {m: METRICS.get(m).obj for m in metrics_for(task.type)}
