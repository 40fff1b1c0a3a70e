"""Two regression tasks with a controllable correlation, from MMoE (Ma, Zhao, Yi, Chen, Hong & Chi,
"Modeling Task Relationships in Multi-task Learning with Multi-gate Mixture-of-Experts", KDD 2018,
section 3.2). Generated; no data file.

u1, u2 are orthonormal vectors in R^d; w1 = c u1 and w2 = c (p u1 + sqrt(1 - p^2) u2), so the cosine
of the two weight vectors is the relatedness p. With x ~ N(0, I_d):
    y_k = w_k . x + sum_{i=1..m} sin(alpha_i w_k . x + beta_i) + noise,  noise ~ N(0, 0.01^2),
with alpha_i = i and beta_i = (i - 1)^2 as the project's METHODS.md fixes them (the paper draws
them at random). The labels' Pearson correlation grows with p but is not exactly p (the sines).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..registry import DATASETS, Param
from ._common import make_task, params_for
from .base import Dataset, DatasetSpec

NOISE_STD = 0.01


def weight_vectors(d: int, p: float, c: float, rng: np.random.Generator) -> np.ndarray:
    """w1, w2 as rows of a (2, d) array, with cosine exactly p and norm c."""
    q, _ = np.linalg.qr(rng.normal(size=(d, 2)))  # two orthonormal columns
    u1, u2 = q[:, 0], q[:, 1]
    return np.stack([c * u1, c * (p * u1 + math.sqrt(max(0.0, 1.0 - p * p)) * u2)])


@DATASETS.register(
    "mmoe_synthetic",
    "MMoE synthetic data: two regression tasks whose relatedness is set by a correlation knob",
    params=(
        Param("correlation", "float", 0.5, "task relatedness p: cosine of the two tasks' weight "
              "vectors (1 = same task, 0 = unrelated, -1 = opposite)", low=-1.0, high=1.0),
        Param("n_samples", "int", 10000, "samples to draw", low=10, high=500000),
        Param("input_dim", "int", 100, "input features d", low=2, high=4096),
        Param("n_sines", "int", 10, "sine terms m in each label", low=0, high=100),
        Param("scale", "float", 1.0, "norm c of the weight vectors", low=1e-6),
    ),
    paper="Ma et al., KDD 2018",
)
def load_mmoe_synthetic(params: dict[str, Any], seed: int) -> Dataset:
    p = params_for("mmoe_synthetic", params)
    n, d, m = p["n_samples"], p["input_dim"], p["n_sines"]
    rng = np.random.default_rng(seed)
    w = weight_vectors(d, p["correlation"], p["scale"], rng)
    x = rng.normal(size=(n, d))
    z = w @ x.T  # (2, n)
    alpha = np.arange(1, m + 1, dtype=np.float64)
    beta = (alpha - 1.0) ** 2
    sines = np.sin(alpha[None, :, None] * z[:, None, :] + beta[None, :, None]).sum(axis=1)
    y = z + sines + rng.normal(0.0, NOISE_STD, size=z.shape)
    tasks = tuple(make_task(f"y{k + 1}", "regression", description=f"task {k + 1} of 2")
                  for k in range(2))
    spec = DatasetSpec("mmoe_synthetic", (d,), tasks, n,
                       f"MMoE synthetic tasks (Ma et al. 2018) with relatedness p = "
                       f"{p['correlation']:g}", "generated")
    return Dataset(spec, x.astype(np.float32), {"y1": y[0].astype(np.float32),
                                                "y2": y[1].astype(np.float32)})
