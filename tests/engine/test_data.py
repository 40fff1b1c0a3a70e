"""Built-in datasets: shapes, task declarations, determinism, value ranges, and known facts."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from mtl_engine.data import mnist
from mtl_engine.data.base import Dataset
from mtl_engine.data.mmoe_synthetic import weight_vectors
from mtl_engine.errors import ConfigError, UnknownNameError
from mtl_engine.registry import DATASETS, LOSSES, METRICS, validate_params

# Every dataset that loads without a user's file, at the small size it declares for tests (its
# `smoke` fact); the importers (csv, npz) declare None and are covered by test_csv.py.
BUILT_IN = [e.name for e in DATASETS if e.meta["smoke"] is not None]
IMPORTERS = [e.name for e in DATASETS if e.meta["smoke"] is None]


def load(name: str, seed: int = 0, **params: Any) -> Dataset:
    return DATASETS.get(name).obj({**DATASETS.get(name).meta["smoke"], **params}, seed)


def test_every_dataset_loads_by_itself_or_imports_files() -> None:
    assert {"digits", "penguins", "multi_mnist"} <= set(BUILT_IN)
    assert {"csv", "npz"} <= set(IMPORTERS)
    for name in BUILT_IN:
        entry = DATASETS.get(name)
        assert entry.meta["suffixes"] == () and entry.meta["preview"] is None, name
        validate_params(entry.params, entry.meta["smoke"], f"{name}.smoke")  # a valid setting
    for name in IMPORTERS:
        entry = DATASETS.get(name)
        assert entry.meta["suffixes"] and callable(entry.meta["preview"]), name
        assert all(s == "*" or (s.startswith(".") and s == s.lower())
                   for s in entry.meta["suffixes"]), name


@pytest.mark.parametrize("name", BUILT_IN)
def test_shapes_types_and_task_declarations(name: str) -> None:
    ds = load(name)
    spec = ds.spec
    assert spec.name == name and spec.description and spec.source
    # one float32 `x`, or a dict of named inputs, each in its declared shape and dtype
    xs = ds.x if spec.multi_input else {"x": ds.x}
    assert list(xs) == [i.name for i in spec.input_specs()]
    for inp in spec.input_specs():
        x = xs[inp.name]
        assert x.dtype == np.dtype(inp.dtype) and x.shape == (spec.n_samples, *inp.shape)
        if inp.dtype == "int64":
            assert x.min() >= 0 and x.max() < inp.vocab
        else:  # NaN marks a missing input: the run's preprocessing fills it
            assert not np.isinf(x).any()
    assert list(ds.targets) == [t.name for t in spec.tasks]
    for task in spec.tasks:
        y = ds.targets[task.name]
        # (N,), or (N, k) for a regression task of k values per row (DataTask.outputs)
        width = () if task.outputs == 1 else (task.outputs,)
        assert y.shape == (spec.n_samples, *width) and task.n_outputs == (
            task.n_classes if task.type == "classification" else task.outputs)
        for kind, reg in (("loss", LOSSES), ("metric", METRICS)):
            assert task.type in reg.get(getattr(task, kind)).meta["task_types"]
        if task.type == "regression":
            assert y.dtype == np.float32
        else:
            assert y.dtype == np.int64
            present = y[y >= 0]
            assert set(np.unique(present)) == set(range(task.n_classes))
            assert (y >= -1).all()
            if task.class_names:
                assert len(task.class_names) == task.n_classes


@pytest.mark.parametrize("name", BUILT_IN)
def test_same_seed_same_data(name: str) -> None:
    a, b = load(name, seed=7), load(name, seed=7)
    xa, xb = (d.x if d.spec.multi_input else {"x": d.x} for d in (a, b))
    for key in xa:
        assert np.array_equal(xa[key], xb[key], equal_nan=xa[key].dtype.kind == "f")
    for key in a.targets:
        assert np.array_equal(a.targets[key], b.targets[key], equal_nan=True)


@pytest.mark.parametrize("name", ["multi_mnist", "gradnorm_toy", "mmoe_synthetic"])
def test_generated_data_changes_with_the_seed(name: str) -> None:
    assert not np.array_equal(load(name, seed=1).x, load(name, seed=2).x)


def test_unknown_parameter_is_named() -> None:
    with pytest.raises(UnknownNameError, match=r"data\.params\.n_sample"):
        load("multi_mnist", n_sample=10)


# ----------------------------------------------------------------------------- MultiMNIST


def test_resize_index_is_centre_aligned_nearest_neighbour() -> None:
    # floor((i + 0.5) * 36 / 28): 0.64 -> 0, 1.93 -> 1, 3.21 -> 3, 4.5 -> 4, 5.79 -> 5, 7.07 -> 7.
    assert mnist.resize_index()[:6].tolist() == [0, 1, 3, 4, 5, 7]
    assert mnist.resize_index()[-1] == 35


def test_overlay_of_flat_digits() -> None:
    left = np.full((1, 28, 28), 100, np.uint8)
    right = np.full((1, 28, 28), 200, np.uint8)
    out = mnist.overlay(left, right)[0]
    assert out[0, 0] == 100  # canvas (0, 0): left only
    assert out[3, 3] == 100  # canvas (4, 4): left only, the partner starts at 6
    assert out[13, 13] == 200  # canvas (17, 17): both, the maximum wins
    assert out[27, 27] == 0  # canvas (35, 35): outside both digits
    assert out[0, 27] == 0  # canvas (0, 35): right of the left digit, above the partner


def test_multi_mnist_sample_matches_a_hand_built_canvas() -> None:
    seed, k = 5, 3
    ds = load("multi_mnist", seed=seed, n_samples=300)
    images, labels = mnist.load_digits_5k()
    left, right = mnist.pair_indices(300, len(labels), seed)
    a, b = images[left[k]].astype(int), images[right[k]].astype(int)
    canvas = [[0] * 36 for _ in range(36)]
    for r in range(28):
        for c in range(28):
            canvas[r][c] = a[r, c]
    for r in range(28):
        for c in range(28):
            canvas[r + 6][c + 6] = max(canvas[r + 6][c + 6], b[r, c])
    src = [int((i + 0.5) * 36 / 28) for i in range(28)]
    expected = np.array([[canvas[src[i]][src[j]] for j in range(28)] for i in range(28)]) / 255.0
    assert ds.x[k, 0] == pytest.approx(expected.astype(np.float32))
    assert ds.targets["left"][k] == labels[left[k]] and ds.targets["right"][k] == labels[right[k]]
    assert ds.x.min() >= 0.0 and ds.x.max() <= 1.0


def test_partners_differ_and_all_digits_are_used() -> None:
    left, right = mnist.pair_indices(12000, 5000, seed=0)
    assert (left != right).all()
    assert len(np.unique(left[:5000])) == 5000  # the first pass is a permutation


# ----------------------------------------------------------------------------- digits / MNIST


@pytest.mark.parametrize("name", ["digits", "mnist_multi"])
def test_digit_tasks_derive_from_the_digit(name: str) -> None:
    ds = load(name)
    d = ds.targets["digit"]
    assert np.array_equal(ds.targets["parity"], d % 2)
    assert np.array_equal(ds.targets["ge5"], (d >= 5).astype(np.int64))
    assert ds.x.min() == 0.0 and ds.x.max() == 1.0


def test_digits_counts_and_image_layout() -> None:
    flat, image = load("digits"), load("digits", image=True)
    assert flat.spec.n_samples == 1797 and flat.x.shape == (1797, 64)
    assert image.spec.input_shape == (1, 8, 8)
    assert np.array_equal(image.x.reshape(1797, 64), flat.x)
    assert np.bincount(flat.targets["digit"]).tolist()[:3] == [178, 182, 177]


# ----------------------------------------------------------------------------- GradNorm toy


def test_gradnorm_toy_scales_and_shared_structure() -> None:
    ds = load("gradnorm_toy", seed=3, n_samples=200)
    assert [t.name for t in ds.spec.tasks] == ["t1", "t2"]
    assert [t.scale for t in ds.spec.tasks] == [1.0, 100.0]
    y1, y2 = ds.targets["t1"], ds.targets["t2"]
    assert np.abs(y1).max() <= 1.0 and np.abs(y2).max() <= 100.0
    assert np.abs(y2).max() > 50.0  # the large task really is 100x larger
    # B is shared (std 10) and eps_i private (std 3.5): the tasks agree in sign most of the time.
    assert np.mean(np.sign(y1) == np.sign(y2)) > 0.7
    assert ds.x.shape == (200, 250)


def test_gradnorm_toy_many_tasks_and_sigma_errors() -> None:
    ds = load("gradnorm_toy", tasks=5, sigmas=[])
    assert [t.scale for t in ds.spec.tasks] == pytest.approx([1, 10 ** 0.5, 10, 10 ** 1.5, 100])
    with pytest.raises(ConfigError, match=r"data\.params\.sigmas: has 2 values but tasks is 3"):
        load("gradnorm_toy", tasks=3)


# ----------------------------------------------------------------------------- MMoE synthetic


@pytest.mark.parametrize("p", [-1.0, -0.3, 0.0, 0.8, 1.0])
def test_mmoe_weight_vectors_have_cosine_p(p: float) -> None:
    w = weight_vectors(100, p, 2.0, np.random.default_rng(0))
    assert np.linalg.norm(w, axis=1) == pytest.approx([2.0, 2.0])
    assert w[0] @ w[1] / 4.0 == pytest.approx(p, abs=1e-12)


def test_mmoe_label_correlation_follows_the_knob() -> None:
    def corr(p: float) -> float:
        ds = load("mmoe_synthetic", correlation=p, n_samples=2000)
        return float(np.corrcoef(ds.targets["y1"], ds.targets["y2"])[0, 1])

    assert corr(1.0) > 0.99  # identical tasks up to 0.01 noise
    assert abs(corr(0.0)) < 0.1
    assert corr(-1.0) < -0.3
    assert corr(0.2) < corr(0.6) < corr(0.9)


# ----------------------------------------------------------------------------- penguins


def test_penguins_missing_values() -> None:
    ds = load("penguins")
    assert ds.spec.n_samples == 344 and ds.x.shape == (344, 6)
    species, sex, mass = ds.targets["species"], ds.targets["sex"], ds.targets["body_mass"]
    assert ds.spec.task("species").class_names == ("Adelie", "Chinstrap", "Gentoo")
    assert np.bincount(species).tolist() == [152, 68, 124]
    assert ds.spec.task("sex").class_names == ("female", "male")
    assert (sex == -1).sum() == 11 and np.isnan(mass).sum() == 2
    # Row 4 of the file (index 3) is all NA: no sex, no mass, no measurements (the run's
    # preprocessing fills and scales them from the training rows: test_preprocess.py).
    assert sex[3] == -1 and np.isnan(mass[3]) and np.isnan(ds.x[3, :3]).all()
    # First bird: male, 3750 g, bill 39.1 x 18.7 mm, flipper 181 mm; the second weighs 3800 g.
    assert sex[0] == 1 and mass[:2].tolist() == [3750.0, 3800.0]
    assert ds.x[0, :3].tolist() == pytest.approx([39.1, 18.7, 181.0])
    assert np.array_equal(ds.x[:, 3:].sum(axis=1), np.ones(344))  # island one-hot
    assert ds.raw_features == ("island_Biscoe", "island_Dream", "island_Torgersen")
    assert "body_mass_g" not in ds.feature_names
