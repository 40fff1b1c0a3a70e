"""The MMoE synthetic data (Ma et al., KDD 2018, section 3.2) against the paper's recipe, written
out again here: w1 = c u1, w2 = c (p u1 + sqrt(1 - p^2) u2) with u1 ⟂ u2 unit vectors,
x ~ N(0, I), y_k = w_k.x + sum_i sin(alpha_i w_k.x + beta_i) + N(0, 0.01^2), the constants
shared by the two tasks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mtl_engine.data.mmoe_synthetic import (
    NOISE_STD,
    load_mmoe_synthetic,
    sine_constants,
    weight_vectors,
)
from mtl_engine.errors import ConfigError


def load(seed: int = 0, **params):
    return load_mmoe_synthetic({"n_samples": 2000, **params}, seed)


def paper_labels(w: np.ndarray, x: np.ndarray, alpha: list[float], beta: list[float]) -> np.ndarray:
    """y_k for one weight vector, by the paper's formula, one sample and one sine at a time."""
    out = np.empty(len(x))
    for n, row in enumerate(x):
        z = float(w @ row)
        out[n] = z + sum(math.sin(a * z + b) for a, b in zip(alpha, beta))
    return out


def label_corr(ds) -> float:
    return float(np.corrcoef(ds.targets["y1"], ds.targets["y2"])[0, 1])


@pytest.mark.parametrize("p", [-1.0, -0.5, 0.0, 0.1, 0.5, 0.99, 1.0])
@pytest.mark.parametrize("c", [1.0, 3.0])
def test_weight_vectors_have_norm_c_and_cosine_exactly_p(p: float, c: float) -> None:
    w = weight_vectors(100, p, c, np.random.default_rng(7))
    assert np.linalg.norm(w, axis=1) == pytest.approx([c, c], rel=1e-12)
    cosine = w[0] @ w[1] / (np.linalg.norm(w[0]) * np.linalg.norm(w[1]))
    assert cosine == pytest.approx(p, abs=1e-12)
    # u2, the part of w2 beyond w1, is orthogonal to u1 and of unit length
    u1 = w[0] / c
    u2 = w[1] / c - p * u1
    assert u1 @ u2 == pytest.approx(0.0, abs=1e-12)
    assert np.linalg.norm(u2) == pytest.approx(math.sqrt(1 - p * p), abs=1e-12)


def test_integer_constants_are_the_documented_ones() -> None:
    alpha, beta = sine_constants("integer", 4, seed=123)  # the seed plays no part
    assert alpha.tolist() == [1.0, 2.0, 3.0, 4.0]
    assert beta.tolist() == [0.0, 1.0, 4.0, 9.0]


def test_normal_constants_come_from_their_own_seed_alone() -> None:
    alpha, beta = sine_constants("normal", 10, seed=5)
    drawn = np.random.default_rng(5).normal(size=(2, 10))
    assert alpha.tolist() == drawn[0].tolist() and beta.tolist() == drawn[1].tolist()
    assert sine_constants("normal", 10, seed=6)[0].tolist() != alpha.tolist()
    assert sine_constants("normal", 0, seed=5)[0].size == 0


@pytest.mark.parametrize("kind", ["normal", "integer"])
@pytest.mark.parametrize(("p", "c", "m", "seed"), [(0.1, 1.0, 10, 0), (-0.7, 2.0, 3, 4),
                                                   (1.0, 1.0, 0, 1)])
def test_labels_follow_the_paper_formula(kind: str, p: float, c: float, m: int, seed: int) -> None:
    ds = load(seed, correlation=p, scale=c, n_sines=m, input_dim=20, n_samples=300,
              sine_constants=kind, constants_seed=3)
    # the loader draws u1, u2 and then x from the run's seed, in that order
    rng = np.random.default_rng(seed)
    w = weight_vectors(20, p, c, rng)
    x = rng.normal(size=(300, 20))
    assert ds.x == pytest.approx(x.astype(np.float32))
    if kind == "integer":
        alpha = [float(i) for i in range(1, m + 1)]
        beta = [float((i - 1) ** 2) for i in range(1, m + 1)]
    else:
        drawn = np.random.default_rng(3).normal(size=(2, m))
        alpha, beta = drawn[0].tolist(), drawn[1].tolist()
    for k, name in enumerate(("y1", "y2")):
        residual = ds.targets[name] - paper_labels(w[k], x, alpha, beta)
        assert np.abs(residual).max() < 6 * NOISE_STD  # only the noise is left
        assert residual.std() == pytest.approx(NOISE_STD, rel=0.15)


def test_both_tasks_share_the_constants_and_every_run_seed_sees_the_same_shape() -> None:
    # at p = 1 the two labels are the same function of the same projection: they differ by noise
    ds = load(0, correlation=1.0)
    assert np.abs(ds.targets["y1"] - ds.targets["y2"]).max() < 10 * NOISE_STD
    # the label as a function of w.x is the same for two run seeds (different u1, x)
    shapes = []
    for seed in (0, 1):
        rng = np.random.default_rng(seed)
        w = weight_vectors(100, 0.3, 1.0, rng)
        x = rng.normal(size=(2000, 100))
        z = x @ w[0]
        y = load(seed, correlation=0.3).targets["y1"]
        order = np.argsort(z)
        shapes.append(np.interp(np.linspace(-1.5, 1.5, 31), z[order], y[order]))
    assert np.abs(shapes[0] - shapes[1]).max() < 0.05


@pytest.mark.parametrize("kind", ["normal", "integer"])
def test_label_correlation_grows_with_p(kind: str) -> None:
    ps = [-1.0, -0.5, 0.0, 0.5, 0.9, 1.0]
    corr = [label_corr(load(0, correlation=p, sine_constants=kind)) for p in ps]
    assert corr == sorted(corr), corr
    assert corr[-1] > 0.999  # the same task twice, up to the 0.01 noise
    assert abs(corr[2]) < 0.1


def test_with_normal_constants_the_label_correlation_is_close_to_p() -> None:
    # frequencies of order 1 leave the labels nearly monotone in w.x: Pearson correlation ~ p
    for p in (-0.5, 0.1, 0.5, 0.9):
        assert label_corr(load(0, correlation=p, n_samples=20000)) == pytest.approx(p, abs=0.05)


def test_seeds_are_reproducible() -> None:
    a, b, other = load(3, correlation=0.4), load(3, correlation=0.4), load(4, correlation=0.4)
    assert np.array_equal(a.x, b.x)
    assert all(np.array_equal(a.targets[t], b.targets[t]) for t in ("y1", "y2"))
    assert not np.array_equal(a.x, other.x)
    assert a.x.dtype == np.float32 and a.targets["y1"].dtype == np.float32
    assert a.spec.input_shape == (100,) and [t.name for t in a.spec.tasks] == ["y1", "y2"]


def test_an_unknown_constants_kind_is_refused_naming_the_field() -> None:
    with pytest.raises(ConfigError, match=r"data\.params\.sine_constants"):
        load(0, sine_constants="uniform")
