"""Per-task training losses, by name: ``fn(pred, target) -> scalar tensor``.

Missing targets are skipped: class id -1 for classification and binary tasks, NaN for regression.
Every loss is the mean over the present targets only, written with masks and ``torch.where`` so it
never synchronises with the device (no ``.item()``, no boolean indexing). A batch in which every
target is missing gives exactly 0, still attached to the graph, so back-propagating it is a no-op
rather than a NaN.

Shapes follow the model's heads: classification pred (B, C) with int64 targets (B,); binary pred
(B,) logits with targets 0/1 (any dtype); regression pred (B,) with float targets (B,). A pred of
shape (B, 1) is accepted for binary and regression.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from .registry import LOSSES

LOSSES.declare(
    task_types=(),  # the task types (classification, ...) a loss serves
    default_for=(),  # the task types whose tasks use this loss when a preset names none
)

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def masked_mean(per_sample: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
    """Mean of `per_sample` where `present`; 0 (with a gradient path) when nothing is present."""
    kept = torch.where(present, per_sample, torch.zeros_like(per_sample))
    count = present.sum().clamp(min=1).to(per_sample.dtype)
    return kept.sum() / count


def _flat(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    # Heads for binary/regression may hand back (B, 1); the targets are always (B,).
    return pred.reshape(target.shape) if pred.dim() == target.dim() + 1 else pred


@LOSSES.register(
    "cross_entropy", "Softmax cross-entropy over class logits; targets of -1 are ignored",
    task_types=("classification",), default_for=("classification",),
)
def cross_entropy(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    target = target.long()
    present = target >= 0
    per = F.cross_entropy(pred, target.clamp(min=0), reduction="none")
    return masked_mean(per, present)


@LOSSES.register(
    "bce", "Binary cross-entropy on a logit (numerically stable form); targets of -1 are ignored",
    task_types=("binary",), default_for=("binary",),
)
def bce(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    pred = _flat(pred, target)
    t = target.to(pred.dtype)
    present = t >= 0  # False for -1 and for NaN, so both spellings of "missing" work
    safe = torch.where(present, t, torch.zeros_like(t))
    per = F.binary_cross_entropy_with_logits(pred, safe, reduction="none")
    return masked_mean(per, present)


def _regression(per_sample: Callable[[torch.Tensor], torch.Tensor]) -> LossFn:
    """Wrap an elementwise penalty on the residual into a NaN-skipping mean loss."""

    def fn(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        pred = _flat(pred, target)
        t = target.to(pred.dtype)
        present = ~torch.isnan(t)
        # Filling the holes with pred itself makes their residual 0, so no NaN reaches backward.
        safe = torch.where(present, t, pred.detach())
        return masked_mean(per_sample(pred - safe), present)

    return fn


def _huber(r: torch.Tensor, delta: float = 1.0) -> torch.Tensor:
    a = r.abs()
    return torch.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta))


mse = LOSSES.register(
    "mse", "Mean squared error; NaN targets are ignored", task_types=("regression",),
    default_for=("regression",),
)(_regression(lambda r: r * r))
l1 = LOSSES.register(
    "l1", "Mean absolute error (L1); NaN targets are ignored", task_types=("regression",),
)(_regression(torch.abs))
huber = LOSSES.register(
    "huber", "Huber loss with delta 1 (Huber, Ann. Math. Statist. 1964): quadratic within 1 of "
    "the target, linear beyond; NaN targets are ignored", task_types=("regression",),
)(_regression(_huber))
