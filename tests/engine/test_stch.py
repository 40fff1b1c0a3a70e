"""STCH's warm-up through the training loop, checked against the run's own logged losses.

The authors' code (github.com/Xi-L/STCH, STCH_MTL/LibMTL/weighting/STCH.py): epochs before W train
on sum_i log L_i; epoch W too, while recording each step's batch losses; from epoch W + 1 on,
total = T mu logsumexp_i(log(L_i / z_i) / mu) with z the mean of epoch W's batch losses.
"""

from __future__ import annotations

import math

import numpy as np

import mtl_engine
from mtl_engine.events import RunFinished, StepsLogged

from .conftest import tiny


def test_stch_run_by_epoch_matches_the_authors_schedule() -> None:
    per_epoch, warm, mu = 5, 1, 0.5
    config = tiny(strategy={"name": "stch", "params": {"mu": mu, "warmup_epochs": warm}},
                  training={"epochs": 3, "max_steps_per_epoch": per_epoch, "log_every": 5})
    events = list(mtl_engine.run(config))
    assert isinstance(events[-1], RunFinished) and events[-1].status == "completed", events[-1]
    names = ("digit", "parity", "ge5")
    logs = [e for e in events if isinstance(e, StepsLogged)]
    losses = np.array([row for e in logs for row in zip(*(e.losses[n] for n in names))])
    weights = np.array([row for e in logs for row in zip(*(e.weights[n] for n in names))])
    assert losses.shape == (3 * per_epoch, 3)
    # epochs 0 and 1 (warm-up, then recording): d sum log L / d L_i = 1 / L_i
    np.testing.assert_allclose(weights[:2 * per_epoch], 1 / losses[:2 * per_epoch], rtol=1e-5)
    # epoch 2: z = the recording epoch's (epoch 1's) mean batch losses, not the warm-up's
    z = losses[per_epoch:2 * per_epoch].mean(axis=0)
    r = np.log(losses[2 * per_epoch:] / z) / mu
    soft = np.exp(r - r.max(axis=1, keepdims=True))
    soft /= soft.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(weights[2 * per_epoch:], 3 * soft / losses[2 * per_epoch:],
                               rtol=1e-4)
    totals = np.array([t for e in logs for t in e.total])
    np.testing.assert_allclose(totals[:2 * per_epoch], np.log(losses[:2 * per_epoch]).sum(1),
                               rtol=1e-5)
    lse = r.max(axis=1) + np.log(np.exp(r - r.max(axis=1, keepdims=True)).sum(axis=1))
    np.testing.assert_allclose(totals[2 * per_epoch:], 3 * mu * lse, rtol=1e-4, atol=1e-6)
    assert not math.isclose(float(z[0]), float(losses[:per_epoch, 0].mean()), rel_tol=1e-3)
