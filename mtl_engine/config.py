"""The experiment schema: one immutable record for a whole experiment.

`from_dict` validates everything that can be checked without loading data (names against the
registries, types, ranges) and raises ConfigError naming the exact field path, e.g.
``tasks[1].head[0].out_features: must be a positive integer, got -3``. `to_dict` writes the
canonical form (every field, defaults filled in, except the few of _UNSET_UNWRITTEN, written only
when set), so ``from_dict(to_dict(c)) == c`` and a saved
preset reloads into exactly the same config. Checks that need the data (task targets, layer shapes)
happen in `mtl_engine.build.check`.

Layers are written flat: ``{type: linear, out_features: 64}``. Datasets, sharing schemes, strategies
and schedules keep their parameters under ``params``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .errors import ConfigError, UnknownNameError, short
from .registry import (
    DATASETS,
    LAYERS,
    LOSSES,
    MERGES,
    METRICS,
    OPTIMIZERS,
    SCHEDULES,
    SHARING,
    STRATEGIES,
    Param,
    Registry,
    validate_params,
)

TASK_TYPES = ("classification", "binary", "regression")
SEED_MAX = 2**32 - 1
DEVICES = ("auto", "cpu", "cuda", "mps")
GRAD_MODES = ("shared", "representation")
SELECT_MODES = ("last", "best")
DEFAULT_MERGE = "concat"


@dataclass(frozen=True)
class LayerSpec:
    type: str
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, **self.params}


@dataclass(frozen=True)
class Named:
    """A registry name with its validated parameters (dataset, sharing, strategy, schedule)."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BranchConfig:
    """The layers one named input goes through before the merge (config `branches:`)."""

    input: str  # the dataset's input name (InputSpec.name)
    layers: tuple[LayerSpec, ...] = ()


@dataclass(frozen=True)
class PreprocessConfig:
    """The model's own preprocessing (mtl_engine/preprocess.py), fitted on the training rows."""

    inputs: bool = True  # standardise each input feature
    impute: bool = True  # fill a missing input with its training mean
    targets: bool = True  # standardise each regression target (metrics stay in its units)
    raw_columns: tuple[str, ...] = ()  # inputs or regression targets to leave unscaled


@dataclass(frozen=True)
class DataConfig:
    dataset: str
    params: dict[str, Any] = field(default_factory=dict)
    val_fraction: float = 0.2
    test_fraction: float = 0.0  # 0: no test part (see session_setup.split_indices)
    stratify: str | None = None  # a classification/binary task's name: split keeps its classes
    preprocess: PreprocessConfig = field(default_factory=PreprocessConfig)


@dataclass(frozen=True)
class TaskConfig:
    name: str
    target: str | None = None  # the dataset's task this reads; None means the same as `name`
    type: str | None = None  # None: as the dataset declares; if given it must agree
    head: tuple[LayerSpec, ...] = ()
    loss: str | None = None  # None: the dataset's suggestion for this task
    metric: str | None = None  # the headline metric; None: the dataset's suggestion
    weight: float = 1.0  # static weight, used by the "static" strategy
    enabled: bool = True
    # "balanced": weight the loss by class frequency in the training rows (classification:
    # n / (C n_c); binary: pos_weight = n_neg / n_pos); "none": unweighted (task_losses.py)
    class_weight: str = "none"

    @property
    def source(self) -> str:
        return self.target or self.name


@dataclass(frozen=True)
class StrategyConfig:
    name: str = "equal"
    params: dict[str, Any] = field(default_factory=dict)
    grad_mode: str = "shared"  # where per-task gradients are taken: shared params or representation


@dataclass(frozen=True)
class OptimConfig:
    name: str = "adam"
    lr: float = 1e-3
    shared_lr: float | None = None  # None: same as lr
    task_lr: float | None = None  # None: same as lr
    weight_decay: float = 0.0
    clip_grad_norm: float | None = None
    l1: float = 0.0  # L1 penalty on shared parameters
    l2: float = 0.0  # L2 penalty on shared parameters
    params: dict[str, Any] = field(default_factory=dict)
    schedule: Named = field(default_factory=lambda: Named("constant"))


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 5
    batch_size: int = 128
    seed: int = 0
    device: str = "auto"
    log_every: int = 10
    max_steps_per_epoch: int | None = None
    diagnostics_every: int = 0  # gradient diagnostics every N steps; 0 = off
    select: str = "last"  # the epoch whose weights the run keeps: "last" or "best" (selection.py)
    patience: int | None = None  # stop after N epochs without a better validation score
    threads: int | None = None  # torch CPU threads; None ("auto"): the cores / runs at once


@dataclass(frozen=True)
class ExperimentConfig:
    data: DataConfig
    tasks: tuple[TaskConfig, ...]
    trunk: tuple[LayerSpec, ...] = ()
    # One branch per named input, merged into the one tensor the trunk reads (issue 15).
    # Empty: the model reads the dataset's one input directly (every model before it).
    branches: tuple[BranchConfig, ...] = ()
    merge: Named = field(default_factory=lambda: Named(DEFAULT_MERGE))
    sharing: Named = field(default_factory=lambda: Named("hard"))
    strategy: StrategyConfig = field(default_factory=StrategyConfig)
    optimizer: OptimConfig = field(default_factory=OptimConfig)
    training: TrainConfig = field(default_factory=TrainConfig)
    name: str = "untitled"
    description: str = ""

    @property
    def enabled_tasks(self) -> tuple[TaskConfig, ...]:
        return tuple(t for t in self.tasks if t.enabled)

    def replace(self, **changes: Any) -> ExperimentConfig:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)


# --------------------------------------------------------------------------- reading


_TOP = ("name", "description", "data", "branches", "merge", "trunk", "sharing", "tasks",
        "strategy", "optimizer", "training")


def from_dict(raw: Any) -> ExperimentConfig:
    """Validate a plain dict (as loaded from YAML) into an ExperimentConfig."""
    d = _mapping(raw, "", _TOP)
    if "data" not in d:
        raise ConfigError("data", "is required (which dataset to train on)")
    if "tasks" not in d:
        raise ConfigError("tasks", "is required (at least one task)")
    tasks = _tasks(d["tasks"])
    data = _data(d["data"])
    if data.stratify is not None and data.stratify not in [t.name for t in tasks]:
        raise UnknownNameError("task to stratify by", data.stratify, [t.name for t in tasks],
                               "data.stratify")
    return ExperimentConfig(
        name=_str(d.get("name", "untitled"), "name"),
        description=_str(d.get("description", ""), "description"),
        data=data,
        trunk=_layers(d.get("trunk", []), "trunk"),
        branches=_branches(d.get("branches")),
        merge=_merge(d.get("merge"), "branches" in d),
        sharing=_sharing(d.get("sharing", {"scheme": "hard"})),
        tasks=tasks,
        strategy=_strategy(d.get("strategy", {"name": "equal"})),
        optimizer=_optim(d.get("optimizer", {})),
        training=_training(d.get("training", {})),
    )


def _mapping(raw: Any, path: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ConfigError(path or "config", f"must be a mapping, got {_kind(raw)}")
    for key in raw:
        if key not in allowed:
            raise UnknownNameError("field", key, allowed, _join(path, str(key)))
    return dict(raw)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _kind(v: Any) -> str:
    return {list: "a list", str: f"the text {short(v)}", type(None): "nothing"}.get(type(v),
                                                                                  short(v))


def _str(v: Any, path: str) -> str:
    if not isinstance(v, str):
        raise ConfigError(path, f"must be text, got {short(v)}")
    return v


def _name(reg: Registry[Any], v: Any, path: str) -> str:
    if not isinstance(v, str):
        raise ConfigError(path, f"must be the name of a {reg.kind}, got {short(v)}")
    reg.get(v, path)
    return v


def _named(reg: Registry[Any], raw: Any, path: str, key: str) -> Named:
    d = _mapping(raw, path, (key, "params"))
    if key not in d:
        raise ConfigError(_join(path, key), f"is required (one of: {', '.join(reg.names())})")
    name = _name(reg, d[key], _join(path, key))
    params = _params(reg, name, d.get("params"), _join(path, "params"))
    return Named(name, params)


def _params(reg: Registry[Any], name: str, raw: Any, path: str) -> dict[str, Any]:
    if raw is not None and not isinstance(raw, Mapping):
        raise ConfigError(path, f"must be a mapping of parameters, got {_kind(raw)}")
    entry = reg.get(name)
    params = validate_params(entry.params, raw, path)
    for p in entry.params:  # nested layer lists (e.g. a private block per task)
        if p.type == "layers":
            layers = _layers(params[p.name], f"{path}.{p.name}")
            params[p.name] = [spec.to_dict() for spec in layers]
    return params


def _layers(raw: Any, path: str) -> tuple[LayerSpec, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ConfigError(path, f"must be a list of layers, got {_kind(raw)}")
    out = []
    for i, item in enumerate(raw):
        p = f"{path}[{i}]"
        if isinstance(item, str):
            item = {"type": item}
        if not isinstance(item, Mapping):
            raise ConfigError(p, f"must be a layer like {{type: linear, out_features: 64}}, got "
                                 f"{_kind(item)}")
        if "type" not in item:
            raise ConfigError(f"{p}.type", f"is required (one of: {', '.join(LAYERS.names())})")
        kind = _name(LAYERS, item["type"], f"{p}.type")
        rest = {k: v for k, v in item.items() if k != "type"}
        out.append(LayerSpec(kind, validate_params(LAYERS.get(kind).params, rest, p)))
    return tuple(out)


def _branches(raw: Any) -> tuple[BranchConfig, ...]:
    """`branches:` maps each input name to its layer list (the same layer specs as `trunk:`).
    Which names the dataset has is checked with the data (model/branches.py)."""
    if raw is None:
        return ()
    if not isinstance(raw, Mapping) or not raw:
        raise ConfigError("branches", f"must map each input name to its list of layers, like "
                                      f"{{text: [{{type: embedding, dim: 32}}], features: []}}; "
                                      f"got {_kind(raw)}")
    out = []
    for name, layers in raw.items():
        if not isinstance(name, str) or not name.strip():
            raise ConfigError("branches", f"input names must be text, got {short(name)}")
        out.append(BranchConfig(name, _layers(layers, f"branches.{name}")))
    return tuple(out)


def _merge(raw: Any, has_branches: bool) -> Named:
    """`merge: {type: concat, params: {...}}`; only meaningful with `branches:`."""
    if raw is None:
        return Named(DEFAULT_MERGE)  # concat: no parameters
    if not has_branches:
        raise ConfigError("merge", "merges the branches of a multi-input model; add "
                                   "`branches:` (one layer list per input) or remove `merge:`")
    return _named(MERGES, raw, "merge", "type")


def _data(raw: Any) -> DataConfig:
    d = _mapping(raw, "data", ("dataset", "params", "val_fraction", "test_fraction",
                               "stratify", "preprocess"))
    if "dataset" not in d:
        raise ConfigError("data.dataset", f"is required (one of: {', '.join(DATASETS.names())})")
    name = _name(DATASETS, d["dataset"], "data.dataset")
    vf = Param("val_fraction", "float", 0.2, low=0.0, high=0.9).check(
        d.get("val_fraction", 0.2), "data.val_fraction")
    tf = Param("test_fraction", "float", 0.0, low=0.0, high=0.9).check(
        d.get("test_fraction", 0.0), "data.test_fraction")
    if vf + tf >= 1.0:
        raise ConfigError("data.test_fraction", f"val_fraction + test_fraction must leave "
                                                f"training rows, got {vf:g} + {tf:g}")
    stratify = d.get("stratify")
    if stratify is not None:
        stratify = _str(stratify, "data.stratify")
    return DataConfig(name, _params(DATASETS, name, d.get("params"), "data.params"), vf, tf,
                      stratify, _preprocess(d.get("preprocess")))


def _preprocess(raw: Any) -> PreprocessConfig:
    path = "data.preprocess"
    d = _mapping(raw, path, ("inputs", "impute", "targets", "raw_columns"))
    flags = {k: Param(k, "bool", True).check(d.get(k, True), f"{path}.{k}")
             for k in ("inputs", "impute", "targets")}
    cols = d.get("raw_columns", [])
    if not isinstance(cols, list):
        raise ConfigError(f"{path}.raw_columns", f"must be a list of column names, got "
                                                 f"{_kind(cols)}")
    names = tuple(_str(c, f"{path}.raw_columns[{i}]") for i, c in enumerate(cols))
    return PreprocessConfig(**flags, raw_columns=names)


def _sharing(raw: Any) -> Named:
    return _named(SHARING, raw, "sharing", "scheme")


_TASK_KEYS = ("name", "target", "type", "head", "loss", "metric", "weight", "enabled",
              "class_weight")
CLASS_WEIGHTS = ("none", "balanced")


def _tasks(raw: Any) -> tuple[TaskConfig, ...]:
    if not isinstance(raw, list) or not raw:
        raise ConfigError("tasks", f"must be a non-empty list of tasks, got {_kind(raw)}")
    tasks = []
    for i, item in enumerate(raw):
        path = f"tasks[{i}]"
        fields = _mapping(item, path, _TASK_KEYS)
        if "name" not in fields:
            raise ConfigError(f"{path}.name", "is required")
        name = _str(fields["name"], f"{path}.name")
        if not name.strip():
            raise ConfigError(f"{path}.name", "must not be empty")
        ttype = fields.get("type")
        if ttype is not None and ttype not in TASK_TYPES:
            raise UnknownNameError("task type", ttype, TASK_TYPES, f"{path}.type")
        target = fields.get("target")
        if target is not None:
            target = _str(target, f"{path}.target")
        loss = fields.get("loss")
        if loss is not None:
            _name(LOSSES, loss, f"{path}.loss")
        metric = fields.get("metric")
        if metric is not None:
            _name(METRICS, metric, f"{path}.metric")
        weight = Param("weight", "float", 1.0, low=0.0).check(fields.get("weight", 1.0),
                                                             f"{path}.weight")
        enabled = Param("enabled", "bool", True).check(fields.get("enabled", True),
                                                       f"{path}.enabled")
        class_weight = Param("class_weight", "choice", "none", choices=CLASS_WEIGHTS).check(
            fields.get("class_weight", "none"), f"{path}.class_weight")
        if class_weight != "none" and ttype == "regression":
            raise ConfigError(f"{path}.class_weight", f"{class_weight!r} weights the classes of "
                              "a classification or binary task; this task is regression")
        head = _layers(fields.get("head", []), f"{path}.head")
        tasks.append(TaskConfig(name, target, ttype, head, loss, metric, weight, enabled,
                                class_weight))
    names = [t.name for t in tasks]
    for i, n in enumerate(names):
        if n in names[:i]:
            raise ConfigError(f"tasks[{i}].name", f"{short(n)} is used by two tasks; names must "
                                                  "differ")
    if not any(t.enabled for t in tasks):
        raise ConfigError("tasks", "at least one task must be enabled")
    return tuple(tasks)


def _strategy(raw: Any) -> StrategyConfig:
    d = _mapping(raw, "strategy", ("name", "params", "grad_mode"))
    if "name" not in d:
        raise ConfigError("strategy.name", f"is required (one of: {', '.join(STRATEGIES.names())})")
    name = _name(STRATEGIES, d["name"], "strategy.name")
    mode = Param("grad_mode", "choice", "shared", choices=GRAD_MODES).check(
        d.get("grad_mode", "shared"), "strategy.grad_mode")
    modes = STRATEGIES.get(name).meta["grad_modes"]  # None, or the modes a method allows
    if modes and mode not in modes:
        raise ConfigError("strategy.grad_mode", f"{name!r} works with grad_mode "
                          f"{' or '.join(repr(m) for m in modes)} only, got {mode!r}")
    return StrategyConfig(name, _params(STRATEGIES, name, d.get("params"), "strategy.params"), mode)


_OPT_SCHEMA = (
    Param("lr", "float", 1e-3, low=0.0),
    Param("shared_lr", "float", None, low=0.0, optional=True),
    Param("task_lr", "float", None, low=0.0, optional=True),
    Param("weight_decay", "float", 0.0, low=0.0),
    Param("clip_grad_norm", "float", None, low=0.0, optional=True),
    Param("l1", "float", 0.0, low=0.0),
    Param("l2", "float", 0.0, low=0.0),
)


def _optim(raw: Any) -> OptimConfig:
    keys = ("name", "params", "schedule") + tuple(p.name for p in _OPT_SCHEMA)
    d = _mapping(raw, "optimizer", keys)
    name = _name(OPTIMIZERS, d.get("name", "adam"), "optimizer.name")
    plain = {p.name: p.check(d.get(p.name, p.default), f"optimizer.{p.name}") for p in _OPT_SCHEMA}
    params = _params(OPTIMIZERS, name, d.get("params"), "optimizer.params")
    schedule = _named(SCHEDULES, d.get("schedule", {"name": "constant"}), "optimizer.schedule",
                      "name")
    return OptimConfig(name=name, params=params, schedule=schedule, **plain)


_TRAIN_SCHEMA = (
    Param("epochs", "int", 5, low=1),
    Param("batch_size", "int", 128, low=1),
    # torch and numpy take seeds in [0, 2**32 - 1]; beyond that they fail with their own words.
    Param("seed", "int", 0, low=0, high=SEED_MAX),
    Param("device", "choice", "auto", choices=DEVICES),
    Param("log_every", "int", 10, low=1),
    Param("max_steps_per_epoch", "int", None, low=1, optional=True),
    Param("diagnostics_every", "int", 0, low=0),
    Param("select", "choice", "last", choices=SELECT_MODES,
          help="the epoch whose weights the run keeps: the last, or the best by validation "
               "score"),
    Param("patience", "int", None, low=1, optional=True,
          help="stop after this many epochs without a better validation score (off: never)"),
    Param("threads", "int", None, low=1, optional=True,
          help="torch CPU threads of the run (auto: the machine's cores divided by the runs "
               "training at once)"),
)
# Written by to_dict only when set, so configs and presets saved before they existed keep
# their text (presets are canonical: a loaded preset dumps to the same text).
_UNSET_UNWRITTEN = {"test_fraction": 0.0, "stratify": None, "select": "last", "patience": None,
                    "preprocess": {"inputs": True, "impute": True, "targets": True,
                                   "raw_columns": []},
                    "class_weight": "none", "threads": None}


def _training(raw: Any) -> TrainConfig:
    d = _mapping(raw, "training", tuple(p.name for p in _TRAIN_SCHEMA))
    if "threads" in d:
        d["threads"] = _threads(d["threads"])
    return TrainConfig(**{p.name: p.check(d.get(p.name, p.default), f"training.{p.name}")
                          for p in _TRAIN_SCHEMA})


def _threads(v: Any) -> int | None:
    """`auto` (or nothing) is None; otherwise a whole number of threads, at least 1."""
    if v is None or v == "auto":
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or (
            isinstance(v, float) and not v.is_integer()) or v < 1:
        raise ConfigError("training.threads", f"must be auto or a positive integer, got "
                                              f"{short(v)}")
    return int(v)


TRAIN_PARAMS = _TRAIN_SCHEMA
OPTIM_PARAMS = _OPT_SCHEMA


# --------------------------------------------------------------------------- writing


def to_dict(c: ExperimentConfig) -> dict[str, Any]:
    """The canonical plain-data form: every field, in a fixed order, ready for YAML or JSON."""
    opt = c.optimizer
    return {
        "name": c.name,
        "description": c.description,
        "data": _set({"dataset": c.data.dataset, "params": dict(c.data.params),
                      "val_fraction": c.data.val_fraction, "test_fraction": c.data.test_fraction,
                      "stratify": c.data.stratify,
                      "preprocess": {"inputs": c.data.preprocess.inputs,
                                     "impute": c.data.preprocess.impute,
                                     "targets": c.data.preprocess.targets,
                                     "raw_columns": list(c.data.preprocess.raw_columns)}}),
        **_branches_dict(c),
        "trunk": [layer.to_dict() for layer in c.trunk],
        "sharing": {"scheme": c.sharing.name, "params": dict(c.sharing.params)},
        "tasks": [
            _set({"name": t.name, "target": t.target, "type": t.type,
                  "head": [layer.to_dict() for layer in t.head], "loss": t.loss,
                  "metric": t.metric, "weight": t.weight, "enabled": t.enabled,
                  "class_weight": t.class_weight})
            for t in c.tasks
        ],
        "strategy": {"name": c.strategy.name, "params": dict(c.strategy.params),
                     "grad_mode": c.strategy.grad_mode},
        "optimizer": {
            "name": opt.name, **{p.name: getattr(opt, p.name) for p in _OPT_SCHEMA},
            "params": dict(opt.params),
            "schedule": {"name": opt.schedule.name, "params": dict(opt.schedule.params)},
        },
        "training": _set({p.name: getattr(c.training, p.name) for p in _TRAIN_SCHEMA}),
    }


def _branches_dict(c: ExperimentConfig) -> dict[str, Any]:
    """`branches` and `merge`, written only for a multi-input model (a one-input config and
    preset keep their text)."""
    if not c.branches:
        return {}
    return {"branches": {b.input: [layer.to_dict() for layer in b.layers] for b in c.branches},
            "merge": {"type": c.merge.name, "params": dict(c.merge.params)}}


def _set(d: dict[str, Any]) -> dict[str, Any]:
    """`d` without the fields of _UNSET_UNWRITTEN that hold their default."""
    return {k: v for k, v in d.items()
            if k not in _UNSET_UNWRITTEN or v != _UNSET_UNWRITTEN[k]}
