"""The experiment schema: validation errors name the field; round trips are exact."""

from __future__ import annotations

import copy

import pytest

from mtl_engine.config import ExperimentConfig, from_dict, to_dict
from mtl_engine.errors import ConfigError, UnknownNameError

BASE = {
    "name": "digits demo",
    "data": {"dataset": "digits"},
    "trunk": [{"type": "linear", "out_features": 32}, {"type": "relu"}],
    "tasks": [
        {"name": "digit", "head": [{"type": "linear", "out_features": 16}, {"type": "relu"}]},
        {"name": "parity"},
    ],
    "strategy": {"name": "equal"},
}


def cfg(**changes: object) -> dict:
    d = copy.deepcopy(BASE)
    d.update(changes)
    return d


def error_of(d: dict) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        from_dict(d)
    return info.value


def test_minimal_config_gets_defaults() -> None:
    c = from_dict(BASE)
    assert isinstance(c, ExperimentConfig)
    assert c.training.epochs == 5 and c.training.device == "auto"
    assert c.optimizer.name == "adam" and c.optimizer.lr == pytest.approx(1e-3)
    assert c.sharing.name == "hard"
    assert c.tasks[1].source == "parity" and c.tasks[1].weight == 1.0
    assert c.trunk[0].params["out_features"] == 32
    assert c.trunk[0].params["bias"] is True  # filled from the layer's schema


def test_round_trip_is_exact() -> None:
    c = from_dict(BASE)
    d = to_dict(c)
    assert from_dict(d) == c
    assert to_dict(from_dict(d)) == d


def test_negative_size_names_the_nested_field() -> None:
    d = cfg()
    d["tasks"][1]["head"] = [{"type": "linear", "out_features": 8},
                             {"type": "linear", "out_features": -3}]
    err = error_of(d)
    assert err.path == "tasks[1].head[1].out_features"
    assert str(err) == "tasks[1].head[1].out_features: must be a positive integer, got -3"


def test_unknown_strategy_suggests_the_closest() -> None:
    err = error_of(cfg(strategy={"name": "uncertanty"}))
    assert isinstance(err, UnknownNameError)
    assert err.path == "strategy.name"
    assert "Did you mean 'uncertainty'?" in str(err)
    assert "equal" in err.choices


def test_unknown_layer_and_unknown_parameter() -> None:
    err = error_of(cfg(trunk=[{"type": "lineer", "out_features": 3}]))
    assert err.path == "trunk[0].type" and "'linear'" in str(err)
    err = error_of(cfg(trunk=[{"type": "linear", "out_feature": 3}]))
    assert err.path == "trunk[0].out_feature" and "'out_features'" in str(err)


def test_wrong_types_are_named() -> None:
    err = error_of(cfg(training={"epochs": "ten"}))
    assert str(err) == "training.epochs: must be a positive integer, got 'ten'"
    err = error_of(cfg(training={"device": "gpu"}))
    assert err.path == "training.device"
    err = error_of(cfg(optimizer={"lr": -1.0}))
    assert str(err).startswith("optimizer.lr: must be a number >= 0")
    err = error_of(cfg(tasks="digit"))
    assert err.path == "tasks"
    err = error_of(cfg(data={"dataset": "digits", "val_fraction": 1.5}))
    assert err.path == "data.val_fraction"


def test_unknown_top_level_field_and_missing_sections() -> None:
    err = error_of(cfg(trainin={"epochs": 3}))
    assert err.path == "trainin" and "'training'" in str(err)
    d = cfg()
    del d["data"]
    assert error_of(d).path == "data"


def test_task_names_must_differ_and_one_must_be_enabled() -> None:
    d = cfg()
    d["tasks"][1]["name"] = "digit"
    assert error_of(d).path == "tasks[1].name"
    d = cfg()
    for t in d["tasks"]:
        t["enabled"] = False
    assert error_of(d).path == "tasks"


def test_strategy_params_are_validated() -> None:
    err = error_of(cfg(strategy={"name": "dwa", "params": {"temp": "hot"}}))
    assert err.path == "strategy.params.temp"
    c = from_dict(cfg(strategy={"name": "dwa", "params": {"temp": 3}}))
    assert c.strategy.params["temp"] == 3.0


def test_unknown_loss_and_metric_names() -> None:
    d = cfg()
    d["tasks"][0]["loss"] = "crossentropy"
    err = error_of(d)
    assert err.path == "tasks[0].loss" and "cross_entropy" in str(err)
