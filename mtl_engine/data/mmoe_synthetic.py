"""Two regression tasks with a controllable correlation, from MMoE (Ma, Zhao, Yi, Chen, Hong & Chi,
"Modeling Task Relationships in Multi-task Learning with Multi-gate Mixture-of-Experts", KDD 2018,
section 3.2). Generated; no data file.

u1, u2 are orthonormal vectors in R^d; w1 = c u1 and w2 = c (p u1 + sqrt(1 - p^2) u2), so the cosine
of the two weight vectors is the relatedness p. With x ~ N(0, I_d):
    y_k = w_k . x + sum_{i=1..m} sin(alpha_i w_k . x + beta_i) + noise,  noise ~ N(0, 0.01^2).

The paper calls alpha_i, beta_i "given parameters that control the shape of the sinusoidal
functions" and gives no values; both tasks share them. `sine_constants` picks them:
- "normal" (default): alpha_i, beta_i ~ N(0, 1) i.i.d., drawn from `constants_seed` alone, so every
  run seed and every correlation sees the same label shape (only u1, u2, x and the noise follow the
  run's seed). Frequencies of order 1 give labels that a 16-unit ReLU expert can fit.
- "integer": alpha_i = i, beta_i = (i - 1)^2, what the project first used. Frequencies up to m make
  the labels mostly high-frequency wiggles no small model fits in minutes.
The labels' Pearson correlation grows with p but is not exactly p (the sines).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ..registry import DATASETS, param, parse_params
from ._common import make_task
from .base import Dataset, DatasetSpec

NOISE_STD = 0.01


def weight_vectors(d: int, p: float, c: float, rng: np.random.Generator) -> np.ndarray:
    """w1, w2 as rows of a (2, d) array, with cosine exactly p and norm c."""
    q, _ = np.linalg.qr(rng.normal(size=(d, 2)))  # two orthonormal columns
    u1, u2 = q[:, 0], q[:, 1]
    return np.stack([c * u1, c * (p * u1 + math.sqrt(max(0.0, 1.0 - p * p)) * u2)])


def sine_constants(kind: str, m: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(alpha, beta), each of length m, as the module docstring defines `kind`."""
    if kind == "integer":
        alpha = np.arange(1, m + 1, dtype=np.float64)
        return alpha, (alpha - 1.0) ** 2
    # A generator of its own: the shape must not change with the run's seed or with m's neighbours
    # in the run's random stream.
    drawn = np.random.default_rng(seed).normal(size=(2, m))
    return drawn[0], drawn[1]


def labels(proj: np.ndarray, alpha: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Noise-free labels: proj + sum_i sin(alpha_i proj + beta_i), elementwise over proj."""
    waves = np.sin(alpha[:, None] * proj.reshape(1, -1) + beta[:, None]).sum(axis=0)
    return proj + waves.reshape(proj.shape)


@dataclass(frozen=True)
class MMoEParams:
    correlation: float = param(0.5, "task relatedness p: cosine of the two tasks' weight vectors "
                               "(1 = same task, 0 = unrelated, -1 = opposite)", low=-1.0, high=1.0)
    n_samples: int = param(10000, "samples to draw", low=10, high=500000)
    input_dim: int = param(100, "input features d", low=2, high=4096)
    n_sines: int = param(10, "sine terms m in each label", low=0, high=100)
    scale: float = param(1.0, "norm c of the weight vectors", low=1e-6)
    sine_constants: Literal["normal", "integer"] = param(
        "normal", "alpha_i, beta_i of the sine terms (the paper leaves them open): normal = drawn "
                  "once from N(0, 1) with constants_seed; integer = alpha_i = i, beta_i = (i-1)^2")
    constants_seed: int = param(0, "seed of the normal sine constants (the same for every run "
                                   "seed and correlation)", low=0)


@DATASETS.register(
    "mmoe_synthetic",
    "MMoE synthetic data: two regression tasks whose relatedness is set by a correlation knob",
    params=MMoEParams,
    paper="Ma et al., KDD 2018",
    smoke={"n_samples": 300},
)
def load_mmoe_synthetic(given: Mapping[str, Any] | MMoEParams, seed: int) -> Dataset:
    params = parse_params(MMoEParams, given, "data.params")
    n_samples, dim = params.n_samples, params.input_dim
    rng = np.random.default_rng(seed)
    weights = weight_vectors(dim, params.correlation, params.scale, rng)
    inputs = rng.normal(size=(n_samples, dim))
    alpha, beta = sine_constants(params.sine_constants, params.n_sines, params.constants_seed)
    clean = labels(weights @ inputs.T, alpha, beta)  # (2, n); w_k . x inside
    noisy = clean + rng.normal(0.0, NOISE_STD, size=clean.shape)
    tasks = tuple(make_task(f"y{k + 1}", "regression", description=f"task {k + 1} of 2")
                  for k in range(2))
    spec = DatasetSpec("mmoe_synthetic", (dim,), tasks, n_samples,
                       f"MMoE synthetic tasks (Ma et al. 2018) with relatedness p = "
                       f"{params.correlation:g}", "generated")
    # Inputs are N(0, I) and the labels are the paper's: the model's preprocessing leaves both.
    return Dataset(spec, inputs.astype(np.float32), {"y1": noisy[0].astype(np.float32),
                                                     "y2": noisy[1].astype(np.float32)},
                   prepared=frozenset({"inputs", "targets"}))
