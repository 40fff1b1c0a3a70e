"""A study expanded into runs: (grid x variants) x seeds, plus one single-task run per task and
seed. Every run is validated here, before anything starts; each gets a stable key.

The key is the first 12 hex digits of the SHA-256 of the run's resolved config (canonical JSON,
the seed included, the display `name` and `description` left out), so the same run in the same
study folder has the same key however the study is written or renamed: running a study again
resumes it, and adding a seed or a variant runs only the new ones.

A single-task baseline is the base preset with the study's overrides, one task enabled, hard
sharing (the shared trunk and that task's head: one network per task) and equal weighting (a
single loss needs none), for each seed.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError
from ..events import RunStatus
from .paths import apply, parse, render
from .spec import MAX_RUNS, Study

RUNS_DIR = "runs"


@dataclass(frozen=True)
class RunSpec:
    key: str
    variant: str  # a label: "strategy.name=mgda, training.lr=0.01", "base", "single_task:left"
    seed: int
    baseline: str  # the task of a single-task run, "" otherwise
    fields: dict[str, Any]  # the grid's and the variant's paths and values for this run
    config: dict[str, Any]  # resolved and validated (config.to_dict form)

    @property
    def folder(self) -> str:
        """The run folder, relative to the study folder."""
        return f"{RUNS_DIR}/{self.key}"

    def record(self, status: str = RunStatus.QUEUED) -> dict[str, Any]:
        return {"key": self.key, "variant": self.variant, "seed": self.seed,
                "baseline": self.baseline, "fields": dict(self.fields), "folder": self.folder,
                "status": str(status)}


@dataclass(frozen=True)
class Expansion:
    runs: tuple[RunSpec, ...]
    varied: tuple[str, ...]  # every path a grid or a variant sets, in order of appearance
    tasks: tuple[str, ...]  # the enabled tasks of the base config (with the overrides)
    base: dict[str, Any] = field(default_factory=dict)  # the base config with the overrides


def run_key(config: dict[str, Any]) -> str:
    body = {k: v for k, v in config.items() if k not in ("name", "description")}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def label(fields: dict[str, Any]) -> str:
    return ", ".join(f"{k}={_fmt(v)}" for k, v in fields.items()) or "base"


def _fmt(v: Any) -> str:
    return v if isinstance(v, str) else json.dumps(v, separators=(",", ":"))


def expand(study: Study) -> Expansion:
    """Every run of `study`, validated (ConfigError naming the study field and the run)."""
    from .. import config_from_dict as from_dict  # the engine's front door
    from .. import load_preset as load

    try:
        base_cfg = load(study.base_path).to_dict()
    except ConfigError as exc:
        raise ConfigError("base", str(exc)) from None
    combos = _combos(study)
    n_tasks = sum(1 for t in base_cfg["tasks"] if t["enabled"])
    total = len(study.seeds) * (len(combos) + (n_tasks if study.baselines == "single_task" else 0))
    if total > MAX_RUNS:
        raise ConfigError("grid", f"the study expands to {total:,} runs; at most {MAX_RUNS:,}")
    common = [(k, v, f"overrides.{k}") for k, v in study.overrides.items()]
    with_overrides = apply(copy.deepcopy(base_cfg), common)  # validated with each run below
    runs: list[RunSpec] = []
    seen: dict[str, str] = {}
    for fields, sources in combos:
        name = label(fields)
        for seed in study.seeds:
            items = common + sources + [("training.seed", seed, "seeds")]
            cfg = _resolve(base_cfg, items, from_dict, name, seed)
            cfg["name"] = f"{study.name} [{name}] seed {seed}"
            key = run_key(cfg)
            if key in seen:
                raise ConfigError("variants" if study.variants else "grid",
                                  f"{name!r} and {seen[key]!r} give the same run (seed {seed}); "
                                  "every variant must differ")
            seen[key] = name
            runs.append(RunSpec(key, name, seed, "", dict(fields), cfg))
    tasks = tuple(t["name"] for t in with_overrides["tasks"] if t["enabled"])
    if study.baselines == "single_task":
        for task in tasks:
            for seed in study.seeds:
                cfg = _resolve(_baseline(with_overrides, task, seed), common, from_dict,
                               f"single_task:{task}", seed)
                cfg["name"] = f"{study.name} [single task {task}] seed {seed}"
                runs.append(RunSpec(run_key(cfg), f"single_task:{task}", seed, task, {}, cfg))
    varied: list[str] = []
    for fields, _ in combos:
        varied.extend(k for k in fields if k not in varied)
    return Expansion(tuple(runs), tuple(varied), tasks, with_overrides)


def _combos(study: Study) -> list[tuple[dict[str, Any], list[tuple[str, Any, str]]]]:
    """(fields, assignments) per variant: every grid combination x every explicit variant."""
    keys = list(study.grid)
    grid = [dict(zip(keys, values)) for values in itertools.product(*study.grid.values())]
    variants = list(study.variants) or [{}]
    out = []
    for g in grid:
        for j, v in enumerate(variants):
            fields = {**g, **v}
            sources = [(k, x, f"grid.{k}") for k, x in g.items()]
            sources += [(k, x, f"variants[{j}].{k}") for k, x in v.items()]
            out.append((fields, sources))
    return out


def _resolve(base: dict[str, Any], items: list[tuple[str, Any, str]], from_dict: Any,
             name: str, seed: int | None) -> dict[str, Any]:
    cfg = apply(copy.deepcopy(base), items)
    try:
        return from_dict(cfg).to_dict()
    except ConfigError as exc:
        where = _blame(exc.path, items)
        run = f"run {name}" + (f", seed {seed}" if seed is not None else "")
        raise ConfigError(where, f"{exc} (in {run})") from None


def _blame(error_path: str, items: list[tuple[str, Any, str]]) -> str:
    """The study field that set the config field an error names: the longest matching path."""
    best, best_len = "base", 0
    for path, _value, where in items:
        canon = render(parse(path, where))
        common = canon if error_path.startswith(canon) else _common_prefix(canon, error_path)
        if len(common) > best_len:
            best, best_len = where, len(common)
    return best


def _common_prefix(a: str, b: str) -> str:
    parts_a, parts_b = a.split("."), b.split(".")
    out = []
    for x, y in zip(parts_a, parts_b):
        if x != y:
            break
        out.append(x)
    return ".".join(out)


def _baseline(base: dict[str, Any], task: str, seed: int) -> dict[str, Any]:
    cfg = copy.deepcopy(base)
    for t in cfg["tasks"]:
        t["enabled"] = t["name"] == task
    cfg["sharing"] = {"scheme": "hard", "params": {}}
    cfg["strategy"] = {"name": "equal", "params": {}, "grad_mode": "shared"}
    cfg["training"]["seed"] = seed
    return cfg
