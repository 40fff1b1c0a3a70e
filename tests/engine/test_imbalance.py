"""Class weights and pos_weight (a task's `class_weight: balanced`): the weights counted on the
training rows, the weighted losses against hand-computed values and torch's own weighted losses,
the preset field, and a rare label that only the weighted loss ever predicts."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mtl_engine.config import from_dict, to_dict
from mtl_engine.control import RunControl
from mtl_engine.errors import ConfigError
from mtl_engine.presets import dumps, loads
from mtl_engine.registry import LOSSES
from mtl_engine.session_setup import prepare
from mtl_engine.task_losses import balanced_weights
from mtl_engine.training import _Loop

LN2, LN3 = math.log(2.0), math.log(3.0)


# ----------------------------------------------------------------------------- the weights


def test_balanced_class_weights_are_n_over_classes_times_count() -> None:
    # 7 labelled rows (the -1 is missing): counts 4, 2, 1 and class 3 never seen, so C = 3.
    w = balanced_weights("classification", 4, torch.tensor([0, 0, 0, 0, 1, 1, 2, -1]))
    assert w.tolist() == pytest.approx([7 / 12, 7 / 6, 7 / 3, 1.0])  # absent class: weight 1
    # sklearn's "balanced" makes the weighted count of every present class n / C
    counts = torch.tensor([4.0, 2.0, 1.0])
    assert (w[:3] * counts).tolist() == pytest.approx([7 / 3] * 3)


def test_balanced_pos_weight_is_negatives_over_positives() -> None:
    assert float(balanced_weights("binary", 2, torch.tensor([1.0, 0.0, 0.0, 0.0, math.nan]))) == 3
    assert float(balanced_weights("binary", 2, torch.tensor([1, 1, 0, 0, 0, -1, -1]))) == 1.5
    # nothing to balance with one class only
    assert float(balanced_weights("binary", 2, torch.tensor([1, 1, -1]))) == 1.0


# ----------------------------------------------------------------------------- the losses


def test_weighted_cross_entropy_by_hand_and_as_torch_weighs_it() -> None:
    # Row 1: logits (0, 0), class 0 -> ln 2. Row 2: (ln 3, 0), class 1 -> p = 1/4 -> ln 4.
    # Row 3 is missing. Weights (1, 3): (1 ln 2 + 3 ln 4) / (1 + 3) = 7 ln 2 / 4.
    pred = torch.tensor([[0.0, 0.0], [LN3, 0.0], [5.0, -5.0]])
    target = torch.tensor([0, 1, -1])
    weight = torch.tensor([1.0, 3.0])
    got = float(LOSSES.get("cross_entropy").obj(pred, target, class_weight=weight))
    assert got == pytest.approx(7 * LN2 / 4, rel=1e-6)
    expected = F.cross_entropy(pred[:2], target[:2], weight=weight)
    assert got == pytest.approx(float(expected), rel=1e-6)


def test_weighted_bce_by_hand_and_as_torch_weighs_it() -> None:
    # logit 0, target 1: pos_weight * ln 2; logit ln 3 (p = 3/4), target 0: ln 4; a missing row.
    pred, target = torch.tensor([0.0, LN3, 9.0]), torch.tensor([1.0, 0.0, math.nan])
    got = float(LOSSES.get("bce").obj(pred, target, pos_weight=torch.tensor(3.0)))
    assert got == pytest.approx((3 * LN2 + 2 * LN2) / 2, rel=1e-6)
    expected = F.binary_cross_entropy_with_logits(pred[:2], target[:2],
                                                  pos_weight=torch.tensor(3.0))
    assert got == pytest.approx(float(expected), rel=1e-6)


@pytest.mark.parametrize(("name", "key", "weight", "pred", "target"), [
    ("cross_entropy", "class_weight", torch.tensor([2.0, 5.0, 1.0]), torch.randn(4, 3),
     torch.full((4,), -1)),
    ("bce", "pos_weight", torch.tensor(4.0), torch.randn(4), torch.full((4,), -1)),
])
def test_weighted_losses_of_an_all_missing_batch_are_zero_and_backpropagate(
        name: str, key: str, weight: torch.Tensor, pred: torch.Tensor, target: torch.Tensor
) -> None:
    pred = pred.clone().requires_grad_(True)
    out = LOSSES.get(name).obj(pred, target, **{key: weight})
    assert float(out.detach()) == 0.0
    out.backward()
    assert torch.equal(pred.grad, torch.zeros_like(pred))


# ----------------------------------------------------------------------------- the preset field


BASE: dict[str, Any] = {
    "data": {"dataset": "digits", "val_fraction": 0.25},
    "trunk": [{"type": "linear", "out_features": 8}, {"type": "relu"}],
    "tasks": [{"name": "digit"}, {"name": "parity"}],
    "training": {"epochs": 1, "batch_size": 64, "device": "cpu", "max_steps_per_epoch": 2},
}


def _config(**task_fields: Any) -> Any:
    d = {**BASE, "tasks": [{"name": "digit", **task_fields.get("digit", {})},
                           {"name": "parity", **task_fields.get("parity", {})}]}
    return from_dict(d)


def test_class_weight_is_written_only_when_set_and_reloads() -> None:
    plain = _config()
    assert all("class_weight" not in t for t in to_dict(plain)["tasks"])
    weighted = _config(parity={"class_weight": "balanced"})
    tasks = to_dict(weighted)["tasks"]
    assert "class_weight" not in tasks[0] and tasks[1]["class_weight"] == "balanced"
    assert loads(dumps(weighted)) == weighted
    assert weighted.tasks[1].class_weight == "balanced" and plain.tasks[1].class_weight == "none"


def test_a_bad_class_weight_is_refused_by_its_path() -> None:
    with pytest.raises(ConfigError, match=r"^tasks\[1\]\.class_weight: unknown class_weight "
                                          r"'inverse'\. Choices: balanced, none"):
        _config(parity={"class_weight": "inverse"})
    with pytest.raises(ConfigError, match=r"^tasks\[0\]\.class_weight: .*regression"):
        _config(digit={"class_weight": "balanced", "type": "regression"})


def test_class_weight_on_a_regression_task_is_refused_at_setup() -> None:
    config = from_dict({"data": {"dataset": "penguins"},
                        "tasks": [{"name": "species"}, {"name": "body_mass",
                                                        "class_weight": "balanced"}],
                        "training": {"device": "cpu"}})
    with pytest.raises(ConfigError, match=r"^tasks\[1\]\.class_weight: .*'body_mass' is "
                                          "regression"):
        prepare(config)


def test_setup_weights_each_loss_by_the_training_rows_only() -> None:
    setup = prepare(_config(digit={"class_weight": "balanced"},
                            parity={"class_weight": "balanced"}))
    train = setup.parts.train
    digit = np.asarray(setup.dataset.targets["digit"])[train]
    parity = np.asarray(setup.dataset.targets["parity"])[train]
    counts = np.bincount(digit, minlength=10)
    w = len(digit) / (10 * counts)  # every digit occurs in training
    pos_weight = (parity == 0).sum() / (parity == 1).sum()
    assert len(setup.val) > 0  # the validation rows exist, and are not counted
    torch.manual_seed(0)
    logits, labels = torch.randn(6, 10), torch.tensor([0, 3, 3, 9, -1, 5])
    expected = F.cross_entropy(logits[[0, 1, 2, 3, 5]], labels[[0, 1, 2, 3, 5]],
                               weight=torch.tensor(w, dtype=torch.float32))
    assert float(setup.loss_fns[0](logits, labels)) == pytest.approx(float(expected), rel=1e-5)
    z, y = torch.randn(5), torch.tensor([1, 0, 0, 1, 1])
    expected = F.binary_cross_entropy_with_logits(
        z, y.float(), pos_weight=torch.tensor(float(pos_weight)))
    assert float(setup.loss_fns[1](z, y)) == pytest.approx(float(expected), rel=1e-5)
    # without the field the loss is the plain one
    plain = prepare(_config())
    assert float(plain.loss_fns[1](z, y)) == pytest.approx(
        float(F.binary_cross_entropy_with_logits(z, y.float())), rel=1e-6)


# ----------------------------------------------------------------------------- rare labels


def _rare_data(path: Path, seed: int = 0, n: int = 3000) -> None:
    """A binary label with ~2.5% positives whose probability stays below 1/2 almost everywhere
    (so an unweighted model's best guess is always 0), and a 3-class label with a ~3% class."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2)).astype(np.float32)
    rare = (rng.random(n) < 1 / (1 + np.exp(-(1.5 * x[:, 0] - 4.5)))).astype(np.int64)
    logits = np.stack([np.zeros(n), 0.3 * x[:, 1], 1.2 * x[:, 0] - 3.5], axis=1)
    prob = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    cls = (rng.random(n)[:, None] > np.cumsum(prob, axis=1)).sum(axis=1).astype(np.int64)
    np.savez(path, x=x, rare=rare, cls=cls)


def _rare_recalls(path: Path, class_weight: str) -> tuple[float, float, float]:
    config = from_dict({
        "data": {"dataset": "npz", "params": {"path": str(path),
                                               "tasks": ["rare:binary", "cls:classification"]},
                 "val_fraction": 0.3},
        "trunk": [{"type": "linear", "out_features": 16}, {"type": "relu"}],
        "tasks": [{"name": "rare", "class_weight": class_weight},
                  {"name": "cls", "class_weight": class_weight}],
        "optimizer": {"name": "adam", "lr": 0.01},
        "training": {"epochs": 5, "batch_size": 128, "seed": 0, "device": "cpu",
                     "log_every": 50}})
    loop = _Loop(config, RunControl())
    events = list(loop.events())
    setup = loop.setup
    assert setup is not None
    with torch.no_grad():
        out = setup.model(setup.val.x)
    y_rare, y_cls = setup.val.y["rare"], setup.val.y["cls"]
    guess_rare = (out["rare"].reshape(-1) > 0).long()
    guess_cls = out["cls"].argmax(dim=1)
    recall_rare = float(((guess_rare == 1) & (y_rare == 1)).sum() / (y_rare == 1).sum())
    recall_cls = float(((guess_cls == 2) & (y_cls == 2)).sum() / (y_cls == 2).sum())
    return recall_rare, events[-1].final_metrics["rare"]["f1"], recall_cls


def test_balanced_weights_make_a_rare_label_predicted(tmp_path: Path) -> None:
    path = tmp_path / "rare.npz"
    _rare_data(path)
    recall, f1, recall_cls = _rare_recalls(path, "none")
    assert recall <= 0.1 and f1 <= 0.1 and recall_cls <= 0.1  # the issue: never predicted
    recall, f1, recall_cls = _rare_recalls(path, "balanced")
    assert recall >= 0.4 and f1 >= 0.05 and recall_cls >= 0.4
