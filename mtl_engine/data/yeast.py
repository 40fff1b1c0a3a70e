"""Yeast multi-label gene functions (Elisseeff & Weston, "A kernel method for multi-labelled
classification", NIPS 2001): 2,417 yeast genes, 103 features from micro-array expression and
phylogenetic profiles, and 14 functional classes of which each gene has at least one (4.24 on
average). The MULAN version (Tsoumakas et al., JMLR 2011; OpenML 40597), as the river 0.26.1 wheel
ships it (river/datasets/yeast.csv.gz), copied to mtl_engine/data/files/yeast.csv.gz by
scripts/make_real_tables.py.

Tasks: class1 ... class14, one binary task per label (the file's Class1 ... Class14), from 1.4 %
(class14, 34 genes) to 75 % positive. Inputs: the 103 features (Att1 ... Att103) as the file has
them (near zero-mean, SD about 0.1); the run standardises them from its training rows
(preprocess.py). Headline metric: accuracy, except for labels under 10 % positive (class9,
class14), where accuracy rewards never predicting them and F1 is often exactly 0 on the few
validation positives (which leaves Δm% undefined): those report AUROC, which asks only that the
genes be ranked.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..registry import DATASETS, NoParams, parse_params
from ._common import make_task
from ._real_tables import Table
from .base import Dataset, DatasetSpec

N_GENES, N_FEATURES, N_LABELS = 2417, 103, 14
RARE = 0.10  # labels with fewer positives than this share report AUROC


@DATASETS.register(
    "yeast",
    "Yeast gene functions (MULAN): 103 features, 14 binary labels of 1-75 % prevalence",
    paper="Elisseeff & Weston, NIPS 2001",
)
def load_yeast(given: Mapping[str, Any] | NoParams, seed: int) -> Dataset:
    parse_params(NoParams, given, "data.params")  # refuses any parameter, naming it
    table = Table("yeast.csv.gz", N_GENES, N_FEATURES + N_LABELS)
    features = [f"Att{i}" for i in range(1, N_FEATURES + 1)]
    x = table.numbers(features).astype(np.float32)
    targets: dict[str, np.ndarray] = {}
    tasks = []
    for k in range(1, N_LABELS + 1):
        y = table.numbers([f"Class{k}"])[:, 0].astype(np.int64)
        positives = int(y.sum())
        share = positives / N_GENES
        task = make_task(f"class{k}", "binary", description=(
            f"Class{k} of the file: {positives} of {N_GENES} genes ({100 * share:.1f} %)"),
            class_names=("no", "yes"))
        if share < RARE:
            task = dataclasses.replace(task, metric="auroc")
        targets[task.name] = y
        tasks.append(task)
    spec = DatasetSpec("yeast", (N_FEATURES,), tuple(tasks), N_GENES,
                       f"Yeast: {N_GENES} genes, {N_FEATURES} features, "
                       f"{N_LABELS} gene-function labels",
                       "yeast.csv.gz from river 0.26.1 (MULAN yeast; Elisseeff & Weston 2001)")
    return Dataset(spec, x, targets, feature_names=tuple(features))
