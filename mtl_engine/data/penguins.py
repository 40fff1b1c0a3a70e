"""Palmer penguins (Horst, Hill & Gorman, palmerpenguins R package, 2020; data from Gorman, Williams
& Fraser, PLoS ONE 2014): 344 penguins with three tasks of different types and missing values.

Source: palmerpenguins 0.1.6 wheel's palmerpenguins/data/penguins.csv (package MIT; data CC0),
shipped as mtl_engine/data/files/penguins.csv by scripts/make_data_files.py.

Tasks: species (3 classes: Adelie, Chinstrap, Gentoo), sex (binary: female 0, male 1; 11 missing
-> -1) and body_mass (regression, in grams; 2 missing -> NaN). Inputs: bill length, bill depth and
flipper length in mm (2 missing each, as NaN) and the island one-hot (Biscoe, Dream, Torgersen).
The loader returns these raw: the run's preprocessing (mtl_engine/preprocess.py) fills the gaps and
standardises the measurements and body mass with the training rows' statistics, and leaves the
one-hot columns as 0/1 (`raw_features`). Body mass is a target, never an input.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..registry import DATASETS, NoParams, parse_params
from ._common import make_task, shipped
from .base import Dataset, DatasetSpec
from .tabular import encode_labels, is_missing, read_csv, to_float

NUMERIC = ("bill_length_mm", "bill_depth_mm", "flipper_length_mm")


@DATASETS.register(
    "penguins",
    "Palmer penguins: species (3 classes), sex (binary) and body mass (regression), with gaps",
    paper="Gorman, Williams & Fraser, PLoS ONE 2014",
)
def load_penguins(given: Mapping[str, Any] | NoParams, seed: int) -> Dataset:
    parse_params(NoParams, given, "data.params")  # refuses any parameter, naming it
    table = read_csv(shipped("penguins.csv"))
    src = table.source

    def row_of(index: int) -> int:
        return table.lines[index]

    numeric = np.stack([to_float(table.column(c), src, c, row_of) for c in NUMERIC], axis=1)
    n_filled = int(np.isnan(numeric).sum())
    island = np.array(table.column("island"))
    islands = sorted(set(island.tolist()))
    onehot = (island[:, None] == np.array(islands)[None, :]).astype(np.float32)
    features = np.concatenate([numeric, onehot], axis=1)

    targets: dict[str, np.ndarray] = {}
    tasks = []
    for column, name, ttype in (("species", "species", "classification"),
                                ("sex", "sex", "binary")):
        cells = table.column(column)
        missing = np.array([is_missing(cell) for cell in cells])
        ids, names = encode_labels(np.array(cells), missing, ttype, src, column)
        targets[name] = ids
        tasks.append(make_task(name, ttype, len(names), f"{column}: {', '.join(names)}"
                               f" ({int(missing.sum())} missing)", names))
    mass = to_float(table.column("body_mass_g"), src, "body_mass_g", row_of)
    targets["body_mass"] = mass.astype(np.float32)
    tasks.append(make_task("body_mass", "regression", description=(
        f"body mass in grams ({int(np.isnan(mass).sum())} missing)")))

    n_birds = features.shape[0]
    spec = DatasetSpec("penguins", (features.shape[1],), tuple(tasks), n_birds,
                       f"Palmer penguins: {n_birds} birds, {n_filled} missing measurements "
                       "filled with training means", "penguins.csv from palmerpenguins 0.1.6 (CC0)")
    onehot_names = tuple(f"island_{i}" for i in islands)
    return Dataset(spec, features.astype(np.float32), targets, feature_names=NUMERIC + onehot_names,
                   raw_features=onehot_names)
