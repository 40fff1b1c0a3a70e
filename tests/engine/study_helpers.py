"""Small studies for the study tests: a tiny digits preset written next to the study file."""

from __future__ import annotations

import copy
import csv
from pathlib import Path
from typing import Any

import yaml

from mtl_engine.presets import save
from tests.engine.conftest import TINY

TINY_STUDY_BASE = copy.deepcopy(TINY)
TINY_STUDY_BASE["training"] = {**TINY["training"], "epochs": 1, "max_steps_per_epoch": 3,
                               "log_every": 1}
TINY_STUDY_BASE["tasks"] = TINY["tasks"][:2]  # digit, parity: two tasks, so there is a front


def write_study(folder: Path, study: dict[str, Any], base: dict[str, Any] | None = None) -> Path:
    """`folder`/presets/tiny.yaml and `folder`/study.yaml whose base names it relatively."""
    (folder / "presets").mkdir(parents=True, exist_ok=True)
    save(base or TINY_STUDY_BASE, folder / "presets" / "tiny.yaml")
    path = folder / "my_study.yaml"
    path.write_text(yaml.safe_dump({"base": "presets/tiny.yaml", **study}, sort_keys=False))
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))
