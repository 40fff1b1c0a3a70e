"""A study file: a base preset, seeds, single-task baselines, overrides, a grid and variants.

```yaml
name: MultiMNIST strategies
base: multimnist_uncertainty      # a built-in preset name, or a preset path relative to this file
seeds: [0, 1, 2]                  # or a count: 3 means [0, 1, 2]
baselines: single_task            # or none
overrides: {training.epochs: 3}   # dotted config paths, applied to every run
grid: {strategy.name: [equal, mgda]}        # every combination is one variant
variants: [{}, {sharing.scheme: mmoe, sharing.params.experts: 4}]   # x the grid
select: final                     # final | best
```

Validated like a preset: the same strict YAML reader, unknown fields named with the closest
match, errors naming the field path (``grid.strategy.name``, ``variants[1]``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError, UnknownNameError, short

FIELDS = ("name", "description", "base", "seeds", "baselines", "overrides", "grid", "variants",
          "select")
# Written into a study folder's study.yaml by the runner, ignored when a study is read.
GENERATED = ("varied", "tasks", "runs")
BASELINES = ("single_task", "none")
SELECT = ("final", "best")
MAX_RUNS = 10_000  # a typo such as seeds: 1000000 is refused before anything is expanded


@dataclass(frozen=True)
class Study:
    name: str
    base: str  # as written: a built-in preset name or a path
    base_path: Path  # resolved
    seeds: tuple[int, ...] = (0,)
    baselines: str = "single_task"
    overrides: dict[str, Any] = field(default_factory=dict)
    grid: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    variants: tuple[dict[str, Any], ...] = ()
    select: str = "final"
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain data for study.yaml; `base` is written resolved, so the copy in a study folder
        names the preset it used wherever it is read from."""
        return {"name": self.name, "description": self.description, "base": str(self.base_path),
                "seeds": list(self.seeds), "baselines": self.baselines,
                "overrides": dict(self.overrides),
                "grid": {k: list(v) for k, v in self.grid.items()},
                "variants": [dict(v) for v in self.variants], "select": self.select}


def dumps_study(study: Study, folder: str | os.PathLike[str] | None = None) -> str:
    """YAML text of a study, as `load_study` reads it back. A built-in base stays its name; a
    preset file is written relative to `folder` (where the study file goes) when given."""
    from ..presets import builtin_presets, dumps_data

    data = study.to_dict()
    if builtin_presets().get(study.base) == study.base_path:
        data["base"] = study.base
    elif folder is not None:
        data["base"] = os.path.relpath(study.base_path, Path(folder).resolve())
    if not data["description"]:
        del data["description"]
    return dumps_data(data)


def save_study(study: Study, path: str | os.PathLike[str]) -> Path:
    """Write `study` as a study file (atomically), its base preset named relative to the file;
    FileWriteError naming the path."""
    from ..fileio import atomic_write_text

    p = Path(path)
    atomic_write_text(p, dumps_study(study, p.parent))
    return p


def load_study(path: str | os.PathLike[str]) -> Study:
    """Read and validate a study file; ConfigError (one line, naming the file and field)."""
    from ..presets import parse

    p = Path(path)
    try:
        if p.is_dir():
            raise ConfigError("", f"{p}: is a folder, not a study file")
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError("", f"{p}: cannot read: {(exc.strerror or str(exc)).lower()}"
                          ) from None
    except UnicodeDecodeError:
        raise ConfigError("", f"{p}: is not UTF-8 text") from None
    raw = parse(text, str(p))
    try:
        return study_from_dict(raw, p.parent, default_name=p.stem)
    except ConfigError as exc:
        raise ConfigError(exc.path, f"{p}: {exc.message}") from None


def study_from_dict(raw: Any, base_dir: str | os.PathLike[str] = ".",
                    default_name: str = "study") -> Study:
    """Validate plain data (as loaded from YAML). A relative `base` path is read relative to
    `base_dir` (the study file's folder)."""
    if not isinstance(raw, dict):
        raise ConfigError("study", f"must be a mapping of fields ({', '.join(FIELDS)}), got "
                                   f"{short(raw)}")
    for key in raw:
        if key not in FIELDS and key not in GENERATED:
            raise UnknownNameError("study field", key, FIELDS, str(key))
    name = raw.get("name", default_name)
    if not isinstance(name, str) or not name.strip():
        raise ConfigError("name", f"must be non-empty text, got {short(name)}")
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise ConfigError("description", f"must be text, got {short(description)}")
    if "base" not in raw:
        raise ConfigError("base", "is required: a built-in preset name or a preset file")
    base = raw["base"]
    if not isinstance(base, str) or not base.strip():
        raise ConfigError("base", f"must be a preset name or path, got {short(base)}")
    return Study(
        name=name, description=description, base=base, base_path=_base_path(base, base_dir),
        seeds=_seeds(raw.get("seeds", [0])),
        baselines=_choice(raw.get("baselines", "single_task"), BASELINES, "baselines"),
        overrides=_overrides(raw.get("overrides", {}), "overrides"),
        grid=_grid(raw.get("grid", {})), variants=_variants(raw.get("variants", [])),
        select=_choice(raw.get("select", "final"), SELECT, "select"),
    )


def _base_path(base: str, base_dir: str | os.PathLike[str]) -> Path:
    from ..presets import builtin_presets

    candidate = Path(base).expanduser()
    if not candidate.is_absolute():
        candidate = Path(base_dir) / candidate
    if candidate.is_file():
        return candidate.resolve()
    builtin = builtin_presets()
    if base in builtin:
        return builtin[base]
    raise UnknownNameError(f"preset (no file {candidate}, nor a built-in name)", base, builtin,
                           "base")


def _choice(v: Any, choices: tuple[str, ...], where: str) -> str:
    if v not in choices:
        raise UnknownNameError(where.replace("_", " "), v, choices, where)
    return v


def _seeds(v: Any) -> tuple[int, ...]:
    from ..config import SEED_MAX

    if isinstance(v, int) and not isinstance(v, bool):
        if not 1 <= v <= 1000:
            raise ConfigError("seeds", f"a count of seeds must be 1 to 1000, got {v}")
        return tuple(range(v))
    if not isinstance(v, list) or not v:
        raise ConfigError("seeds", f"must be a list of seeds such as [0, 1, 2] or a count, got "
                                   f"{short(v)}")
    for i, s in enumerate(v):
        if isinstance(s, bool) or not isinstance(s, int) or not 0 <= s <= SEED_MAX:
            raise ConfigError(f"seeds[{i}]", f"must be a whole number from 0 to {SEED_MAX}, got "
                                             f"{short(s)}")
    if len(set(v)) != len(v):
        dup = next(s for i, s in enumerate(v) if s in v[:i])
        raise ConfigError("seeds", f"seed {dup} is listed twice")
    return tuple(v)


def _overrides(v: Any, where: str) -> dict[str, Any]:
    from .paths import parse

    if v is None:
        return {}
    if not isinstance(v, dict):
        raise ConfigError(where, f"must be a mapping of dotted config paths to values, such as "
                                 f"{{training.epochs: 3}}, got {short(v)}")
    for key in v:
        parse(key, f"{where}.{key}" if isinstance(key, str) else where)
    return dict(v)


def _grid(v: Any) -> dict[str, tuple[Any, ...]]:
    grid = _overrides(v, "grid")
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"grid.{key}", f"must be a non-empty list of values, got "
                                             f"{short(values)}")
    return {k: tuple(vs) for k, vs in grid.items()}


def _variants(v: Any) -> tuple[dict[str, Any], ...]:
    if v is None:
        return ()
    if not isinstance(v, list):
        raise ConfigError("variants", f"must be a list of mappings of overrides, got {short(v)}")
    return tuple(_overrides(item if item is not None else {}, f"variants[{i}]")
                 for i, item in enumerate(v))
