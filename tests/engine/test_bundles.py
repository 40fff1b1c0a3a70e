"""Bundles that do not match what the engine expects are refused like a corrupt file: one
BundleError line naming the file and what does not match, from load_bundle and every export."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from mtl_engine.build import dataset_for
from mtl_engine.errors import BundleError
from mtl_engine.export import copy_bundle, export_program, export_torchscript, load_bundle
from mtl_engine.training import run

from .conftest import tiny


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("run")
    list(run(tiny(), out_dir=out))
    path = out / "model.pt"
    return path, torch.load(path, weights_only=True)


def _edit(payload: dict[str, Any], change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    d = copy.deepcopy(payload)
    change(d)
    return d


def _del(*keys: str) -> Callable[[dict[str, Any]], None]:
    def change(d: dict[str, Any]) -> None:
        target = d
        for k in keys[:-1]:
            target = target[k]
        del target[keys[-1]]
    return change


def _set(value: Any, *keys: Any) -> Callable[[dict[str, Any]], None]:
    def change(d: dict[str, Any]) -> None:
        target = d
        for k in keys[:-1]:
            target = target[k]
        target[keys[-1]] = value
    return change


def _wider_trunk(d: dict[str, Any]) -> None:
    d["config"]["trunk"][0]["out_features"] = 32  # the weights were trained with 24


def _extra_weight(d: dict[str, Any]) -> None:
    d["state_dict"]["heads.9.weight"] = torch.zeros(3)


def _unknown_task_field(d: dict[str, Any]) -> None:
    d["spec"]["tasks"][0]["colour"] = "red"


def _unknown_resolved_field(d: dict[str, Any]) -> None:
    d["tasks"][1]["priority"] = 3


def _one_task_less(d: dict[str, Any]) -> None:
    d["tasks"].pop()


def _renamed_task(d: dict[str, Any]) -> None:
    d["config"]["tasks"][0]["name"] = "number"
    d["config"]["tasks"][0]["target"] = "digit"


def _unknown_dataset_task(d: dict[str, Any]) -> None:
    d["spec"]["tasks"][2]["name"] = "ge6"


CASES = {
    "config removed": (_del("config"), "the bundle has no 'config' entry; it is incomplete or "
                                        "was edited"),
    "weights removed": (_del("state_dict"), "the bundle has no 'state_dict' entry"),
    "declaration removed": (_del("spec"), "the bundle has no 'spec' entry"),
    "missing weight": (_del("state_dict", "heads.1.0.bias"),
                       "the weights do not match the model the config builds (missing "
                       "heads.1.0.bias)"),
    "extra weight": (_extra_weight, "the weights do not match the model the config builds "
                                    "(unexpected 'heads.9.weight')"),
    "config that does not fit the weights": (
        _wider_trunk, "weight 'body.trunk.0.weight' has shape (24, 64) but the config builds "
                      "(32, 64); the config does not fit the weights"),
    "invalid config": (_set(-3, "config", "trunk", 0, "out_features"),
                       "the bundle's config is not valid (trunk[0].out_features: must be a "
                       "positive integer, got -3)"),
    "unknown field in a task declaration": (
        _unknown_task_field, "spec.tasks[0] has unknown field 'colour' (known: class_names, "
                             "description, loss, metric, n_classes, name, outputs, scale, "
                             "type)"),
    "unknown field in a resolved task": (_unknown_resolved_field,
                                         "tasks[1] has unknown field 'priority'"),
    "field missing in a task declaration": (_del("spec", "tasks", 0, "type"),
                                            "spec.tasks[0] lacks the field 'type'"),
    "tasks that do not match the config": (
        _one_task_less, "the bundle's tasks ['digit', 'parity'] do not match its config's "
                        "enabled tasks ['digit', 'parity', 'ge5']"),
    "renamed task": (_renamed_task, "the bundle's tasks ['digit', 'parity', 'ge5'] do not match "
                                    "its config's enabled tasks ['number', 'parity', 'ge5']"),
    "config that does not fit the declaration": (
        _unknown_dataset_task, "the config does not fit the dataset declaration"),
    "weights not a mapping": (_set([1, 2], "state_dict"),
                              "'state_dict' must be a mapping of tensors, got list"),
    "a weight that is not a tensor": (_set("w", "state_dict", "heads.0.0.bias"),
                                      "weight 'heads.0.0.bias' is not a tensor (str)"),
    "declaration not a mapping": (_set("digits", "spec"),
                                  "the dataset declaration ('spec') must be a mapping, got str"),
    "bad input shape": (_set(["sixty-four"], "spec", "input_shape"),
                        "the dataset declaration ('spec') is damaged"),
    "metrics not a mapping": (_set(3, "metrics"), "'metrics' must be a mapping, got int"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_bundle_that_does_not_match_is_one_bundle_error(good, tmp_path: Path,
                                                          case: str) -> None:
    path, payload = good
    change, expected = CASES[case]
    bad = tmp_path / "bad.pt"
    torch.save(_edit(payload, change), bad)
    with pytest.raises(BundleError) as info:
        load_bundle(bad)
    msg = str(info.value)
    assert msg.startswith(f"{bad}: ") and expected in msg
    assert "\n" not in msg and len(msg) < 400
    for export in (export_torchscript, export_program, copy_bundle):
        with pytest.raises(BundleError, match="^" + str(bad)):
            export(bad, tmp_path / "out.bin")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.pt"]


def test_a_corrupt_file_gets_the_same_error_class(good, tmp_path: Path) -> None:
    path, _ = good
    data = path.read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(BundleError, match="not a model bundle this app can load safely"):
        load_bundle(tmp_path / "cut.pt")
    (tmp_path / "folder.pt").mkdir()
    with pytest.raises(BundleError, match="is a folder, not a model bundle"):
        load_bundle(tmp_path / "folder.pt")


def test_an_untouched_bundle_still_loads_and_predicts_like_the_run(good) -> None:
    path, payload = good
    loaded = load_bundle(path)
    assert loaded.config == tiny()
    assert [t.name for t in loaded.tasks] == ["digit", "parity", "ge5"]
    x = dataset_for(tiny()).x[:20]
    model_out = loaded.model(torch.from_numpy(x))
    pred = loaded.predict(x)
    for task, value in pred.items():
        assert np.allclose(value, model_out[task].detach().numpy(), atol=1e-6)
    assert set(payload["state_dict"]) == set(loaded.model.state_dict())


def test_copying_a_bundle_onto_itself_keeps_it(good, tmp_path: Path) -> None:
    path, _ = good
    dest = tmp_path / "m.pt"
    copy_bundle(path, dest)
    before = dest.read_bytes()
    assert copy_bundle(dest, dest) == dest
    assert dest.read_bytes() == before
