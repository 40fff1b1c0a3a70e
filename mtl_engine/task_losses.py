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
from .losses import LossFn, missing_targets, task_loss
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
               train_targets: Mapping[str, torch.Tensor], *, fused: bool = False
               ) -> list[LossFn]:
    """One loss function per resolved task, in order, with its balanced weights bound (if the
    task asks for them) from `train_targets` (by dataset task name: Split.y). With `fused`, each
    is the loss's form for batches with no missing target (losses.task_loss), same weights."""
    enabled = [(f"tasks[{i}]", t) for i, t in enumerate(config.tasks) if t.enabled]
    out: list[LossFn] = []
    for (path, task_cfg), task in zip(enabled, tasks):
        target = train_targets[task.source]
        entry = LOSSES.get(task.loss)
        _check_targets(path, task, target, entry.meta["min_target"])
        if task_cfg.class_weight == "none":
            out.append(task_loss(task.loss, fused=fused))
            continue
        if task.type not in ("classification", "binary"):
            raise ConfigError(f"{path}.class_weight", f"{task_cfg.class_weight!r} weights the "
                              f"classes of a classification or binary task; {task.name!r} is "
                              f"{task.type}")
        if entry.meta["weighting"] is None:
            raise ConfigError(f"{path}.class_weight", f"loss {task.loss!r} takes no class "
                              "weights; use cross_entropy or bce, or class_weight: none")
        weights = balanced_weights(task.type, task.n_classes, target).to(target.device)
        out.append(task_loss(task.loss, weights, fused=fused))
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


def _row_holes(loss: str, target: torch.Tensor) -> torch.Tensor:
    """Per row, whether it misses a target: a row of an (N, k) target does if any cell is."""
    hole = missing_targets(loss, target)
    return hole if hole.dim() == 1 else hole.flatten(1).any(dim=1)


class BatchLosses:
    """The training rows' targets and loss functions as each step takes them.

    Targets are stacked once per run into one tensor per dtype (int64 class ids; the inputs'
    float type for the rest, 0/1 labels included), so a batch's targets are one `index_select`
    per dtype instead of one indexing per task. Each task's loss is its fused form (torch's
    reduced kernel, losses.task_loss) on every batch in which none of its targets is missing, and
    the masked form on the others: which batches those are is worked out on the host, once per
    epoch, from the shuffled row order, so the step never synchronises to find out.
    """

    def __init__(self, config: ExperimentConfig, tasks: tuple[ResolvedTask, ...],
                 train_targets: Mapping[str, torch.Tensor], masked: list[LossFn],
                 float_dtype: torch.dtype, fused: bool = True) -> None:
        self.masked = tuple(masked)
        self.fused = tuple(run_losses(config, tasks, train_targets, fused=True)) if fused \
            else self.masked
        columns = [train_targets[t.source] for t in tasks]
        # one k x N tensor per dtype, and each task's (tensor, row) in them
        self.stacked: list[torch.Tensor] = []
        self.slots: list[tuple[int, int]] = []
        if all(c.dim() == 1 for c in columns):
            groups: dict[torch.dtype, list[torch.Tensor]] = {}
            for t, c in zip(tasks, columns):
                dtype = torch.int64 if t.type == "classification" else float_dtype
                rows = groups.setdefault(dtype, [])
                self.slots.append((list(groups).index(dtype), len(rows)))
                rows.append(c.to(dtype))
            self.stacked = [torch.stack(rows) for rows in groups.values()]
        self.columns = columns
        # (task, the rows whose target is missing, on the host) for each task that misses some
        self.holes: list[tuple[int, torch.Tensor]] = []
        for i, (t, c) in enumerate(zip(tasks, columns)):
            rows = torch.nonzero(_row_holes(t.loss, c).cpu()).reshape(-1) if fused else None
            if rows is not None and rows.numel():
                self.holes.append((i, rows))

    def targets(self, idx: torch.Tensor) -> list[torch.Tensor]:
        """Each task's targets at rows `idx`."""
        if not self.stacked:
            return [c[idx] for c in self.columns]
        parts = [s.index_select(1, idx).unbind(0) for s in self.stacked]
        return [parts[g][r] for g, r in self.slots]

    def forms(self, perm: torch.Tensor, batch_size: int, batches: int
              ) -> list[tuple[LossFn, ...]]:
        """The loss functions of each of the first `batches` batches of `batch_size` rows of the
        host row order `perm`: fused where the batch has no missing target of the task."""
        out = [self.fused] * batches
        if not self.holes:
            return out
        where = torch.empty_like(perm)  # where[row] = its position in perm
        where[perm] = torch.arange(perm.numel())
        masked_in: dict[int, list[int]] = {}  # batch -> the tasks it misses a target of
        for task, rows in self.holes:
            for b in set((where[rows] // batch_size).tolist()):
                if b < batches:
                    masked_in.setdefault(b, []).append(task)
        for b, tasks in masked_in.items():
            fns = list(self.fused)
            for task in tasks:
                fns[task] = self.masked[task]
            out[b] = tuple(fns)
        return out
