"""rmse, logloss and iou against values worked out by hand; auroc's missing labels and shapes."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mtl_engine.metric_choice import metrics_for
from mtl_engine.metrics import auroc, iou, logloss, mse, rmse
from mtl_engine.registry import METRICS

NAN = float("nan")


def t(values: list) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float32)


# ----------------------------------------------------------------------------- rmse


def test_rmse_of_a_tiny_array_skips_missing() -> None:
    # residuals 1, -2, 2 (the NaN target is skipped): mean square 9 / 3 = 3
    got = rmse(t([1.0, 0.0, 5.0, 4.0]), t([0.0, 2.0, NAN, 2.0]))
    assert got == pytest.approx(math.sqrt(3.0))


def test_rmse_pools_the_present_cells_of_a_k_value_task_like_mse() -> None:
    # residual cells 1, 3 | NaN, 0 | 2, NaN: mean square (1 + 9 + 0 + 4) / 4 = 3.5
    pred = np.array([[1.0, 3.0], [5.0, 2.0], [2.0, 7.0]])
    true = np.array([[0.0, 0.0], [NAN, 2.0], [0.0, NAN]])
    assert mse(pred, true) == pytest.approx(3.5)
    assert rmse(pred, true) == pytest.approx(math.sqrt(3.5))
    assert math.isnan(rmse(t([1.0]), t([NAN])))


# ----------------------------------------------------------------------------- logloss


def test_logloss_by_hand_skips_a_missing_label() -> None:
    # logit 0 (p 1/2) with label 1: -ln(1/2); logit ln 3 (p 3/4) with label 0: -ln(1/4);
    # logit -ln 4 (p 1/5) with label 0: -ln(4/5); the -1 label is skipped.
    got = logloss(t([0.0, math.log(3.0), -math.log(4.0), 7.0]), torch.tensor([1, 0, 0, -1]))
    want = -(math.log(0.5) + math.log(0.25) + math.log(0.8)) / 3
    assert got == pytest.approx(want, rel=1e-6)  # the logits are float32


def test_logloss_is_finite_for_huge_logits_and_takes_float_labels_and_columns() -> None:
    # logit -1000 with label 1 costs 1000 (a naive log(sigmoid) would be -inf); +1000 with 1: 0
    assert logloss(t([-1000.0, 1000.0]), t([1.0, 1.0])) == pytest.approx(500.0)
    col = logloss(t([[0.0], [0.0], [3.0]]), t([1.0, 0.0, NAN]))
    assert col == pytest.approx(math.log(2.0))
    assert math.isnan(logloss(t([0.5]), torch.tensor([-1])))


def test_auroc_skips_nan_and_minus_one_labels_and_reads_column_logits() -> None:
    # present: scores 3 (pos), 1 (neg), 2 (pos), 0.5 (neg): every pair ranked right
    scores = t([[3.0], [1.0], [2.0], [9.0], [0.5], [-9.0]])
    assert auroc(scores, t([1.0, 0.0, 1.0, NAN, 0.0, -1.0])) == pytest.approx(1.0)
    # positives 0.2, 0.6 against negatives 0.4: one of two pairs right
    assert auroc(t([0.2, 0.4, 0.6, 5.0]), torch.tensor([1, 0, 1, -1])) == pytest.approx(0.5)


# ----------------------------------------------------------------------------- iou


def test_iou_of_identical_disjoint_and_half_overlapping_boxes() -> None:
    box = [0.0, 0.0, 2.0, 2.0]
    assert iou(t([box]), t([box])) == pytest.approx(1.0)
    assert iou(t([[3.0, 3.0, 4.0, 4.0]]), t([box])) == 0.0
    # shifted by half its width: intersection 1 x 2 = 2, union 4 + 4 - 2 = 6 -> 1/3
    assert iou(t([[1.0, 0.0, 3.0, 2.0]]), t([box])) == pytest.approx(1 / 3)


def test_iou_is_the_mean_over_rows_skipping_rows_with_a_missing_target() -> None:
    pred = t([[0.0, 0.0, 2.0, 2.0], [1.0, 0.0, 3.0, 2.0], [5.0, 5.0, 6.0, 6.0], [0, 0, 1, 1]])
    true = t([[0.0, 0.0, 2.0, 2.0], [0.0, 0.0, 2.0, 2.0], [0.0, 0.0, 1.0, 1.0],
              [0.0, NAN, 1.0, 1.0]])
    assert iou(pred, true) == pytest.approx((1 + 1 / 3 + 0) / 3)
    assert math.isnan(iou(t([[0, 0, 1, 1]]), t([[NAN, 0, 1, 1]])))


def test_an_inverted_predicted_box_is_empty() -> None:
    # x_max < x_min: as a box it is empty, though |width| * |height| would overlap the target
    assert iou(t([[2.0, 0.0, 0.0, 2.0]]), t([[0.0, 0.0, 2.0, 2.0]])) == 0.0
    assert iou(t([[0.0, 2.0, 2.0, 0.0]]), t([[0.0, 0.0, 2.0, 2.0]])) == 0.0


def test_iou_refuses_another_width_naming_itself() -> None:
    with pytest.raises(ValueError, match=r"'iou' needs 4 values per row"):
        iou(t([1.0, 2.0]), t([1.0, 2.0]))
    with pytest.raises(ValueError, match=r"'iou'"):
        iou(t([[0.0, 0.0, 1.0]]), t([[0.0, 0.0, 1.0]]))


# ----------------------------------------------------------------------------- registry


def test_facts_directions_and_which_tasks_get_them() -> None:
    assert METRICS.get("iou").meta["outputs"] == 4
    assert METRICS.get("rmse").meta["outputs"] is None
    assert METRICS.get("iou").meta["higher_is_better"] is True
    assert METRICS.get("rmse").meta["higher_is_better"] is False
    assert METRICS.get("logloss").meta["higher_is_better"] is False
    assert "iou" in metrics_for("regression", "mse", 4)
    assert "iou" not in metrics_for("regression", "mse", 1)
    assert "iou" not in metrics_for("regression")  # the width unknown: never offered
    assert "rmse" in metrics_for("regression", "mse", 1) and "rmse" in metrics_for(
        "regression", "mse", 4)
    assert "logloss" in metrics_for("binary") and "logloss" not in metrics_for("regression")


def test_iou_is_refused_for_a_task_without_four_values() -> None:
    import pytest

    from mtl_engine.build import dataset_for, resolve_tasks
    from mtl_engine.errors import ConfigError
    from mtl_engine.presets import load, resolve

    d = load(resolve("penguins_mixed")).to_dict()
    reg = next(i for i, t in enumerate(d["tasks"]) if t["name"] == "body_mass" or
               t.get("target") == "body_mass")
    d["tasks"][reg]["metric"] = "iou"
    from mtl_engine.config import from_dict

    config = from_dict(d)
    with pytest.raises(ConfigError) as err:
        resolve_tasks(config, dataset_for(config).spec)
    assert f"tasks[{reg}].metric" in str(err.value) and "4 values" in str(err.value)
