"""Per-task training losses, by name: ``fn(pred, target) -> scalar tensor``.

Missing targets are skipped: class id -1 for classification and binary tasks, NaN for regression.
Every loss is the mean over the present targets only, written with masks and ``torch.where`` so it
never synchronises with the device (no ``.item()``, no boolean indexing). A batch in which every
target is missing gives exactly 0, still attached to the graph, so back-propagating it is a no-op
rather than a NaN.

Shapes follow the model's heads: classification pred (B, C) with int64 targets (B,); binary pred
(B,) logits with targets 0/1 (any dtype); regression pred (B,) with float targets (B,). A pred of
shape (B, 1) is accepted for binary and regression. A regression task with k values per row has
pred and targets (B, k): its loss is the mean over the present cells (a NaN cell is skipped on
its own, the row's other cells still count), and the fused form the mean over all B k cells.

Imbalance: `cross_entropy` takes per-class weights and `bce` a positive-class weight, as torch's
own losses do (a weighted mean over the present targets: sum w_i l_i / sum w_i for cross-entropy;
the plain mean of pos_weight-scaled terms for BCE). `task_loss` binds them for a run; the
"balanced" weights come from the training rows (`balanced_weights`, see task_losses.py).

Each loss also has a `fused` form (its `fused` fact): the same value, to round-off, through
torch's own reduced kernels (``F.cross_entropy``, ``F.binary_cross_entropy_with_logits``,
``F.mse_loss`` ...), for a batch in which no target is missing. The training loop takes it for
those batches (it knows which from the training rows, without a device sync); the masks cost
about as much as the loss itself on a small model.

`poisson` is for count targets: the head's output is the log-rate, so the predicted mean count is
exp(output) (the loss's `link` fact is "log"; `prediction` applies it before metrics are scored).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch
import torch.nn.functional as F

from .registry import LOSSES

LOSSES.declare(
    task_types=(),  # the task types (classification, ...) a loss serves
    default_for=(),  # the task types whose tasks use this loss when a preset names none
    # which keyword weights the loss takes for `class_weight: balanced`: "class" (a tensor of
    # one weight per class), "positive" (pos_weight, a scalar tensor) or None (no weighting)
    weighting=None,
    # how the output maps to a prediction in the target's units: "identity", or "log" (the
    # output is a log-mean: the prediction is exp(output))
    link="identity",
    # whether the targets may be standardised (shifted and scaled) before training: False for a
    # loss that needs the target's own values (counts for poisson)
    scalable_target=True,
    # the smallest target value the loss accepts (checked once, on the training rows); None: any
    min_target=None,
    # the same loss for a batch with no missing target, through torch's fused kernels (same
    # signature and keyword weights); None: the masked loss serves every batch
    fused=None,
    # how a missing target is spelt: "nan" (regression), or "negative" (-1 for a class id or a
    # 0/1 label; NaN counts as missing too)
    missing="nan",
)

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def masked_mean(per_sample: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
    """Mean of `per_sample` where `present`; 0 (with a gradient path) when nothing is present."""
    kept = torch.where(present, per_sample, torch.zeros_like(per_sample))
    count = present.sum().clamp(min=1).to(per_sample.dtype)
    return kept.sum() / count


def weighted_mean(per_sample: torch.Tensor, weights: torch.Tensor, present: torch.Tensor
                  ) -> torch.Tensor:
    """sum(w l) / sum(w) over the present samples (torch's weighted "mean"); 0 when none is."""
    zero = torch.zeros_like(per_sample)
    num = torch.where(present, per_sample * weights, zero).sum()
    den = torch.where(present, weights, zero).sum()
    return num / torch.where(den > 0, den, torch.ones_like(den))


def _flat(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    # Heads for binary/regression may hand back (B, 1); the targets are always (B,).
    return pred.reshape(target.shape) if pred.dim() == target.dim() + 1 else pred


def _cross_entropy_fused(pred: torch.Tensor, target: torch.Tensor,
                         class_weight: torch.Tensor | None = None) -> torch.Tensor:
    # torch's weighted mean is sum w_i l_i / sum w_i, as weighted_mean's
    weight = None if class_weight is None else class_weight.to(pred.dtype)
    return F.cross_entropy(pred, target.long(), weight=weight)


@LOSSES.register(
    "cross_entropy", "Softmax cross-entropy over class logits; targets of -1 are ignored",
    task_types=("classification",), default_for=("classification",), weighting="class",
    fused=_cross_entropy_fused, missing="negative",
)
def cross_entropy(pred: torch.Tensor, target: torch.Tensor,
                  class_weight: torch.Tensor | None = None) -> torch.Tensor:
    target = target.long()
    present = target >= 0
    safe = target.clamp(min=0)
    per = F.cross_entropy(pred, safe, reduction="none")
    if class_weight is None:
        return masked_mean(per, present)
    return weighted_mean(per, class_weight.to(per.dtype)[safe], present)


def _bce_fused(pred: torch.Tensor, target: torch.Tensor, pos_weight: torch.Tensor | None = None
               ) -> torch.Tensor:
    pred = _flat(pred, target)
    weight = None if pos_weight is None else pos_weight.to(pred.dtype)
    return F.binary_cross_entropy_with_logits(pred, target.to(pred.dtype), pos_weight=weight)


@LOSSES.register(
    "bce", "Binary cross-entropy on a logit (numerically stable form); targets of -1 are ignored",
    task_types=("binary",), default_for=("binary",), weighting="positive", fused=_bce_fused,
    missing="negative",
)
def bce(pred: torch.Tensor, target: torch.Tensor, pos_weight: torch.Tensor | None = None
        ) -> torch.Tensor:
    pred = _flat(pred, target)
    t = target.to(pred.dtype)
    present = t >= 0  # False for -1 and for NaN, so both spellings of "missing" work
    safe = torch.where(present, t, torch.zeros_like(t))
    weight = None if pos_weight is None else pos_weight.to(pred.dtype)
    per = F.binary_cross_entropy_with_logits(pred, safe, reduction="none", pos_weight=weight)
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


def _fused_regression(kernel: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> LossFn:
    """A torch mean-reduced regression loss on the flattened prediction (no target missing)."""

    def fn(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        pred = _flat(pred, target)
        return kernel(pred, target.to(pred.dtype))

    return fn


mse = LOSSES.register(
    "mse", "Mean squared error; NaN targets are ignored", task_types=("regression",),
    default_for=("regression",), fused=_fused_regression(F.mse_loss),
)(_regression(lambda r: r * r))
l1 = LOSSES.register(
    "l1", "Mean absolute error (L1); NaN targets are ignored", task_types=("regression",),
    fused=_fused_regression(F.l1_loss),
)(_regression(torch.abs))
huber = LOSSES.register(
    "huber", "Huber loss with delta 1 (Huber, Ann. Math. Statist. 1964): quadratic within 1 of "
    "the target, linear beyond; NaN targets are ignored", task_types=("regression",),
    fused=_fused_regression(F.huber_loss),  # torch's default delta is 1, as _huber's
)(_regression(_huber))


def _poisson_fused(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    pred = _flat(pred, target)
    t = target.to(pred.dtype)
    return (torch.exp(pred) - t * pred + torch.lgamma(t + 1)).mean()


@LOSSES.register(
    "poisson", "Poisson negative log-likelihood for counts, log link: the output is the log of "
    "the expected count, exp(out) - y * out + log(y!); NaN targets are ignored",
    task_types=("regression",), link="log", scalable_target=False, min_target=0.0,
    fused=_poisson_fused,
)
def poisson(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    pred = _flat(pred, target)
    t = target.to(pred.dtype)
    present = ~torch.isnan(t)
    # 0 in the holes: their term exp(out) is then finite, and masked_mean drops it
    safe = torch.where(present, t, torch.zeros_like(t))
    # log(y!) does not move the gradient; with it the loss is the NLL itself (>= 0 for counts)
    per = torch.exp(pred) - safe * pred + torch.lgamma(safe + 1)
    return masked_mean(per, present)


_INVERSE_LINKS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "identity": lambda out: out,
    "log": torch.exp,
}


def prediction(loss: str, output: torch.Tensor) -> torch.Tensor:
    """A head's output as a prediction in the target's units, under `loss`'s link (exp for a
    log link, else the output itself: logits stay logits)."""
    return _INVERSE_LINKS[LOSSES.get(loss).meta["link"]](output)


def missing_targets(loss: str, target: torch.Tensor) -> torch.Tensor:
    """Where `target` is missing for `loss` (a bool tensor of its shape), as its masked form
    skips it."""
    if LOSSES.get(loss).meta["missing"] == "negative":
        return ~(target >= 0)  # NaN too: every comparison with it is False
    if target.is_floating_point():
        return torch.isnan(target)
    return torch.zeros_like(target, dtype=torch.bool)


def task_loss(loss: str, weight: torch.Tensor | None = None, *, fused: bool = False) -> LossFn:
    """The loss function of one task, with its class or positive weight bound (if any); with
    `fused`, its form for batches without a missing target (the masked one if it has none)."""
    entry = LOSSES.get(loss)
    fn = entry.meta["fused"] if fused and entry.meta["fused"] is not None else entry.obj
    if weight is None:
        return fn
    key = {"class": "class_weight", "positive": "pos_weight"}[LOSSES.get(loss).meta["weighting"]]
    return functools.partial(fn, **{key: weight})
