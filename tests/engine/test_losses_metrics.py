"""Losses and metrics against values worked out by hand, and missing-target handling."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mtl_engine.config import TASK_TYPES
from mtl_engine.data._common import make_task
from mtl_engine.metric_choice import metrics_for
from mtl_engine.registry import LOSSES, METRICS

LN2, LN3 = math.log(2.0), math.log(3.0)


def loss(name: str, pred: list, target: list, dtype: torch.dtype = torch.float32) -> float:
    return float(LOSSES.get(name).obj(torch.tensor(pred), torch.tensor(target, dtype=dtype)))


def metric(name: str, pred: list, target: list) -> float:
    return METRICS.get(name).obj(torch.tensor(pred, dtype=torch.float32), torch.tensor(target))


# ----------------------------------------------------------------------------- losses


def test_cross_entropy_by_hand_skips_missing() -> None:
    # Row 1: logits (0, 0) -> p(class 0) = 1/2. Row 2: (ln 3, 0) -> p(class 0) = 3/4. Row 3 missing.
    got = loss("cross_entropy", [[0.0, 0.0], [LN3, 0.0], [5.0, -5.0]], [0, 0, -1], torch.long)
    assert got == pytest.approx((LN2 + math.log(4 / 3)) / 2, rel=1e-6)


def test_bce_by_hand_skips_missing() -> None:
    # logit 0 with target 1: ln 2; logit ln 3 (p = 3/4) with target 0: -ln(1/4) = ln 4.
    got = loss("bce", [0.0, LN3, 9.0], [1, 0, -1], torch.long)
    assert got == pytest.approx((LN2 + 2 * LN2) / 2, rel=1e-6)


def test_bce_accepts_float_targets_with_nan_missing_and_column_preds() -> None:
    got = float(LOSSES.get("bce").obj(torch.tensor([[0.0], [LN3], [9.0]]),
                                      torch.tensor([1.0, 0.0, float("nan")])))
    assert got == pytest.approx(1.5 * LN2, rel=1e-6)


@pytest.mark.parametrize(("name", "expected"), [("mse", (1 + 4) / 2), ("l1", (1 + 2) / 2),
                                                ("huber", (0.5 + 1.5) / 2)])
def test_regression_losses_by_hand_skip_nan(name: str, expected: float) -> None:
    # Residuals 1 and -2 (the NaN target is skipped). Huber, delta 1: 0.5*1^2 and 1*(2 - 0.5).
    assert loss(name, [1.0, 2.0, 3.0], [0.0, float("nan"), 5.0]) == pytest.approx(expected)


def _all_missing_batch(task_type: str) -> tuple[torch.Tensor, torch.Tensor]:
    if task_type == "classification":
        return torch.randn(4, 3, requires_grad=True), torch.full((4,), -1, dtype=torch.long)
    if task_type == "binary":
        return torch.randn(4, requires_grad=True), torch.full((4,), -1, dtype=torch.long)
    return torch.randn(4, requires_grad=True), torch.full((4,), float("nan"))


@pytest.mark.parametrize("entry", LOSSES.entries(), ids=lambda e: e.name)
def test_all_missing_batch_gives_zero_loss_that_backpropagates(entry) -> None:
    for task_type in entry.meta["task_types"]:
        pred, target = _all_missing_batch(task_type)
        out = entry.obj(pred, target)
        assert out.dim() == 0 and float(out.detach()) == 0.0
        out.backward()
        assert pred.grad is not None and torch.equal(pred.grad, torch.zeros_like(pred))


def test_missing_regression_target_gets_no_gradient() -> None:
    pred = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    LOSSES.get("mse").obj(pred, torch.tensor([0.0, float("nan"), 5.0])).backward()
    # d/dp of ((p0 - 0)^2 + (p2 - 5)^2) / 2 = (p0, p2 - 5) = (1, -2); the NaN slot gets 0.
    assert pred.grad.tolist() == pytest.approx([1.0, 0.0, -2.0])


# ----------------------------------------------------------------------------- metrics

# Six samples, three classes, worked by hand:
#   class 0: TP 1, FP 1, FN 1 -> F1 2/4;  class 1: TP 2, FP 1, FN 0 -> F1 4/5;
#   class 2: TP 1, FP 0, FN 1 -> F1 2/3;  macro F1 = (1/2 + 4/5 + 2/3) / 3 = 59/90.
#   recall: 1/2, 2/2, 1/2 -> 2/3; accuracy 4/6.
TRUE6 = [0, 0, 1, 1, 2, 2, -1]  # the trailing -1 is a missing target and must be ignored
GUESS6 = [0, 1, 1, 1, 2, 0, 2]


def _logits(guesses: list[int], n_classes: int = 3) -> list[list[float]]:
    return [[3.0 if c == g else 0.0 for c in range(n_classes)] for g in guesses]


def test_classification_metrics_on_six_samples() -> None:
    pred = _logits(GUESS6)
    assert metric("macro_f1", pred, TRUE6) == pytest.approx(59 / 90)
    assert metric("recall", pred, TRUE6) == pytest.approx(2 / 3)
    assert metric("accuracy", pred, TRUE6) == pytest.approx(4 / 6)


def test_macro_f1_counts_a_class_that_is_only_predicted() -> None:
    # class 0: F1 2/3; class 1: F1 1; class 2 never true but predicted once: F1 0 -> 5/9.
    pred = _logits([0, 2, 1, 1])
    assert metric("macro_f1", pred, [0, 0, 1, 1]) == pytest.approx(5 / 9)
    # Recall averages over the true classes only: (1/2 + 1) / 2.
    assert metric("recall", pred, [0, 0, 1, 1]) == pytest.approx(0.75)


def test_binary_accuracy_and_f1_from_logits() -> None:
    # Guesses (logit > 0): 1, 0, 1, 0 against 1, 1, 0, 0: TP 1, FP 1, FN 1 -> F1 = 2/4.
    logits, true = [2.0, -1.0, 0.5, -3.0, 1.0], [1, 1, 0, 0, -1]
    assert metric("f1", logits, true) == pytest.approx(0.5)
    assert metric("accuracy", logits, true) == pytest.approx(0.5)


def test_auroc_on_ranked_examples() -> None:
    # Positives 0.35, 0.8 against negatives 0.1, 0.4: 3 of 4 pairs ranked right.
    assert metric("auroc", [0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == pytest.approx(0.75)
    # A tie between a positive and a negative counts half: (0.5 + 1 + 1 + 1) / 4.
    assert metric("auroc", [1.0, 1.0, 2.0, 0.0], [1, 0, 1, 0]) == pytest.approx(0.875)
    assert metric("auroc", [3.0, 1.0, 2.0, 9.0], [1, 0, 1, -1]) == pytest.approx(1.0)
    assert math.isnan(metric("auroc", [0.1, 0.2], [1, 1]))


def test_regression_metrics_by_hand() -> None:
    # Residual only on the last point (1); SS_tot of 1..4 is 5, so R^2 = 1 - 1/5.
    pred, true = [1.0, 2.0, 3.0, 5.0, 7.0], [1.0, 2.0, 3.0, 4.0, float("nan")]
    assert metric("mse", pred, true) == pytest.approx(0.25)
    assert metric("mae", pred, true) == pytest.approx(0.25)
    assert metric("r2", pred, true) == pytest.approx(0.8)


def test_r2_of_a_constant_target() -> None:
    assert metric("r2", [2.0, 2.0], [2.0, 2.0]) == 1.0
    assert metric("r2", [1.0, 3.0], [2.0, 2.0]) == 0.0


def test_metrics_accept_numpy_and_return_nan_when_nothing_to_score() -> None:
    acc = METRICS.get("accuracy").obj(np.array(_logits([0, 1])), np.array([0, 0]))
    assert acc == pytest.approx(0.5) and isinstance(acc, float)
    assert math.isnan(metric("accuracy", _logits([0, 1]), [-1, -1]))
    assert math.isnan(metric("mse", [1.0], [float("nan")]))


def test_metrics_for_each_task_type() -> None:
    assert metrics_for("classification") == ["accuracy", "macro_f1", "recall"]
    assert metrics_for("binary") == ["accuracy", "f1", "auroc", "logloss"]
    assert metrics_for("regression") == ["mse", "mae", "r2", "rmse"]


@pytest.mark.parametrize(("name", "higher"), [("accuracy", True), ("macro_f1", True),
                                              ("auroc", True), ("r2", True), ("mse", False),
                                              ("mae", False)])
def test_direction_of_each_metric(name: str, higher: bool) -> None:
    assert METRICS.get(name).meta["higher_is_better"] is higher


@pytest.mark.parametrize("task_type", TASK_TYPES)
def test_each_task_type_has_one_default_loss_and_metric_that_serve_it(task_type: str) -> None:
    for reg in (LOSSES, METRICS):
        defaults = [e for e in reg if task_type in e.meta["default_for"]]
        assert len(defaults) == 1, f"{reg.kind}s defaulting for {task_type}: {defaults}"
        assert task_type in defaults[0].meta["task_types"]


def test_a_dataset_task_suggests_the_declared_defaults() -> None:
    suggested = {t: (make_task("t", t, 3).loss, make_task("t", t, 3).metric) for t in TASK_TYPES}
    assert suggested == {"classification": ("cross_entropy", "accuracy"),
                         "binary": ("bce", "accuracy"), "regression": ("mse", "mse")}
