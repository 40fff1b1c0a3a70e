"""mtl_engine's top-level names, the API the GUI is held to: every one resolves to the engine's
own object, registries come complete, and unknown names fail as attributes do."""

from __future__ import annotations

import subprocess
import sys
import types

import pytest

import mtl_engine
from mtl_engine import build, config, export, fileio, presets, registry, runs, toy2d
from mtl_engine.data import tabular


def test_every_name_in_all_resolves() -> None:
    assert len(mtl_engine.__all__) == len(set(mtl_engine.__all__))
    for name in mtl_engine.__all__:
        assert getattr(mtl_engine, name) is not None, name
        assert name in dir(mtl_engine)


def test_names_are_the_engine_objects_under_their_public_names() -> None:
    # The renamed ones especially: a wrong entry in the table would hand out something else.
    expected = {
        "config_from_dict": config.from_dict,
        "config_to_dict": config.to_dict,
        "OPTIMIZER_PARAMS": config.OPTIM_PARAMS,
        "TRAINING_PARAMS": config.TRAIN_PARAMS,
        "load_preset": presets.load,
        "save_preset": presets.save,
        "resolve_preset": presets.resolve,
        "PRESETS_DIR": presets.PRESETS_DIR,
        "STRATEGIES": registry.STRATEGIES,
        "SCHEDULES": registry.SCHEDULES,
        "MODEL_FILE": runs.MODEL_FILE,
        "EVENTS_FILE": runs.EVENTS_FILE,
        "load_dataset": build.load_dataset,
        "preview_table": tabular.preview_table,
        "copy_bundle": export.copy_bundle,
        "atomic_write_bytes": fileio.atomic_write_bytes,
        "toy": toy2d,
    }
    for name, obj in expected.items():
        assert getattr(mtl_engine, name) is obj, name
    assert mtl_engine.MODEL_FILE == "model.pt" and mtl_engine.EVENTS_FILE == "events.jsonl"
    assert [p.name for p in mtl_engine.OPTIMIZER_PARAMS][:2] == ["lr", "shared_lr"]
    assert isinstance(mtl_engine.toy, types.ModuleType)


def test_registries_from_the_front_door_are_complete() -> None:
    # In a fresh interpreter, so no other test has loaded the catalogue already.
    code = ("import mtl_engine; s = mtl_engine.STRATEGIES; "
            "print(len(s), 'pcgrad' in s, 'nash_mtl' in s, 'mmoe' in mtl_engine.SHARING)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    count, *found = out.stdout.split()
    assert int(count) == len(mtl_engine.registries()["strategies"]) > 20
    assert found == ["True", "True", "True"]


def test_public_modules_import_without_torch() -> None:
    # The front door is lazy: events and errors (and the package) stay cheap to import, and
    # `mtl-run` starts loading torch inside its own Ctrl-C handling.
    code = ("import sys, mtl_engine, mtl_engine.events, mtl_engine.errors; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_unknown_names_fail_as_attributes() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'toy2dd'"):
        _ = mtl_engine.toy2dd
    with pytest.raises(ImportError, match="cannot import name 'OPTIM_PARAMS'"):
        exec("from mtl_engine import OPTIM_PARAMS", {})  # the internal name is not public
