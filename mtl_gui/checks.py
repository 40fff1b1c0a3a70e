"""Everything the engine can say about a draft config before a run: valid? why not? what shapes?

Runs on every edit, so it only does what is cheap: validation, the (cached) dataset load and shape
inference without allocating weights. Only the engine's typed errors are caught here; they are
the user's mistakes and become the reason Start is disabled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mtl_engine import (
    DatasetSpec,
    ExperimentConfig,
    ModelSummary,
    ResolvedTask,
    available_devices,
    config_from_dict,
    load_dataset,
    resolve_tasks,
    summarize,
)
from mtl_engine.errors import ConfigError, MTLError


@dataclass(frozen=True)
class Check:
    config: ExperimentConfig | None = None
    spec: DatasetSpec | None = None
    tasks: tuple[ResolvedTask, ...] = ()
    summary: ModelSummary | None = None
    problem: str | None = "no preset loaded"
    problem_path: str | None = None


def _spec(draft: dict[str, Any]) -> tuple[DatasetSpec | None, MTLError | None]:
    data = draft.get("data") or {}
    seed = (draft.get("training") or {}).get("seed", 0)
    try:
        # Validate the data section alone, so a typo in a layer still shows the dataset.
        return load_dataset(data.get("dataset"), dict(data.get("params") or {}),
                            int(seed) if isinstance(seed, int) else 0).spec, None
    except MTLError as exc:
        return None, exc


def check_config(draft: dict[str, Any]) -> Check:
    if not draft:
        return Check()
    spec, data_error = _spec(draft)
    try:
        config = config_from_dict(draft)
    except ConfigError as exc:
        return Check(spec=spec, problem=str(exc), problem_path=exc.path)
    if data_error is not None or spec is None:
        exc = data_error
        return Check(config=None, spec=None, problem=str(exc),
                     problem_path=getattr(exc, "path", "data"))
    try:
        tasks = resolve_tasks(config, spec)
    except ConfigError as exc:
        return Check(config=None, spec=spec, problem=str(exc), problem_path=exc.path)
    summary = summarize(config, spec)
    if not summary.ok:
        return Check(config=None, spec=spec, tasks=tasks, summary=summary,
                     problem=summary.error, problem_path=summary.error_path)
    device = config.training.device
    if device not in available_devices():
        return Check(config=None, spec=spec, tasks=tasks, summary=summary,
                     problem=f"training.device: {device!r} is not available on this machine "
                             f"(choose one of: {', '.join(available_devices())})",
                     problem_path="training.device")
    return Check(config=config, spec=spec, tasks=tasks, summary=summary, problem=None)
