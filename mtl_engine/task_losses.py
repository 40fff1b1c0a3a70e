"""The loss function of each task of a run, built once at setup from the training rows.

A task's ``class_weight: balanced`` weights its loss by how rare each class is among the training
rows whose label is present (validation and test rows are never counted):

- classification: w_c = n / (C n_c), scikit-learn's ``class_weight="balanced"`` (n labelled rows,
  n_c of class c, C the classes that occur among them); a class absent from the training rows
  gets weight 1. cross_entropy then takes the weighted mean sum w_i l_i / sum w_i, as
  ``torch.nn.functional.cross_entropy(weight=w)`` does.
- binary: pos_weight = n_neg / n_pos (1 when either count is 0), as
  ``binary_cross_entropy_with_logits(pos_weight=...)`` takes it: the positive term is scaled, the
  mean stays over the rows.

The same weighted function scores the validation loss, so it is the quantity training minimises.
A loss whose `min_target` fact is set (poisson: counts >= 0) has its training targets checked
here, once, so a wrong target is refused by name instead of driving the loss to -inf.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from .build import ResolvedTask
from .config import ExperimentConfig
from .errors import ConfigError
from .losses import LossFn, task_loss
from .registry import LOSSES


def balanced_weights(task_type: str, n_classes: int, target: torch.Tensor) -> torch.Tensor:
    """Per-class weights (classification, shape (C,)) or pos_weight (binary, a scalar) that
    balance the present labels of `target` (-1 or NaN: missing)."""
    t = torch.as_tensor(target).detach().double()
    t = t[t >= 0]  # drops -1 and NaN alike
    if task_type == "binary":
        n_pos = int((t > 0.5).sum())
        n_neg = int(t.numel()) - n_pos
        return torch.tensor(n_neg / n_pos if n_pos and n_neg else 1.0, dtype=torch.float32)
    if task_type != "classification":
        raise ValueError(f"balanced weights need a classification or binary task, not {task_type}")
    counts = torch.bincount(t.long(), minlength=n_classes)[:n_classes].double()
    seen = counts > 0
    n, k = float(counts.sum()), int(seen.sum())
    weights = torch.ones(n_classes, dtype=torch.float64)
    weights[seen] = n / (k * counts[seen])
    return weights.float()


def run_losses(config: ExperimentConfig, tasks: tuple[ResolvedTask, ...],
               train_targets: Mapping[str, torch.Tensor]) -> list[LossFn]:
    """One loss function per resolved task, in order, with its balanced weights bound (if the
    task asks for them) from `train_targets` (by dataset task name: Split.y)."""
    enabled = [(f"tasks[{i}]", t) for i, t in enumerate(config.tasks) if t.enabled]
    out: list[LossFn] = []
    for (path, task_cfg), task in zip(enabled, tasks):
        target = train_targets[task.source]
        entry = LOSSES.get(task.loss)
        _check_targets(path, task, target, entry.meta["min_target"])
        if task_cfg.class_weight == "none":
            out.append(task_loss(task.loss))
            continue
        if task.type not in ("classification", "binary"):
            raise ConfigError(f"{path}.class_weight", f"{task_cfg.class_weight!r} weights the "
                              f"classes of a classification or binary task; {task.name!r} is "
                              f"{task.type}")
        if entry.meta["weighting"] is None:
            raise ConfigError(f"{path}.class_weight", f"loss {task.loss!r} takes no class "
                              "weights; use cross_entropy or bce, or class_weight: none")
        weights = balanced_weights(task.type, task.n_classes, target).to(target.device)
        out.append(task_loss(task.loss, weights))
    return out


def _check_targets(path: str, task: ResolvedTask, target: torch.Tensor,
                   low: float | None) -> None:
    if low is None:
        return
    t = torch.as_tensor(target).detach().double()
    t = t[~torch.isnan(t)]
    if t.numel() and float(t.min()) < low:
        raise ConfigError(f"{path}.loss", f"{task.loss!r} needs targets >= {low:g}, but task "
                          f"{task.name!r} has {float(t.min()):g} among its training rows (a count "
                          "is never negative, and its targets must not be standardised)")
