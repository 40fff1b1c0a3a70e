"""The scale-imbalance regression toy of GradNorm (Chen, Badrinarayanan, Lee & Rabinovich,
"GradNorm: Gradient Normalization for Adaptive Loss Balancing in Deep Multitask Networks",
ICML 2018, section 4): f_i(x) = sigma_i tanh((B + eps_i) x), B entries N(0, 10^2) shared by all
tasks, eps_i entries N(0, 3.5^2) private to task i. Generated; no data file.

As in the paper, each task has `outputs` = 100 values per row by default: B and eps_i are
(outputs x input_dim) matrices and each task's target has shape (n, outputs), trained by the mean
squared error over its values (a k-value regression task, DataTask.outputs). `outputs: 1` gives
the scalar version the project first shipped (B and eps_i then rows of 250; the same draws as
before for a given seed): with one output per task GradNorm does not beat equal weighting, with
100 it does (docs/fidelity.md, GradNorm toy). The paper does not state the input distribution; we
draw x ~ N(0, I / d) so that (B + eps_i) x has standard deviation about 10.6 whatever d is (tanh
mostly saturated, as with the paper's scales). The paper judges the tasks by the normalised loss
L_i / sigma_i^2: each task's sigma is its DataTask.scale.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..registry import DATASETS, param, parse_params
from ._common import make_task
from .base import Dataset, DatasetSpec

B_STD = 10.0
EPS_STD = 3.5


def task_sigmas(n_tasks: int, sigmas: list[float]) -> np.ndarray:
    """One sigma per task; an empty list spreads them geometrically from 1 to 100."""
    if not sigmas:
        return np.geomspace(1.0, 100.0, n_tasks) if n_tasks > 1 else np.ones(1)
    if len(sigmas) != n_tasks:
        raise ConfigError("data.params.sigmas", f"has {len(sigmas)} values but tasks is {n_tasks}; "
                                                "give one sigma per task (or none to spread them "
                                                "from 1 to 100)")
    return np.asarray(sigmas, dtype=np.float64)


def toy_arrays(sigmas: np.ndarray, n_samples: int, dim: int, k: int, seed: int
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(targets, B, eps, x) of the toy in float64: targets (T, n) for k = 1 and (T, n, k)
    otherwise; B (k, dim), eps (T, k, dim), x (n, dim). Drawn in the order B, eps, x, so k = 1
    draws exactly the numbers the one-output generator always drew."""
    rng = np.random.default_rng(seed)
    shared = rng.normal(0.0, B_STD, size=(k, dim))  # B
    private = rng.normal(0.0, EPS_STD, size=(len(sigmas), k, dim))  # eps_i
    inputs = rng.normal(0.0, 1.0 / np.sqrt(dim), size=(n_samples, dim))
    weights = shared[None] + private  # B + eps_i, (T, k, dim)
    if k == 1:  # the one-output arithmetic as it always was: (T, dim) @ (dim, n)
        return sigmas[:, None] * np.tanh(weights[:, 0] @ inputs.T), shared, private, inputs
    values = np.tanh(np.einsum("tkd,nd->tnk", weights, inputs))  # f_i(x) per row, (T, n, k)
    return sigmas[:, None, None] * values, shared, private, inputs


@dataclass(frozen=True)
class GradNormToyParams:
    tasks: int = param(2, "number of regression tasks", low=1, high=50)
    sigmas: list[float] = param([1.0, 100.0], "output scale of each task (one per task; empty: "
                                "spread from 1 to 100)", low=1e-6)
    n_samples: int = param(5000, "samples to draw", low=10, high=200000)
    input_dim: int = param(250, "input features (the paper uses 250)", low=1, high=4096)
    outputs: int = param(100, "values per task and row (the paper uses 100; 1: a scalar target)",
                         low=1, high=1000)


@DATASETS.register(
    "gradnorm_toy",
    "GradNorm toy: regression tasks sharing structure but with very different output scales",
    params=GradNormToyParams,
    paper="Chen et al., ICML 2018",
    smoke={"n_samples": 200},
)
def load_gradnorm_toy(given: Mapping[str, Any] | GradNormToyParams, seed: int) -> Dataset:
    params = parse_params(GradNormToyParams, given, "data.params")
    sigmas = task_sigmas(params.tasks, params.sigmas)
    n_samples, dim, k = params.n_samples, params.input_dim, params.outputs
    targets_of, shared, private, inputs = toy_arrays(sigmas, n_samples, dim, k, seed)
    names = [f"t{i + 1}" for i in range(len(sigmas))]
    tasks = tuple(
        make_task(name, "regression", description=f"sigma = {sigma:g}: compare its loss as "
                  f"L / {sigma * sigma:g}" + (f" ({k} values per row)" if k > 1 else ""),
                  scale=float(sigma), outputs=k)
        for name, sigma in zip(names, sigmas)
    )
    spec = DatasetSpec("gradnorm_toy", (dim,), tasks, n_samples,
                       f"GradNorm toy (Chen et al. 2018): {len(sigmas)} tasks f_i = sigma_i "
                       f"tanh((B + eps_i) x) of {k} output{'s' if k > 1 else ''} each, sigmas "
                       f"{', '.join(f'{s:g}' for s in sigmas)}", "generated")
    targets = {name: targets_of[i].astype(np.float32) for i, name in enumerate(names)}
    # The unequal target scales are the point of the toy: never standardised. Inputs are N(0, I/d).
    return Dataset(spec, inputs.astype(np.float32), targets,
                   prepared=frozenset({"inputs", "targets"}))
