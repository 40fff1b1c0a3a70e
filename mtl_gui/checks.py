"""Everything the engine can say about a draft config before a run: valid? why not? what shapes?

Runs on every edit, so it only does what is cheap: validation, the (cached) dataset load and shape
inference without allocating weights. Only the engine's typed errors are caught here; they are
the user's mistakes and become the reason Start is disabled.

The shape inference and the device list need torch, which takes seconds to import: with
`model=False` (the window's first check, before torch is loaded) they are left out and the check
is `pending` (Start stays disabled, saying why) until the window's next check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mtl_engine import (
    DatasetSpec,
    ExperimentConfig,
    ResolvedTask,
    config_from_dict,
    load_dataset,
    resolve_tasks,
)
from mtl_engine.errors import ConfigError, MTLError

if TYPE_CHECKING:  # the model package imports torch: read only where a summary is made
    from mtl_engine import ModelSummary

PENDING = "checking the model's shapes (loading PyTorch)"


@dataclass(frozen=True)
class Check:
    config: ExperimentConfig | None = None
    spec: DatasetSpec | None = None
    tasks: tuple[ResolvedTask, ...] = ()
    summary: ModelSummary | None = None
    problem: str | None = "no preset loaded"
    problem_path: str | None = None
    pending: bool = False  # valid so far; the shapes and devices are not checked yet


def _spec(draft: dict[str, Any]) -> tuple[DatasetSpec | None, MTLError | None]:
    data = draft.get("data") or {}
    seed = (draft.get("training") or {}).get("seed", 0)
    try:
        # Validate the data section alone, so a typo in a layer still shows the dataset.
        return load_dataset(data.get("dataset"), dict(data.get("params") or {}),
                            int(seed) if isinstance(seed, int) else 0).spec, None
    except MTLError as exc:
        return None, exc


def check_config(draft: dict[str, Any], model: bool = True) -> Check:
    """The whole check of `draft`; with `model` False, all but the torch-bound part."""
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
    if not model:
        return Check(config=None, spec=spec, tasks=tasks, problem=PENDING, pending=True)
    from mtl_engine import available_devices, summarize

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
