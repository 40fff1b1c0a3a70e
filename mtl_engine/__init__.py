"""MTL Explorer's engine: build, train and export multi-task models. No Qt here, ever.

Its top-level names are the one front door: the GUI imports only these (plus the public modules
`mtl_engine.events` and `mtl_engine.errors`), and an import-linter contract in pyproject.toml
holds it to that. Everything else in the package is internal and may change. By job:

- config: `ExperimentConfig`, `config_from_dict`, `config_to_dict`, and the schemas of the fixed
  sections, `OPTIMIZER_PARAMS` (optimizer.*), `TRAINING_PARAMS` (training.*), `GRAD_MODES`
- presets: `load_preset`, `save_preset`, `builtin_presets`, `resolve_preset`, `DEFAULT_PRESET`,
  `PRESETS_DIR`
- registries: `registries()` (kind -> Registry), the registries themselves (`STRATEGIES`,
  `DATASETS`, `LAYERS`, `SHARING`, `MERGES`, `LOSSES`, `METRICS`, `OPTIMIZERS`, `SCHEDULES`;
  complete when got from here), `Registry`, `Entry`, `Param`, `PARAM_TYPES`, `validate_params`
- runs: `run(config, control, out_dir)` yields events; `run_in_process` (the same in a child
  process forked from a warm fork server, where `RUNS_IN_PROCESS`; `prestart_runs()` starts the
  server early); `RunControl`; `read_run(folder)`,
  `RunRecord`; `new_run_dir`; the run folder's `MODEL_FILE`, `EVENTS_FILE`, `INCOMPLETE_FILE`,
  `ERROR_FILE`; its curves tables `STEPS_FILE`, `EPOCHS_FILE` (`StepsTable`, `EpochsTable` over
  `StepSeries`, `EpochSeries`; `curves_csv_text`); its split, `SPLIT_FILE`, read back by
  `read_split(folder)` -> `SplitParts`; the best-epoch rule, `best_epoch(epochs)`
- data: `load_dataset`, `DatasetSpec` (its `inputs`: `InputSpec` name, shape, dtype, kind,
  vocab, padding_idx for a dataset with named inputs), and for an import dialog
  `importer_for(path)` (the importer entry, by suffix; its `preview` fact gives a
  `FilePreview`) and `preview_table`
- model: `summarize(config, spec) -> ModelSummary` (shapes and sizes, no weights allocated;
  rows are `LayerInfo`, a multi-input model's named `branches.<input>[i]` and `merge`)
- devices: `available_devices`, `resolve_device`, `resolve_tasks` -> `ResolvedTask`,
  `metrics_for(type, loss, outputs)` (the metrics a task may be judged by); `is_warm()`
  and `warm_up()` (torch and the model code imported ahead of need, for a window that paints
  first)
- export: `load_bundle(path)` (its `predict(x)` takes an array, or for a model over named inputs
  a dict {input name: rows}), `export_torchscript`, `export_program`, `copy_bundle`
- interop (docs/interop.md; each an optional extra, MissingExtraError naming the install line
  when absent, `missing_extra(name)` lists what is missing): `export_onnx(bundle, dest)`,
  `write_tensorboard(folder, logdir)` (a run or study folder), `TensorBoardLog` (live, from
  events), `TB_DIR`, `read_tensorboard(logdir)` -> RunRecords of a log dir trained elsewhere,
  `is_tensorboard_dir(folder)`, `log_mlflow(folder, store, experiment)`
- files: `atomic_write_text`, `atomic_write_bytes`
- toy: `toy`, the two-task 2-D problem of the toy playground (numpy in, numpy out)
- studies: `load_study`, `study_from_dict`, `save_study`, `dumps_study`, `expand_study` -> runs
  with stable keys, `study_plan(study, folder)` (which are done), `run_study(study, folder)`
  yields every run's events (each with its `run` key), `summarize_study(folder)` -> (run
  results, variant rows, tasks), `study_table_markdown` / `_latex` / `_text`, `delta_m`,
  `builtin_studies`, `Study`, `RunSpec`, `STUDY_FILE`, and the executors `LocalPool`,
  `InlineExecutor`, `RayExecutor`

Every one checks its arguments' types up front (ArgumentError, a TypeError, naming the argument).
`run` and `save_preset` take an ExperimentConfig or a plain config dict, validated first
(ConfigError naming the field). Writes fail as FileWriteError naming the path and the reason.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# Public name -> "submodule:attribute" ("submodule" alone: the module itself), by the groups of
# the docstring. Loaded on first use rather than imported here: `mtl-run` and `python -m
# mtl_engine` catch a Ctrl-C while torch loads only if loading it starts inside their code, and
# `mtl_engine.events` / `errors` stay cheap to import.
_LAZY: dict[str, str] = {
    # config
    "ExperimentConfig": "config:ExperimentConfig",
    "config_from_dict": "config:from_dict",
    "config_to_dict": "config:to_dict",
    "OPTIMIZER_PARAMS": "config:OPTIM_PARAMS",
    "TRAINING_PARAMS": "config:TRAIN_PARAMS",
    "GRAD_MODES": "config:GRAD_MODES",
    # presets
    "load_preset": "presets:load",
    "save_preset": "presets:save",
    "builtin_presets": "presets:builtin_presets",
    "resolve_preset": "presets:resolve",
    "DEFAULT_PRESET": "presets:DEFAULT_PRESET",
    "PRESETS_DIR": "presets:PRESETS_DIR",
    # registries (with `registries()` below)
    "STRATEGIES": "registry:STRATEGIES",
    "DATASETS": "registry:DATASETS",
    "LAYERS": "registry:LAYERS",
    "SHARING": "registry:SHARING",
    "MERGES": "registry:MERGES",
    "LOSSES": "registry:LOSSES",
    "METRICS": "registry:METRICS",
    "OPTIMIZERS": "registry:OPTIMIZERS",
    "SCHEDULES": "registry:SCHEDULES",
    "Registry": "registry:Registry",
    "Entry": "registry:Entry",
    "Param": "registry:Param",
    "PARAM_TYPES": "registry:PARAM_TYPES",
    "validate_params": "registry:validate_params",
    # runs (with `run()` below)
    "RunControl": "control:RunControl",
    "run_in_process": "process_run:run_in_process",
    "RUNS_IN_PROCESS": "process_run:AVAILABLE",
    "prestart_runs": "process_run:prestart",
    "read_run": "runs:read_run",
    "RunRecord": "runs:RunRecord",
    "new_run_dir": "runs:new_run_dir",
    "MODEL_FILE": "runs:MODEL_FILE",
    "EVENTS_FILE": "runs:EVENTS_FILE",
    "INCOMPLETE_FILE": "runs:INCOMPLETE_FILE",
    "ERROR_FILE": "runs:ERROR_FILE",
    "STEPS_FILE": "curves_table:STEPS_FILE",
    "EPOCHS_FILE": "curves_table:EPOCHS_FILE",
    "StepsTable": "curves_table:StepsTable",
    "EpochsTable": "curves_table:EpochsTable",
    "StepSeries": "curves_table:StepSeries",
    "EpochSeries": "curves_table:EpochSeries",
    "curves_csv_text": "curves_table:csv_text",
    "SPLIT_FILE": "splits:SPLIT_FILE",
    "SplitParts": "splits:SplitParts",
    "read_split": "splits:read_split",
    "best_epoch": "selection:best_epoch",
    # data
    "load_dataset": "build:load_dataset",
    "DatasetSpec": "data.base:DatasetSpec",
    "InputSpec": "data.base:InputSpec",
    "preview_table": "data.tabular:preview_table",
    "importer_for": "data.importing:importer_for",
    "FilePreview": "data.base:FilePreview",
    # model
    "summarize": "model:summarize",
    "ModelSummary": "model.summary:ModelSummary",
    "LayerInfo": "model.summary:LayerInfo",
    # devices
    "available_devices": "build:available_devices",
    "resolve_device": "build:resolve_device",
    "resolve_tasks": "build:resolve_tasks",
    "metrics_for": "metric_choice:metrics_for",
    "is_warm": "warm:is_warm",
    "warm_up": "warm:warm_up",
    "ResolvedTask": "build:ResolvedTask",
    # export
    "load_bundle": "export:load_bundle",
    "export_torchscript": "export:export_torchscript",
    "export_program": "export:export_program",
    "copy_bundle": "export:copy_bundle",
    # interop (optional extras: onnx, tensorboard, mlflow)
    "export_onnx": "onnx_export:export_onnx",
    "write_tensorboard": "tensorboard_log:write_tensorboard",
    "TensorBoardLog": "tensorboard_log:TensorBoardLog",
    "TB_DIR": "tensorboard_log:TB_DIR",
    "read_tensorboard": "tensorboard_import:read_tensorboard",
    "is_tensorboard_dir": "tensorboard_import:is_tensorboard_dir",
    "log_mlflow": "mlflow_log:log_mlflow",
    "MissingExtraError": "extras:MissingExtraError",
    "missing_extra": "extras:missing",
    # files
    "atomic_write_text": "fileio:atomic_write_text",
    "atomic_write_bytes": "fileio:atomic_write_bytes",
    # toy
    "toy": "toy2d",
    # studies
    "load_study": "study.spec:load_study",
    "study_from_dict": "study.spec:study_from_dict",
    "save_study": "study.spec:save_study",
    "dumps_study": "study.spec:dumps_study",
    "study_plan": "study.runner:plan",
    "study_table_markdown": "study.report:markdown",
    "study_table_latex": "study.report:latex",
    "study_table_text": "study.report:text_table",
    "expand_study": "study.expand:expand",
    "run_study": "study.runner:run_study",
    "summarize_study": "study.runner:summarize_folder",
    "delta_m": "study.summary:delta_m",
    "builtin_studies": "study.cli:builtin_studies",
    "Study": "study.spec:Study",
    "RunSpec": "study.expand:RunSpec",
    "STUDY_FILE": "study.runner:STUDY_FILE",
    "LocalPool": "study.executors:LocalPool",
    "InlineExecutor": "study.executors:InlineExecutor",
    "RayExecutor": "study.ray_executor:RayExecutor",
}

__all__ = ["registries", "run", *_LAZY]


def __getattr__(name: str) -> Any:
    # Other names (submodules being imported, probes like __wrapped__ from inspect or shiboken)
    # must fail fast: importing here for them recurses through the import system.
    where = _LAZY.get(name)
    if where is None:
        raise AttributeError(f"module 'mtl_engine' has no attribute {name!r}")
    module_name, _, attribute = where.partition(":")
    module = importlib.import_module(f"{__name__}.{module_name}")
    value = getattr(module, attribute) if attribute else module
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


def registries() -> dict[str, Any]:
    """Kind ("strategies", "datasets", "layers", ...) -> its Registry, each complete: names,
    summaries, parameter schemas and facts are served from the shipped catalogue
    (mtl_engine/catalogue.py) without importing torch, until an entry's object is needed."""
    from .registry import ALL

    return dict(ALL)


def run(config: Any, control: Any = None, out_dir: Any = None, *,
        overwrite: bool = False, key: str = "") -> Any:
    """`training.run` with its arguments checked now, not at the first event: a config dict is
    validated into an ExperimentConfig (ConfigError naming the field), a wrong type is an
    ArgumentError naming the argument. `key` (a study's run key) is stamped on every event."""
    from .args import run_args
    from .training import run as _run

    cfg = run_args("run", config, control, out_dir, overwrite, key)
    return _run(cfg, control, out_dir, overwrite=overwrite, key=key)
