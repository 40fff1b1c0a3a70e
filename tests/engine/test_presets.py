"""Every shipped preset loads, saves back unchanged, and trains for a few steps."""

from __future__ import annotations

from pathlib import Path

import pytest

from mtl_engine.build import dataset_for
from mtl_engine.config import from_dict
from mtl_engine.events import RunFinished, StepsLogged
from mtl_engine.model import summarize
from mtl_engine.presets import DEFAULT_PRESET, builtin_presets, dumps, load
from mtl_engine.training import run

PRESETS = builtin_presets()


def test_there_are_enough_presets_and_the_default_exists() -> None:
    assert len(PRESETS) >= 5
    assert DEFAULT_PRESET in PRESETS


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_file_is_canonical(name: str) -> None:
    path: Path = PRESETS[name]
    config = load(path)
    assert config.description, f"{name}: say what the experiment shows in `description`"
    # saving a loaded preset writes the same text back: what is saved reloads unchanged
    assert dumps(config) == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_builds_and_trains_a_few_steps(name: str) -> None:
    config = load(PRESETS[name])
    summary = summarize(config, dataset_for(config).spec)
    assert summary.ok, summary.error
    d = config.to_dict()
    d["training"].update(epochs=1, max_steps_per_epoch=3, log_every=1, device="cpu")
    if d["strategy"]["name"] in ("dwa", "stch", "performance"):
        d["training"]["epochs"] = 2
    events = list(run(from_dict(d)))
    assert isinstance(events[-1], RunFinished), getattr(events[-1], "details", events[-1])
    logged = [e for e in events if isinstance(e, StepsLogged)]
    assert sum(len(e.steps) for e in logged) == 3 * d["training"]["epochs"]
