"""Shared helpers for engine tests: small, fast configs on the digits dataset."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from mtl_engine.config import ExperimentConfig, from_dict

TINY: dict[str, Any] = {
    "name": "tiny digits",
    "data": {"dataset": "digits", "val_fraction": 0.25},
    "trunk": [{"type": "linear", "out_features": 24}, {"type": "relu"}],
    "tasks": [
        {"name": "digit", "head": [{"type": "linear", "out_features": 16}, {"type": "relu"}]},
        {"name": "parity"},
        {"name": "ge5"},
    ],
    "strategy": {"name": "equal"},
    "optimizer": {"name": "adam", "lr": 0.01},
    "training": {"epochs": 2, "batch_size": 64, "seed": 3, "device": "cpu", "log_every": 5,
                 "max_steps_per_epoch": 10},
}


def tiny(**changes: Any) -> ExperimentConfig:
    d = copy.deepcopy(TINY)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(d.get(key), dict):
            d[key].update(value)
        else:
            d[key] = value
    return from_dict(d)


@pytest.fixture
def tiny_config() -> ExperimentConfig:
    return tiny()
