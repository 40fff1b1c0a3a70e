"""scikit-learn's 8x8 handwritten digits with three tasks: digit, parity and ">= 5".

Data: the UCI "Optical Recognition of Handwritten Digits" test set (Alpaydin & Kaynak, 1998; 1,797
images, 4x4 block counts 0-16 of 32x32 NIST bitmaps), CC BY 4.0, as shipped in scikit-learn's wheel
(sklearn/datasets/data/digits.csv.gz, BSD-3), copied to mtl_engine/data/files/digits.csv.gz by
scripts/make_data_files.py. Each row holds 64 pixel counts then the label.
"""

from __future__ import annotations

import gzip
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..registry import DATASETS, param, parse_params
from ._common import digit_tasks, shipped
from .base import Dataset, DatasetSpec


def read_digits() -> tuple[np.ndarray, np.ndarray]:
    """Pixels (1797, 64) as counts 0-16 and labels (1797,), both int64."""
    with gzip.open(shipped("digits.csv.gz"), "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64)
    return table[:, :64], table[:, 64]


@dataclass(frozen=True)
class DigitsParams:
    image: bool = param(False, "give each sample as a (1, 8, 8) image instead of 64 features")


@DATASETS.register(
    "digits",
    "8x8 handwritten digits (scikit-learn / UCI optdigits): digit, parity and >= 5",
    params=DigitsParams,
    paper="Alpaydin & Kaynak, Kybernetika 1998 (UCI optdigits)",
)
def load_digits(given: Mapping[str, Any] | DigitsParams, seed: int) -> Dataset:
    params = parse_params(DigitsParams, given, "data.params")
    pixels, labels = read_digits()
    x = pixels.astype(np.float32) / 16.0  # counts of 16 cells: 16 is the largest possible
    shape: tuple[int, ...] = (64,)
    if params.image:
        shape = (1, 8, 8)
        x = x.reshape(-1, *shape)
    targets, tasks = digit_tasks(labels)
    spec = DatasetSpec("digits", shape, tasks, len(labels),
                       "1,797 handwritten digits, 8x8 pixels scaled to [0, 1]",
                       "digits.csv.gz from scikit-learn (BSD-3); UCI optdigits (CC BY 4.0)")
    feature_names = tuple(f"pixel_{r}_{c}" for r in range(8) for c in range(8))
    # pixels already in [0, 1]: the model's preprocessing leaves them as the presets know them
    return Dataset(spec, x, targets, feature_names=feature_names, prepared=frozenset({"inputs"}))
