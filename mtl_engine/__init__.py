"""MTL Explorer's engine: build, train and export multi-task models. No Qt here, ever.

The public API the GUI and the command line use:

- presets: `load_preset`, `save_preset`, `builtin_presets`
- config: `ExperimentConfig`, `config_from_dict`, `config_to_dict`
- registries: `registries()` (kind -> Registry), each entry with summary, paper and Param schema
- runs: `run(config, control, out_dir)` yields events; `RunControl`; `read_run(folder)`
- models: `load_bundle(path)`, `export_torchscript(bundle, dest)`
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = [
    "ExperimentConfig", "RunControl", "builtin_presets", "config_from_dict", "config_to_dict",
    "export_torchscript", "load_bundle", "load_preset", "read_run", "registries", "run",
    "save_preset",
]


def __getattr__(name: str) -> Any:
    # Lazy, so `import mtl_engine` stays cheap and torch loads only when something needs it.
    # Other names (submodules being imported, probes like __wrapped__ from inspect or shiboken)
    # must fail fast: importing here for them recurses through the import system.
    if name not in __all__:
        raise AttributeError(f"module 'mtl_engine' has no attribute {name!r}")
    from . import config, control, export, presets, runs, training

    table = {
        "ExperimentConfig": config.ExperimentConfig,
        "config_from_dict": config.from_dict,
        "config_to_dict": config.to_dict,
        "RunControl": control.RunControl,
        "builtin_presets": presets.builtin_presets,
        "load_preset": presets.load,
        "save_preset": presets.save,
        "run": training.run,
        "read_run": runs.read_run,
        "load_bundle": export.load_bundle,
        "export_torchscript": export.export_torchscript,
        "registries": _registries,
    }
    if name in table:
        return table[name]
    raise AttributeError(f"module 'mtl_engine' has no attribute {name!r}")


def _registries() -> dict[str, Any]:
    from . import catalog
    from .registry import ALL

    catalog.load_all()
    return dict(ALL)
