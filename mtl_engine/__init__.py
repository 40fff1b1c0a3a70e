"""MTL Explorer's engine: build, train and export multi-task models. No Qt here, ever.

The public API the GUI and the command line use:

- presets: `load_preset`, `save_preset`, `builtin_presets`
- config: `ExperimentConfig`, `config_from_dict`, `config_to_dict`
- registries: `registries()` (kind -> Registry), each entry with summary, paper and Param schema
- runs: `run(config, control, out_dir)` yields events; `RunControl`; `read_run(folder)`
- models: `load_bundle(path)`, `export_torchscript(bundle, dest)`, `export_program(bundle, dest)`

Every one checks its arguments' types up front (ArgumentError, a TypeError, naming the argument).
`run` and `save_preset` take an ExperimentConfig or a plain config dict, validated first
(ConfigError naming the field). Writes fail as FileWriteError naming the path and the reason.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = [
    "ExperimentConfig", "RunControl", "builtin_presets", "config_from_dict", "config_to_dict",
    "export_program", "export_torchscript", "load_bundle", "load_preset", "read_run", "registries",
    "resolve_device", "run", "save_preset",
]


def __getattr__(name: str) -> Any:
    # Lazy, so `import mtl_engine` stays cheap and torch loads only when something needs it.
    # Other names (submodules being imported, probes like __wrapped__ from inspect or shiboken)
    # must fail fast: importing here for them recurses through the import system.
    if name not in __all__:
        raise AttributeError(f"module 'mtl_engine' has no attribute {name!r}")
    from . import build, config, control, export, presets, runs

    table = {
        "ExperimentConfig": config.ExperimentConfig,
        "config_from_dict": config.from_dict,
        "config_to_dict": config.to_dict,
        "RunControl": control.RunControl,
        "builtin_presets": presets.builtin_presets,
        "load_preset": presets.load,
        "save_preset": presets.save,
        "run": _run,
        "read_run": runs.read_run,
        "load_bundle": export.load_bundle,
        "export_torchscript": export.export_torchscript,
        "export_program": export.export_program,
        "registries": _registries,
        "resolve_device": build.resolve_device,
    }
    if name in table:
        return table[name]
    raise AttributeError(f"module 'mtl_engine' has no attribute {name!r}")


def _registries() -> dict[str, Any]:
    from . import catalog
    from .registry import ALL

    catalog.load_all()
    return dict(ALL)


def _run(config: Any, control: Any = None, out_dir: Any = None, *,
         overwrite: bool = False) -> Any:
    """`training.run` with its arguments checked now, not at the first event: a config dict is
    validated into an ExperimentConfig (ConfigError naming the field), a wrong type is an
    ArgumentError naming the argument."""
    from .args import as_config, check_path
    from .control import RunControl
    from .errors import ArgumentError
    from .training import run

    cfg = as_config(config, "run")
    if control is not None and not isinstance(control, RunControl):
        raise ArgumentError("run", "control", "a RunControl or None", control)
    if out_dir is not None:
        check_path(out_dir, "run", "out_dir")
    if not isinstance(overwrite, bool):
        raise ArgumentError("run", "overwrite", "True or False", overwrite)
    return run(cfg, control, out_dir, overwrite=overwrite)
