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
from .metric_choice import metrics_for
from .model import build_model
from .optim import make_optimizer
from .preprocess import Preprocessing, fit_preprocessing
from .registry import METRICS
from .rows import Inputs, n_rows
from .splits import SPLIT_COLUMN, SplitParts, split_rows
from .strategies.base import Strategy, build_strategy
from .task_losses import run_losses
from .threads import apply_threads, resolve_threads, step_work


@dataclass
class Split:
    x: Inputs  # one float tensor, or a dict of named inputs each in its dtype (rows.py)
    y: dict[str, torch.Tensor]  # by dataset task name (ResolvedTask.source)

    def __len__(self) -> int:
        return n_rows(self.x)


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
    test: Split  # empty without data.test_fraction (or a split column's test rows)
    parts: SplitParts  # the row indices of each part, for the run folder's split.json
    # fixed for the whole run: built once, not on every step
    shared_params: list[torch.nn.Parameter]
    other_params: list[torch.nn.Parameter]  # task-specific and the strategy's own
    # fitted on the training rows; the splits above hold its output (preprocess.py)
    preprocessing: Preprocessing | None = None
    threads: int = 1  # torch's intra-op threads for this run (training.threads; threads.py)


def split_indices(config: ExperimentConfig, ds: Dataset) -> SplitParts:
    """Train / validation / test rows of `ds` for `config` (splits.py says how); the config
    problems only the data can reveal raise ConfigError naming the field."""
    data = config.data
    column = ds.split
    if column is not None:
        for name, given in (("test_fraction", data.test_fraction), ("stratify", data.stratify)):
            if given:
                raise ConfigError(f"data.{name}", f"cannot be used with a split column "
                                  f"({SPLIT_COLUMN} decides every part); remove one")
    strata = None
    if data.stratify is not None:
        source = next(task.source for task in config.tasks if task.name == data.stratify)
        declared = ds.spec.task(source, "data.stratify")
        if declared.type not in ("classification", "binary"):
            raise ConfigError("data.stratify", f"task {data.stratify!r} is a {declared.type} "
                                               "task; "
                                               "stratify by a classification or binary task")
        strata = _strata(ds.targets[source])
    parts = split_rows(ds.spec.n_samples, data.val_fraction, data.test_fraction,
                       config.training.seed, preset_val=ds.val_index, column=column,
                       strata=strata, stratify=data.stratify)
    if len(parts.train) == 0:
        raise ConfigError("data.val_fraction", f"leaves no training rows of "
                                               f"{ds.spec.n_samples}")
    train_cfg = config.training
    if len(parts.val) == 0:
        for name, on in (("select", train_cfg.select == "best"),
                         ("patience", train_cfg.patience is not None)):
            if on:
                raise ConfigError(f"training.{name}", "needs validation rows to judge epochs by; "
                                                      "data.val_fraction gives none")
    return parts


def _strata(labels: np.ndarray) -> np.ndarray:
    """One class key per row; a missing label (-1 or NaN) is a class of its own."""
    y = np.asarray(labels)
    if y.ndim != 1:
        raise ConfigError("data.stratify", f"needs one label per row, got shape {y.shape}")
    if y.dtype.kind == "f":
        return np.where(np.isnan(y), -1, y).astype(np.int64)
    return y


def _to_split(ds: Dataset, idx: np.ndarray, tasks: tuple[ResolvedTask, ...],
              device: torch.device, prep: Preprocessing) -> Split:
    """Rows `idx` as the network sees them: inputs and regression targets preprocessed; named
    inputs each in its declared dtype (ids as int64, never scaled)."""
    if ds.spec.multi_input:
        x: Inputs = prep.apply_inputs(named_tensors(ds, idx, device))
    else:
        x = prep.apply_inputs(torch.as_tensor(ds.x[idx], dtype=torch.float32, device=device))
    y = {t.source: prep.scale_target(t.source, torch.as_tensor(ds.targets[t.source][idx],
                                                               device=device)) for t in tasks}
    return Split(x, y)


def named_tensors(ds: Dataset, idx: np.ndarray, device: torch.device) -> dict[str, torch.Tensor]:
    """Rows `idx` of a dataset's named inputs as tensors of their declared dtypes."""
    assert isinstance(ds.x, dict)
    return {i.name: torch.as_tensor(np.asarray(ds.x[i.name])[idx], device=device,
                                    dtype=getattr(torch, i.dtype)) for i in ds.spec.inputs}


def task_infos(tasks: tuple[ResolvedTask, ...]) -> tuple[TaskInfo, ...]:
    return tuple(TaskInfo(t.name, t.type, t.n_classes, t.loss, t.metric, t.higher_is_better,
                          tuple(metrics_for(t.type, t.loss, t.n_outputs))) for t in tasks)


def prepare(config: ExperimentConfig) -> Setup:
    device = resolve_device(config.training.device)
    ds = dataset_for(config)
    tasks = resolve_tasks(config, ds.spec)
    parts = split_indices(config, ds)
    train_idx, val_idx = parts.train, parts.val
    prep = fit_preprocessing(config.data.preprocess, ds, tasks, train_idx)
    torch.manual_seed(config.training.seed)
    model = build_model(config, ds.spec, device)
    # before the splits, the optimiser and every step; auto depends on the model's size
    threads = resolve_threads(config.training.threads, work=step_work(
        model.summary.layers, config.training.batch_size))
    apply_threads(threads)
    infos = task_infos(tasks)
    strategy = build_strategy(config.strategy.name, config.strategy.params, infos,
                              [t.weight for t in tasks], device)
    opt = config.optimizer
    groups = [
        {"params": model.shared_parameters(), "lr": opt.shared_lr if opt.shared_lr is not None
         else opt.lr, "name": "shared"},
        {"params": model.task_parameters(),
         "lr": opt.task_lr if opt.task_lr is not None else opt.lr,
         "name": "tasks"},
        {"params": strategy.parameters(), "lr": strategy.param_lr() or opt.task_lr or opt.lr,
         "name": "strategy", "weight_decay": 0.0},
    ]
    optimizer = make_optimizer(opt.name, groups, opt.params, opt.weight_decay)
    train = _to_split(ds, train_idx, tasks, device, prep)
    return Setup(
        config=config, device=device, dataset=ds, tasks=tasks, infos=infos, model=model,
        strategy=strategy, optimizer=optimizer,
        base_lrs=[g["lr"] for g in optimizer.param_groups],
        loss_fns=run_losses(config, tasks, train.y),  # class weights from the training rows
        train=train,
        val=_to_split(ds, val_idx, tasks, device, prep),
        test=_to_split(ds, parts.test, tasks, device, prep),
        parts=parts,
        shared_params=model.shared_parameters(),
        other_params=model.task_parameters() + strategy.parameters(),
        preprocessing=prep,
        threads=threads,
    )


def metric_fns(task: ResolvedTask) -> dict[str, Callable[..., float]]:
    return {m: METRICS.get(m).obj for m in metrics_for(task.type, task.loss, task.n_outputs)}


def raw_units(setup: Setup, source: str, pred: torch.Tensor, target: torch.Tensor
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """A regression task's outputs and targets back in the target's own units, for its metrics
    (mse and mae in those units; R^2 is the same either way). Other tasks pass through."""
    prep = setup.preprocessing
    if prep is None:
        return pred, target
    return prep.to_raw(source, pred), prep.to_raw(source, target)
