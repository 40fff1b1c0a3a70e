"""Solar flares (UCI "Solar Flare", G. Bradshaw, 1989): 1,066 sunspot regions, each described by 10
coded attributes, with the number of flares of each class it produced in the next 24 hours. This
is UCI's second file (flare.data2), as the river 0.26.1 wheel ships it
(river/datasets/solar-flare.csv.zip), re-compressed to mtl_engine/data/files/solar_flare.csv.gz by
scripts/make_real_tables.py.

Tasks (regression over counts, in flares; MSE loss and MSE headline metric, the measure a model
fitted to the mean answers to: MAE would reward predicting the median, 0, for every region):
common (C-class flares, 0-8, 17 % of regions have any), moderate (M-class, 0-5, 3.4 %) and severe
(X-class, 0-2, 0.5 %).
The counts are loaded as they are (small whole numbers, mostly 0); the run standardises them
for training and reports metrics and predictions in flares (preprocess.py).
Inputs: every attribute one-hot, the coded numbers included (activity, evolution, previous 24-hour
activity, historically complex, complex on this pass, area: codes, not amounts). The largest-spot
area holds one value in this file and gives no input: 30 input columns in all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..registry import DATASETS, NoParams, parse_params
from ._common import make_task
from ._real_tables import Table, one_hot_columns
from .base import Dataset, DatasetSpec

N_REGIONS = 1066
ATTRIBUTES = ("zurich-class", "largest-spot-size", "spot-distribution", "activity", "evolution",
              "previous-24h-flare-activity", "hist-complex", "hist-complex-this-pass", "area",
              "largest-spot-area")
# task name, column, what it counts
COUNTS = (("common", "c-class-flares", "C-class (common) flares"),
          ("moderate", "m-class-flares", "M-class (moderate) flares"),
          ("severe", "x-class-flares", "X-class (severe) flares"))


@DATASETS.register(
    "solar_flare",
    "UCI solar flares: counts of common, moderate and severe flares (3 regressions) from 10 codes",
    paper="Bradshaw, UCI Machine Learning Repository 1989",
)
def load_solar_flare(given: Mapping[str, Any] | NoParams, seed: int) -> Dataset:
    parse_params(NoParams, given, "data.params")  # refuses any parameter, naming it
    table = Table("solar_flare.csv.gz", N_REGIONS, len(ATTRIBUTES) + len(COUNTS))
    x, names = one_hot_columns(table, ATTRIBUTES)
    targets: dict[str, np.ndarray] = {}
    tasks = []
    for name, column, what in COUNTS:
        counts = table.numbers([column])[:, 0].astype(np.float32)
        targets[name] = counts
        tasks.append(make_task(name, "regression", description=(
            f"{what} in the next 24 hours: 0-{int(counts.max())}, {int((counts > 0).sum())} of "
            f"{N_REGIONS} regions have any")))
    spec = DatasetSpec("solar_flare", (x.shape[1],), tuple(tasks), N_REGIONS,
                       f"Solar flares: {N_REGIONS} sunspot regions, 10 coded attributes one-hot "
                       f"({x.shape[1]} inputs), 3 flare counts",
                       "solar_flare.csv.gz from river 0.26.1 (UCI Solar Flare, CC BY 4.0)")
    return Dataset(spec, x, targets, feature_names=tuple(names),
                   raw_features=tuple(names))  # every input is a 0/1 indicator
