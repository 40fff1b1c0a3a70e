"""The scale-imbalance regression toy of GradNorm (Chen, Badrinarayanan, Lee & Rabinovich,
"GradNorm: Gradient Normalization for Adaptive Loss Balancing in Deep Multitask Networks",
ICML 2018, section 4): f_i(x) = sigma_i tanh((B + eps_i) x), B entries N(0, 10^2) shared by all
tasks, eps_i entries N(0, 3.5^2) private to task i. Generated; no data file.

Our choice, documented: the paper's tasks have 100 outputs each, but a head here predicts one value
per regression task, so B and eps_i are 250-vectors and each task's target is a scalar. The paper
does not state the input distribution; we draw x ~ N(0, I / d) so that (B + eps_i) x has standard
deviation about 10.6 whatever d is (tanh mostly saturated, as with the paper's scales). The paper
judges the tasks by the normalised loss L_i / sigma_i^2: each task's sigma is its DataTask.scale.
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


@dataclass(frozen=True)
class GradNormToyParams:
    tasks: int = param(2, "number of regression tasks", low=1, high=50)
    sigmas: list[float] = param([1.0, 100.0], "output scale of each task (one per task; empty: "
                                "spread from 1 to 100)", low=1e-6)
    n_samples: int = param(5000, "samples to draw", low=10, high=200000)
    input_dim: int = param(250, "input features (the paper uses 250)", low=1, high=4096)


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
    n_samples, dim = params.n_samples, params.input_dim
    rng = np.random.default_rng(seed)
    shared = rng.normal(0.0, B_STD, size=dim)  # B
    private = rng.normal(0.0, EPS_STD, size=(len(sigmas), dim))  # eps_i, one row per task
    inputs = rng.normal(0.0, 1.0 / np.sqrt(dim), size=(n_samples, dim))
    outputs = sigmas[:, None] * np.tanh((shared + private) @ inputs.T)  # (T, n)
    names = [f"t{i + 1}" for i in range(len(sigmas))]
    tasks = tuple(
        make_task(name, "regression", description=f"sigma = {sigma:g}: compare its loss as "
                  f"L / {sigma * sigma:g}", scale=float(sigma))
        for name, sigma in zip(names, sigmas)
    )
    spec = DatasetSpec("gradnorm_toy", (dim,), tasks, n_samples,
                       f"GradNorm toy (Chen et al. 2018): {len(sigmas)} tasks f_i = sigma_i "
                       f"tanh((B + eps_i) x), sigmas {', '.join(f'{s:g}' for s in sigmas)}",
                       "generated")
    targets = {name: outputs[i].astype(np.float32) for i, name in enumerate(names)}
    # The unequal target scales are the point of the toy: never standardised. Inputs are N(0, I/d).
    return Dataset(spec, inputs.astype(np.float32), targets,
                   prepared=frozenset({"inputs", "targets"}))
