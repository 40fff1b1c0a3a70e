"""MGDA-UB end to end (Sener & Koltun, NeurIPS 2018, section 3.3): the mgda strategy in
grad_mode "representation", trained through the engine's front door (`mtl_engine.run`).

Every step's gradients w.r.t. the shared representation are recorded where the loop takes them,
and the task weights the run logged are checked against the minimum-norm point of the convex hull
of those gradients, found here by an independent exact method: every support S of the simplex is
tried (solve the equality-constrained problem on S, keep the feasible one that satisfies the
optimality conditions), as T = 3 allows.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch

import mtl_engine
from mtl_engine import training
from mtl_engine.events import EpochEnded, RunFailed, RunFinished, StepsLogged

from .conftest import tiny


def min_norm_by_supports(k: np.ndarray) -> np.ndarray:
    """argmin_{s in simplex} s^T K s by enumerating supports (Karush-Kuhn-Tucker on each)."""
    t = k.shape[0]
    best, best_val = None, np.inf
    for size in range(1, t + 1):
        for support in itertools.combinations(range(t), size):
            idx = list(support)
            a = np.zeros((size + 1, size + 1))
            a[:size, :size] = 2 * k[np.ix_(idx, idx)]
            a[:size, size] = 1.0
            a[size, :size] = 1.0
            rhs = np.zeros(size + 1)
            rhs[size] = 1.0
            sol = np.linalg.lstsq(a, rhs, rcond=None)[0]
            s = np.zeros(t)
            s[idx] = sol[:size]
            if s.min() < -1e-12:
                continue
            val = float(s @ k @ s)
            grad = 2 * k @ s  # optimal: grad_i >= grad on the support (= -multiplier) off it
            if np.all(grad >= float(grad[idx].mean()) - 1e-9 * max(1.0, abs(val))) \
                    and val < best_val:
                best, best_val = s, val
    assert best is not None
    return best


def test_mgda_ub_applies_the_min_norm_weights_of_the_representation_gradients(monkeypatch
                                                                               ) -> None:
    recorded: list[torch.Tensor] = []
    original = training.task_gradients

    def recording(losses: torch.Tensor, wrt):
        g = original(losses, wrt)
        wrt = list(wrt)
        if len(wrt) == 1 and not wrt[0].is_leaf:  # the representation, not the parameters
            recorded.append(g.detach().double().clone())
        return g

    monkeypatch.setattr(training, "task_gradients", recording)
    config = tiny(strategy={"name": "mgda", "grad_mode": "representation"},
                  training={"epochs": 3, "max_steps_per_epoch": 8, "log_every": 4})
    events = list(mtl_engine.run(config))
    assert not [e for e in events if isinstance(e, RunFailed)], events[-1]
    assert isinstance(events[-1], RunFinished) and events[-1].status == "completed"

    names = ("digit", "parity", "ge5")
    logged = [np.array(row) for e in events if isinstance(e, StepsLogged)
              for row in zip(*(e.weights[n] for n in names))]
    assert len(logged) == len(recorded) == 24  # one set of representation gradients per step
    batch, width = 64, 24  # tiny(): batch_size 64, trunk of 24 units
    assert recorded[0].shape == (3, batch * width)
    worst = 0.0
    interior = 0
    for g, applied in zip(recorded, logged):
        k = (g @ g.T).numpy()
        expected = min_norm_by_supports(k)
        worst = max(worst, float(np.abs(applied - expected).max()))
        assert abs(applied.sum() - 1.0) < 1e-5  # "none" normalisation: weights on the simplex
        interior += int((expected > 1e-6).sum() >= 2)
        # the no-conflict property of the min-norm point, on the recorded gradients
        d = torch.from_numpy(applied) @ g
        assert float((g @ d).min()) >= -1e-4 * float((g * g).sum(1).max())
    assert worst < 1e-4, worst
    assert interior > 0  # some steps really balance tasks (not only a single vertex)

    epochs = [e for e in events if isinstance(e, EpochEnded)]
    first, last = epochs[0].train_loss, epochs[-1].train_loss
    assert sum(last.values()) < sum(first.values())  # it trains
