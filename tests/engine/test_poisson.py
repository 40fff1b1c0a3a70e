"""The poisson loss for count targets (log link): against torch's poisson_nll_loss and by hand,
its deviance metric, and a run whose metrics score the predicted mean counts exp(output)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mtl_engine.config import from_dict
from mtl_engine.control import RunControl
from mtl_engine.errors import ConfigError
from mtl_engine.losses import prediction
from mtl_engine.metric_choice import metrics_for
from mtl_engine.registry import LOSSES, METRICS
from mtl_engine.session_setup import prepare
from mtl_engine.training import _Loop


def test_poisson_loss_is_torchs_nll_plus_log_factorial_and_skips_nan() -> None:
    out = torch.tensor([0.0, 1.0, -0.5, 2.0], requires_grad=True)
    y = torch.tensor([0.0, 3.0, 1.0, math.nan])
    got = LOSSES.get("poisson").obj(out, y)
    value = float(got.detach())
    present = out[:3], y[:3]
    torch_nll = F.poisson_nll_loss(*present, log_input=True, full=False)
    log_fact = torch.lgamma(y[:3] + 1).mean()  # ln 0!, ln 3!, ln 1!
    assert value == pytest.approx(float((torch_nll + log_fact).detach()), rel=1e-6)
    # by hand: (e^0 - 0) + (e^1 - 3 + ln 6) + (e^-0.5 + 0.5 + 0), over 3
    hand = (1.0 + (math.e - 3 + math.log(6)) + (math.exp(-0.5) + 0.5)) / 3
    assert value == pytest.approx(hand, rel=1e-6)
    got.backward()  # d/d out = (e^out - y) / 3; the NaN row gets nothing
    assert out.grad.tolist() == pytest.approx([(1 - 0) / 3, (math.e - 3) / 3,
                                               (math.exp(-0.5) - 1) / 3, 0.0], rel=1e-6)


def test_poisson_facts_the_link_and_its_metrics() -> None:
    entry = LOSSES.get("poisson")
    assert entry.meta["task_types"] == ("regression",) and entry.meta["default_for"] == ()
    assert entry.meta["link"] == "log" and entry.meta["scalable_target"] is False
    x = torch.tensor([0.0, math.log(4.0)])
    assert prediction("poisson", x).tolist() == pytest.approx([1.0, 4.0])
    assert torch.equal(prediction("mse", x), x) and torch.equal(prediction("bce", x), x)
    assert metrics_for("regression", "poisson") == ["mse", "mae", "r2", "poisson_deviance",
                                                    "rmse"]
    assert metrics_for("regression", "mse") == ["mse", "mae", "r2", "rmse"]


def test_poisson_deviance_by_hand() -> None:
    # y = 0, mu = 1: 2 (0 - 0 + 1) = 2; y = 2, mu = 2: 0; y = 1, mu = e: 2 (ln(1/e) - 1 + e)
    dev = METRICS.get("poisson_deviance")
    got = dev.obj(torch.tensor([1.0, 2.0, math.e, 5.0]), torch.tensor([0.0, 2.0, 1.0, math.nan]))
    assert got == pytest.approx((2 + 0 + 2 * (math.e - 2)) / 3, rel=1e-6)
    assert dev.meta["higher_is_better"] is False
    assert math.isnan(dev.obj(torch.tensor([0.0, 1.0]), torch.tensor([1.0, 1.0])))  # mu = 0


def test_poisson_refuses_negative_targets_by_the_task_path(tmp_path: Path) -> None:
    x = np.arange(40, dtype=np.float32).reshape(20, 2)
    n = np.array([2.0, -1.5] + [1.0] * 18)
    np.savez(tmp_path / "bad.npz", x=x, n=n)
    config = from_dict({"data": {"dataset": "npz", "params": {"path": str(tmp_path / "bad.npz"),
                                                               "tasks": ["n:regression"]},
                                 "val_fraction": 0.0},
                        "tasks": [{"name": "n", "loss": "poisson"}],
                        "training": {"device": "cpu"}})
    with pytest.raises(ConfigError, match=r"^tasks\[0\]\.loss: 'poisson' needs targets >= 0, "
                                          r"but task 'n' has -1\.5 among its training rows"):
        prepare(config)


def test_a_count_task_trains_and_its_metrics_score_exp_of_the_output(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1200, 3)).astype(np.float32)
    counts = rng.poisson(np.exp(0.4 + 0.8 * x[:, 0])).astype(np.float64)
    np.savez(tmp_path / "counts.npz", x=x, n=counts)
    config = from_dict({
        "data": {"dataset": "npz", "params": {"path": str(tmp_path / "counts.npz"),
                                               "tasks": ["n:regression"]},
                 "val_fraction": 0.25},  # a poisson target is never standardised
        "trunk": [{"type": "linear", "out_features": 16}, {"type": "relu"}],
        "tasks": [{"name": "n", "loss": "poisson", "metric": "mae"}],
        "optimizer": {"name": "adam", "lr": 0.01},
        "training": {"epochs": 6, "batch_size": 64, "seed": 0, "device": "cpu",
                     "log_every": 50}})
    loop = _Loop(config, RunControl())
    events = list(loop.events())
    final = events[-1].final_metrics["n"]
    setup = loop.setup
    assert setup is not None
    with torch.no_grad():
        mu = torch.exp(setup.model(setup.val.x)["n"].reshape(-1)).double()
    y = setup.val.y["n"].double()
    assert final["mae"] == pytest.approx(float((mu - y).abs().mean()), rel=1e-5)
    per = torch.special.xlogy(y, y / mu) - y + mu
    assert final["poisson_deviance"] == pytest.approx(float(2 * per.mean()), rel=1e-4)
    # and it learned the rate: better than predicting the training mean for every row
    constant = float(setup.train.y["n"].double().mean())
    assert final["mae"] < float((y - constant).abs().mean())
