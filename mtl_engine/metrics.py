"""Validation metrics, by name: ``fn(pred, target) -> float`` over a whole validation set.

pred and target are tensors (any device) or numpy arrays, shaped as for the losses: classification
(N, C) logits and int class ids; binary (N,) logits and 0/1 ids; regression (N,) values, or
(N, k) for a task with k values per row. Missing
targets (-1 ids, NaN values) are skipped; a set with nothing left to score gives NaN. Each metric
turns into a Python float once, at the end, which is the only host-device sync it causes.

Conventions where definitions differ between libraries (these match scikit-learn's defaults):
macro F1 averages over the classes that occur in the targets or the predictions; macro recall
averages over the classes that occur in the targets (so it equals balanced accuracy); F1 with no
positive target and no positive prediction is 0; R^2 of a constant target is 1 if predicted exactly,
else 0; AUROC gives tied scores half credit (Mann-Whitney U) and is NaN with one class present.

A k-value regression task (k > 1) is scored over its cells: mse and mae are the means over every
present cell (so they equal the loss's mean over cells), and R^2 is the mean over the columns of
each column's own R^2 (scikit-learn's ``multioutput="uniform_average"``; a column with no present
cell is left out). A pooled R^2 against the grand mean would count the spread between the
columns' means as explained variance, crediting a model for merely knowing each column's mean.

rmse is the square root of that mse (pooled over the present cells the same way). logloss is the
mean binary cross-entropy of sigmoid(logit), computed from the logits (finite for any logit).
iou scores boxes: a task of 4 values per row (x_min, y_min, x_max, y_max), the mean over the rows
with no missing target value of area(intersection) / area(union); a predicted box with
x_max < x_min or y_max < y_min is empty (IoU 0), and so is a row whose union has no area. Its
registry fact `outputs=4` keeps it to tasks of 4 values (`metric_choice.metrics_for(...,
outputs=)`); given another width it raises ValueError.

Regression metrics score predictions in the target's units: for a task trained with `poisson`
that is the mean count exp(output) (training applies the loss's link first, losses.prediction).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from .registry import METRICS

METRICS.declare(
    task_types=(),  # the task types a metric serves
    higher_is_better=True,  # whether a larger value is better
    default_for=(),  # the task types whose headline metric this is when a preset names none
    losses=(),  # only for tasks trained with one of these losses (its predictions mean it); ()
    outputs=None,  # the values per row a task must have (iou: 4, a box); None: any number
)

MetricFn = Callable[[Any, Any], float]
_NAN = float("nan")


def _tensors(pred: Any, target: Any) -> tuple[torch.Tensor, torch.Tensor]:
    p = torch.as_tensor(pred).detach()
    t = torch.as_tensor(target, device=p.device).detach()
    if p.dim() == t.dim() + 1 and p.shape[-1] == 1:
        p = p.reshape(t.shape)
    return p, t


def _labels(pred: Any, target: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Predicted and true class ids of the samples whose target is present."""
    p, t = _tensors(pred, target)
    t = t.double()
    keep = t >= 0  # drops -1 and NaN alike
    guess = p.argmax(dim=1) if p.dim() == 2 else (p > 0).long()
    return guess[keep], t[keep].long()


def _values(pred: Any, target: Any) -> tuple[torch.Tensor, torch.Tensor]:
    p, t = _tensors(pred, target)
    p, t = p.double(), t.double()
    keep = ~torch.isnan(t)
    return p[keep], t[keep]


def _register(name: str, summary: str, types: tuple[str, ...], higher: bool,
              default_for: tuple[str, ...] = (), losses: tuple[str, ...] = (),
              outputs: int | None = None) -> Callable[[MetricFn], MetricFn]:
    return METRICS.register(name, summary, task_types=types, higher_is_better=higher,
                            default_for=default_for, losses=losses, outputs=outputs)


@_register("accuracy", "Share of samples whose predicted class (argmax, or logit > 0) is right",
           ("classification", "binary"), True, default_for=("classification", "binary"))
def accuracy(pred: Any, target: Any) -> float:
    guess, true = _labels(pred, target)
    if true.numel() == 0:
        return _NAN
    return float((guess == true).double().mean())


def _counts(guess: torch.Tensor, true: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Per-class true positives, false positives, false negatives, and which classes occur."""
    n = int(max(guess.max(), true.max())) + 1
    tp = torch.bincount(true[guess == true], minlength=n).double()
    pred_count = torch.bincount(guess, minlength=n).double()
    true_count = torch.bincount(true, minlength=n).double()
    return tp, pred_count - tp, true_count - tp, pred_count, true_count


@_register("macro_f1", "F1 averaged over classes with equal weight (macro F1)",
           ("classification",), True)
def macro_f1(pred: Any, target: Any) -> float:
    guess, true = _labels(pred, target)
    if true.numel() == 0:
        return _NAN
    tp, fp, fn, pred_count, true_count = _counts(guess, true)
    seen = (pred_count + true_count) > 0
    f1 = 2 * tp / (2 * tp + fp + fn).clamp(min=1)
    return float(f1[seen].mean())


@_register("recall", "Recall averaged over the classes present (macro recall, balanced accuracy)",
           ("classification",), True)
def macro_recall(pred: Any, target: Any) -> float:
    guess, true = _labels(pred, target)
    if true.numel() == 0:
        return _NAN
    tp, _, _, _, true_count = _counts(guess, true)
    seen = true_count > 0
    return float((tp[seen] / true_count[seen]).mean())


@_register("f1", "F1 of the positive class (logit > 0 predicts 1)", ("binary",), True)
def f1(pred: Any, target: Any) -> float:
    guess, true = _labels(pred, target)
    if true.numel() == 0:
        return _NAN
    tp = ((guess == 1) & (true == 1)).sum()
    denom = (guess == 1).sum() + (true == 1).sum()
    return float(2 * tp / denom) if int(denom) > 0 else 0.0


@_register("auroc", "Area under the ROC curve of the logits (Mann-Whitney U; ties count half)",
           ("binary",), True)
def auroc(pred: Any, target: Any) -> float:
    p, t = _tensors(pred, target)
    t = t.double()
    keep = t >= 0  # drops -1 and NaN alike
    score, pos = p.double()[keep], t[keep] > 0.5
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if n_pos == 0 or n_neg == 0:
        return _NAN
    # Average rank of each distinct score: tied samples share the mean of the ranks they span.
    _, inverse, counts = torch.unique(score, return_inverse=True, return_counts=True)
    ends = torch.cumsum(counts, 0).double()
    ranks = (ends - (counts.double() - 1) / 2)[inverse]
    u = ranks[pos].sum() - n_pos * (n_pos + 1) / 2
    return float(u / (n_pos * n_neg))


@_register("mse", "Mean squared error", ("regression",), False, default_for=("regression",))
def mse(pred: Any, target: Any) -> float:
    p, t = _values(pred, target)
    return float(((p - t) ** 2).mean()) if t.numel() else _NAN


@_register("mae", "Mean absolute error", ("regression",), False)
def mae(pred: Any, target: Any) -> float:
    p, t = _values(pred, target)
    return float((p - t).abs().mean()) if t.numel() else _NAN


@_register("r2", "Coefficient of determination R^2 = 1 - SS_res / SS_tot", ("regression",), True)
def r2(pred: Any, target: Any) -> float:
    per_column = _column_r2(pred, target)
    if per_column is not None:
        return per_column
    p, t = _values(pred, target)
    if t.numel() == 0:
        return _NAN
    return _r2(p, t)


def _r2(p: torch.Tensor, t: torch.Tensor) -> float:
    ss_res = float(((t - p) ** 2).sum())
    ss_tot = float(((t - t.mean()) ** 2).sum())
    if ss_tot == 0.0:
        return 1.0 if ss_res == 0.0 else 0.0
    return 1.0 - ss_res / ss_tot


def _column_r2(pred: Any, target: Any) -> float | None:
    """The mean over the columns of a (N, k) target (k > 1) of each column's R^2, skipping
    columns with no present cell (NaN when none has one); None for a one-value target."""
    p, t = _tensors(pred, target)
    if t.dim() != 2 or t.shape[1] == 1:
        return None
    p, t = p.double(), t.double()
    scores = []
    for j in range(t.shape[1]):
        keep = ~torch.isnan(t[:, j])
        if bool(keep.any()):
            scores.append(_r2(p[:, j][keep], t[:, j][keep]))
    return sum(scores) / len(scores) if scores else _NAN


@_register("poisson_deviance", "Mean Poisson deviance 2 (y ln(y / mu) - y + mu) of the predicted "
           "mean counts mu (0 for a perfect fit)", ("regression",), False, losses=("poisson",))
def poisson_deviance(pred: Any, target: Any) -> float:
    mu, y = _values(pred, target)
    if y.numel() == 0:
        return _NAN
    if bool((mu <= 0).any()) or bool((y < 0).any()):
        return _NAN  # the deviance of a non-positive mean or a negative count is undefined
    # y ln(y / mu) is 0 at y = 0 (its limit); xlogy spells that without a 0 * -inf
    per = torch.special.xlogy(y, y) - torch.special.xlogy(y, mu) - y + mu
    return float(2 * per.mean())


@_register("rmse", "Root mean squared error (the square root of mse, in the target's units)",
           ("regression",), False)
def rmse(pred: Any, target: Any) -> float:
    return math.sqrt(mse(pred, target))  # NaN stays NaN


@_register("logloss", "Log-loss: mean binary cross-entropy of sigmoid(logit) against the 0/1 "
           "labels", ("binary",), False)
def logloss(pred: Any, target: Any) -> float:
    p, t = _tensors(pred, target)
    t = t.double()
    keep = t >= 0  # drops -1 and NaN alike
    if not bool(keep.any()):
        return _NAN
    # from the logits: max(z, 0) - z y + log(1 + exp(-|z|)), finite for any z
    return float(F.binary_cross_entropy_with_logits(p.double()[keep], t[keep]))


BOX = 4  # x_min, y_min, x_max, y_max


@_register("iou", "Mean intersection over union of predicted and true boxes (x_min, y_min, "
           "x_max, y_max); a box with max < min is empty", ("regression",), True, outputs=BOX)
def iou(pred: Any, target: Any) -> float:
    p, t = _tensors(pred, target)
    if p.dim() != 2 or p.shape[1] != BOX or tuple(t.shape) != tuple(p.shape):
        raise ValueError(f"metric 'iou' needs {BOX} values per row (x_min, y_min, x_max, "
                         f"y_max), got predictions {tuple(p.shape)} and targets "
                         f"{tuple(t.shape)}")
    p, t = p.double(), t.double()
    keep = ~torch.isnan(t).any(dim=1)
    if not bool(keep.any()):
        return _NAN
    p, t = p[keep], t[keep]
    lo, hi = torch.maximum(p[:, :2], t[:, :2]), torch.minimum(p[:, 2:], t[:, 2:])
    inter = (hi - lo).clamp(min=0).prod(dim=1)  # 0 when either box is empty or they are apart
    area_p = (p[:, 2:] - p[:, :2]).clamp(min=0).prod(dim=1)
    area_t = (t[:, 2:] - t[:, :2]).clamp(min=0).prod(dim=1)
    union = area_p + area_t - inter
    score = torch.where(union > 0, inter / union.clamp(min=1e-300), torch.zeros_like(union))
    return float(score.mean())
