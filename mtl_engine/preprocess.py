"""Preprocessing that is part of the model: fitted on the training rows, saved in the bundle.

Three steps, each on by default (``data.preprocess`` in the config turns them off):

- impute: a missing input (NaN) becomes that feature's mean over the training rows;
- inputs: each input feature is standardised, (x - mean) / std, with the training rows' mean and
  standard deviation (missing cells left out; a constant feature is only centred);
- targets: each regression target is standardised the same way, so its loss trains on a scale of
  about 1 whatever its units; predictions and the regression metrics (mse, mae) are turned back
  into the target's own units, and R^2 is unchanged by construction. A regression task with k
  values per row (targets (N, k)) is standardised column by column. A task whose loss needs the
  target's own values (its LOSSES entry declares ``scalable_target=False``: poisson counts) is
  left unscaled.

A loader that prepares its own data says so in ``Dataset.prepared`` ("inputs", "targets"), and
``Dataset.raw_features`` names inputs to leave unscaled (one-hot indicators, an embedded column's
level index): those are never scaled twice. A missing level index is imputed as 0, the index an
embedded column keeps for missing and unseen levels. `Preprocessing` is plain numbers, so a
bundle stores it without pickled code, and the same float32 operations (`apply_inputs`,
`to_raw`) run in training, in ``LoadedModel.predict`` and inside the TorchScript / torch.export
modules (`RawRows`): every path predicts the same raw rows alike.

A dataset with named inputs (issue 15) is preprocessed input by input: each float input
(features, images) is imputed and standardised on its own (`Preprocessing.named`, one entry per
float input; `data.preprocess.raw_columns` may name a whole input to leave it raw); integer ids
and tokens are never touched.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch

from .errors import BundleError, ConfigError, short
from .registry import LOSSES

STEPS = ("inputs", "impute", "targets")


@dataclass(frozen=True)
class Preprocessing:
    """Fitted preprocessing: per flattened input feature, the value a missing cell takes (`fill`,
    raw units; None when nothing is imputed) and the shift and scale (`mean`, `std`; 0 and 1 for a
    feature left raw); per regression task (the dataset's name) its target's (mean, std): two
    floats for a one-value task, two k-tuples (one entry per column) for a k-value one."""

    input_shape: tuple[int, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    fill: tuple[float, ...] | None = None
    targets: Mapping[str, tuple[Any, Any]] = field(default_factory=dict)
    # named inputs: each float input's own preprocessing (its targets empty); ids are absent,
    # never touched. Empty for a one-input dataset (the fields above are its input's).
    named: Mapping[str, Preprocessing] = field(default_factory=dict)

    @classmethod
    def identity(cls, input_shape: Sequence[int]) -> Preprocessing:
        n = int(np.prod(input_shape)) if len(input_shape) else 1
        return cls(tuple(int(s) for s in input_shape), (0.0,) * n, (1.0,) * n)

    @property
    def scales_inputs(self) -> bool:
        if self.named:
            return any(p.scales_inputs for p in self.named.values())
        return any(m != 0.0 for m in self.mean) or any(s != 1.0 for s in self.std)

    # ------------------------------------------------------------------ applying

    def input_buffers(self, device: torch.device | str = "cpu"
                      ) -> tuple[torch.Tensor | None, torch.Tensor, torch.Tensor]:
        """(fill or None, mean, std) as float32 tensors of the input's shape."""
        def buf(values: Sequence[float]) -> torch.Tensor:
            return torch.tensor(values, dtype=torch.float32, device=device).reshape(
                self.input_shape)
        return (buf(self.fill) if self.fill is not None else None), buf(self.mean), buf(self.std)

    def apply_inputs(self, x: Any) -> Any:
        """Raw input rows (n, *input_shape), NaN for missing, to what the network takes; a dict
        of named inputs input by input (ids as they are)."""
        if isinstance(x, dict):
            return {k: self.named[k].apply_inputs(v) if k in self.named else v
                    for k, v in x.items()}
        if self.fill is None and not self.scales_inputs:
            return x.to(torch.float32)  # images, prepared data: no copy of a large split
        fill, mean, std = self.input_buffers(x.device)
        return apply_inputs(x.to(torch.float32), fill, mean, std)

    def scale_target(self, source: str, y: torch.Tensor) -> torch.Tensor:
        """A regression target in its own units to the standardised units the loss sees."""
        if source not in self.targets:
            return y
        m, s = self.targets[source]
        if isinstance(m, tuple):  # one (mean, std) per column of an (N, k) target
            m = torch.tensor(m, dtype=y.dtype, device=y.device)
            s = torch.tensor(s, dtype=y.dtype, device=y.device)
        return (y - m) / s

    def to_raw(self, source: str, pred: torch.Tensor) -> torch.Tensor:
        """A regression output (or standardised target) back in the target's own units."""
        if source not in self.targets:
            return pred
        m, s = self.targets[source]
        return to_raw(pred, torch.tensor(s, dtype=pred.dtype, device=pred.device),
                      torch.tensor(m, dtype=pred.dtype, device=pred.device))

    # ------------------------------------------------------------------ plain data

    def to_dict(self) -> dict[str, Any]:
        out = {"input_shape": list(self.input_shape), "mean": list(self.mean),
               "std": list(self.std), "fill": None if self.fill is None else list(self.fill),
               "targets": {k: [_plain(m), _plain(s)] for k, (m, s) in self.targets.items()}}
        if self.named:
            out["inputs"] = {k: p.to_dict() for k, p in self.named.items()}
        return out

    @classmethod
    def from_dict(cls, raw: Any, where: str, input_shape: Sequence[int],
                  inputs: Sequence[Any] = ()) -> Preprocessing:
        """Read back what `to_dict` wrote; BundleError naming `where` if it does not fit.
        `inputs`: a dataset's named inputs (InputSpec), whose float ones each have an entry."""
        if not isinstance(raw, Mapping):
            raise BundleError(f"{where}: 'preprocessing' must be a mapping, got {short(raw)}")
        if inputs:
            return cls._from_named(raw, where, inputs)
        shape = tuple(int(s) for s in input_shape)
        n = int(np.prod(shape)) if shape else 1

        def numbers(key: str, optional: bool = False) -> tuple[float, ...] | None:
            v = raw.get(key)
            if v is None and optional:
                return None
            if (not isinstance(v, (list, tuple)) or len(v) != n
                    or not all(isinstance(e, (int, float)) for e in v)):
                raise BundleError(f"{where}: preprocessing.{key} must be {n} numbers (one per "
                                  f"input feature), got {short(v)}")
            return tuple(float(e) for e in v)

        stored = raw.get("input_shape", list(shape))
        if not isinstance(stored, (list, tuple)) or tuple(stored) != shape:
            raise BundleError(f"{where}: preprocessing.input_shape {short(stored)} does not match "
                              f"the dataset declaration's {list(shape)}")
        mean, std, fill = numbers("mean"), numbers("std"), numbers("fill", optional=True)
        assert mean is not None and std is not None
        if not all(np.isfinite(std)) or min(std, default=1.0) <= 0:
            raise BundleError(f"{where}: preprocessing.std must be positive numbers")
        if not all(np.isfinite(mean)) or (fill is not None and not all(np.isfinite(fill))):
            raise BundleError(f"{where}: preprocessing.mean and fill must be finite numbers")
        targets_raw = raw.get("targets", {})
        if not isinstance(targets_raw, Mapping):
            raise BundleError(f"{where}: preprocessing.targets must be a mapping, got "
                              f"{short(targets_raw)}")
        targets: dict[str, tuple[Any, Any]] = {}
        for k, v in targets_raw.items():
            pair = _target_moments(v)
            if pair is None:
                raise BundleError(f"{where}: preprocessing.targets[{short(k)}] must be [mean, "
                                  f"std] with std > 0 (numbers, or equal-length lists of them "
                                  f"for a vector target), got {short(v)}")
            targets[str(k)] = pair
        return cls(shape, mean, std, fill, targets)

    @classmethod
    def _from_named(cls, raw: Mapping[str, Any], where: str, inputs: Sequence[Any]
                    ) -> Preprocessing:
        per = raw.get("inputs", {})  # absent when every input is ids
        if not isinstance(per, Mapping):
            raise BundleError(f"{where}: preprocessing.inputs must map each float input to its "
                              f"preprocessing, got {short(per)}")
        named = {}
        for i in inputs:
            if i.dtype != "float32":
                continue
            if i.name not in per:
                raise BundleError(f"{where}: preprocessing.inputs has no entry for input "
                                  f"{i.name!r}")
            named[i.name] = cls.from_dict(per[i.name], f"{where} (input {i.name!r})", i.shape)
        top = cls.from_dict({k: v for k, v in raw.items() if k != "inputs"}, where, ())
        return replace(top, named=named)


def _plain(v: Any) -> Any:
    return [float(e) for e in v] if isinstance(v, tuple) else float(v)


def _target_moments(v: Any) -> tuple[Any, Any] | None:
    """[mean, std] as to_dict wrote it (two numbers, or two equal-length lists of numbers);
    None when it is neither or a std is not positive."""
    if not isinstance(v, (list, tuple)) or len(v) != 2:
        return None
    m, s = v
    if all(isinstance(e, (int, float)) for e in v):
        return (float(m), float(s)) if s > 0 else None
    if (isinstance(m, (list, tuple)) and isinstance(s, (list, tuple)) and len(m) == len(s) > 0
            and all(isinstance(e, (int, float)) for e in (*m, *s)) and min(s) > 0):
        return tuple(float(e) for e in m), tuple(float(e) for e in s)
    return None


def apply_inputs(x: torch.Tensor, fill: torch.Tensor | None, mean: torch.Tensor,
                 std: torch.Tensor) -> torch.Tensor:
    """The one input transform training, predict and the exported modules all run."""
    if fill is not None:
        x = torch.where(torch.isnan(x), fill, x)
    return (x - mean) / std


def to_raw(pred: torch.Tensor, std: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
    return pred * std + mean


class RawRows(torch.nn.Module):
    """A model that takes raw rows and gives regression outputs in their own units: the fitted
    preprocessing as buffers around the network, and a log-link loss's output (poisson) turned
    into its mean. Outputs are a tuple in task order (what TorchScript and torch.export want)."""

    def __init__(self, model: torch.nn.Module, prep: Preprocessing, tasks: Sequence[Any]) -> None:
        """`tasks`: the resolved tasks (name, source, loss) in output order."""
        super().__init__()
        self.model = model
        self.names = tuple(t.name for t in tasks)
        # the same order as the run's metrics: the loss's link first, then the target's units
        self.log_link = tuple(i for i, t in enumerate(tasks)
                              if LOSSES.get(t.loss).meta.get("link", "identity") == "log")
        device = next(model.parameters()).device
        # named inputs: one _InputScale per float input (ids pass as they are)
        self.scales = torch.nn.ModuleDict({k: _InputScale(p, device)
                                           for k, p in prep.named.items()})
        fill, mean, std = prep.input_buffers(device)
        self.impute = fill is not None
        self.register_buffer("fill", fill if fill is not None else torch.zeros(()))
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)
        # each output turned back into its own units: (position, first entry in out_mean /
        # out_std, width: 0 for a one-value task's scalar, k for a k-value task's k columns)
        raw: list[tuple[int, int, int]] = []
        shift: list[float] = []
        scale: list[float] = []
        for i, t in enumerate(tasks):
            if t.source not in prep.targets:
                continue
            m, s = prep.targets[t.source]
            width = len(m) if isinstance(m, tuple) else 0
            raw.append((i, len(shift), width))
            shift += list(m) if width else [m]
            scale += list(s) if width else [s]
        self.raw_outputs = tuple(raw)
        self.register_buffer("out_mean", torch.tensor(shift, dtype=torch.float32, device=device))
        self.register_buffer("out_std", torch.tensor(scale, dtype=torch.float32, device=device))

    def forward(self, x: Any) -> tuple[torch.Tensor, ...]:
        if isinstance(x, dict):  # named inputs: {name: (B, *shape)}, ids int64
            x = {k: self.scales[k](v) if k in self.scales else v for k, v in x.items()}
        else:
            x = apply_inputs(x, self.fill if self.impute else None, self.mean, self.std)
        out = self.model(x)
        res = [out[n] for n in self.names]
        for i in self.log_link:
            res[i] = torch.exp(res[i])
        for i, j, width in self.raw_outputs:
            if width:
                res[i] = to_raw(res[i], self.out_std[j:j + width], self.out_mean[j:j + width])
            else:
                res[i] = to_raw(res[i], self.out_std[j], self.out_mean[j])
        return tuple(res)


class _InputScale(torch.nn.Module):
    """One float input's imputation and standardisation, as buffers."""

    def __init__(self, prep: Preprocessing, device: torch.device) -> None:
        super().__init__()
        fill, mean, std = prep.input_buffers(device)
        self.impute = fill is not None
        self.register_buffer("fill", fill if fill is not None else torch.zeros(()))
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return apply_inputs(x, self.fill if self.impute else None, self.mean, self.std)


# ---------------------------------------------------------------------- fitting


def _moments(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per column of a 2-d float64 array: mean and std of the present (non-NaN) cells, and
    whether the column has any present cell. An empty column gets mean 0 and std 1."""
    present = ~np.isnan(a)
    count = present.sum(axis=0)
    has = count > 0
    safe = np.where(present, a, 0.0)
    mean = np.divide(safe.sum(axis=0), count, out=np.zeros(a.shape[1]), where=has)
    dev = np.where(present, a - mean, 0.0)
    var = np.divide((dev * dev).sum(axis=0), count, out=np.zeros(a.shape[1]), where=has)
    std = np.sqrt(var)
    return mean, np.where(std > 0, std, 1.0), has


def fit_preprocessing(options: Any, ds: Any, tasks: Sequence[Any], train_idx: np.ndarray
                      ) -> Preprocessing:
    """Fit on the training rows `train_idx` of dataset `ds` for the resolved `tasks`, as the
    config's `data.preprocess` (`options`) and the dataset's own `prepared` facts allow."""
    prepared = frozenset(getattr(ds, "prepared", frozenset()))
    names = tuple(getattr(ds, "feature_names", ()))
    raw_features = set(getattr(ds, "raw_features", ()))
    shape = tuple(ds.spec.input_shape)
    # a loss that needs the target's own values (poisson counts) declares scalable_target=False
    regression = {t.source: t for t in tasks if t.type == "regression"
                  and LOSSES.get(t.loss).meta.get("scalable_target", True)}
    if ds.spec.multi_input:
        names = tuple(i.name for i in ds.spec.inputs)
    raw_columns = _check_raw_columns(options.raw_columns, names, tasks)
    raw_features |= {c for c in raw_columns if c in names}
    raw_targets = {t.source for t in tasks if t.name in raw_columns or t.source in raw_columns}
    targets = _fit_targets(options, ds, regression, raw_targets, prepared, train_idx)
    if ds.spec.multi_input:
        named = {i.name: _fit_one(options, np.asarray(ds.x[i.name]), tuple(i.shape), (),
                                  set(), prepared | ({"inputs"} if i.name in raw_features
                                                     else set()), train_idx, i.name)
                 for i in ds.spec.inputs if i.dtype == "float32"}
        return replace(Preprocessing.identity(()), targets=targets, named=named)
    one = _fit_one(options, np.asarray(ds.x), shape, names, raw_features, prepared, train_idx,
                   "", tuple(getattr(ds.spec, "input_columns", ())))
    return replace(one, targets=targets)


def _fit_one(options: Any, x: np.ndarray, shape: tuple[int, ...], names: Sequence[str],
             raw_features: set[str], prepared: frozenset[str], train_idx: np.ndarray,
             input_name: str, input_columns: Sequence[dict[str, Any]] = ()) -> Preprocessing:
    """One float input's imputation and scaling (`input_name`: its name, for a named input)."""
    n_features = int(np.prod(shape)) if shape else 1
    flat_all = x.reshape(x.shape[0], n_features)
    has_holes = bool(np.isnan(flat_all).any())
    if has_holes and not options.impute:
        col = int(np.flatnonzero(np.isnan(flat_all).any(axis=0))[0])
        label = short(names[col]) if col < len(names) else f"#{col}"
        if input_name:
            label = f"{input_name!r} (feature #{col})"
        raise ConfigError("data.preprocess.impute", f"is off but input {label} has missing "
                                                    "values; turn it on or fill them in the file")
    scale = options.inputs and "inputs" not in prepared
    mean = np.zeros(n_features)
    std = np.ones(n_features)
    fill = None
    if scale or (has_holes and options.impute):
        m, s, has = _moments(flat_all[train_idx].astype(np.float64))
        if options.impute:
            # an input never seen in training fills with 0; so does a level index (0: missing)
            indices = {c["name"] for c in input_columns if c["kind"] == "embedded"}
            fill = tuple(0.0 if i < len(names) and names[i] in indices else float(v)
                         for i, v in enumerate(m))
        if scale:
            keep = np.array([i < len(names) and names[i] in raw_features
                             for i in range(n_features)], dtype=bool)
            mean = np.where(keep, 0.0, m)
            std = np.where(keep | ~has, 1.0, s)
    return Preprocessing(shape, tuple(float(v) for v in mean), tuple(float(v) for v in std),
                         fill)


def _fit_targets(options: Any, ds: Any, regression: Mapping[str, Any], raw_targets: set[str],
                 prepared: frozenset[str], train_idx: np.ndarray
                 ) -> dict[str, tuple[Any, Any]]:
    targets: dict[str, tuple[Any, Any]] = {}
    if options.targets and "targets" not in prepared:
        for src in regression:
            if src in raw_targets:
                continue
            y = np.asarray(ds.targets[src], dtype=np.float64)[train_idx]
            if y.ndim == 2:  # k values per row: each column on its own scale
                m, s, has = _moments(y)
                # a column with no value in training keeps mean 0, std 1 (_moments')
                if has.any():
                    targets[src] = (tuple(float(v) for v in m), tuple(float(v) for v in s))
                continue
            m, s, has = _moments(y[:, None])
            if has[0]:
                targets[src] = (float(m[0]), float(s[0]))
    return targets


def _check_raw_columns(raw_columns: Sequence[str], names: Sequence[str], tasks: Sequence[Any]
                       ) -> set[str]:
    known = list(names) + [t.source for t in tasks if t.type == "regression"]
    for i, col in enumerate(raw_columns):
        path = f"data.preprocess.raw_columns[{i}]"
        if col in known or any(t.name == col and t.type == "regression" for t in tasks):
            continue
        other = next((t for t in tasks if col in (t.name, t.source)), None)
        if other is not None:
            raise ConfigError(path, f"{short(col)} is a {other.type} task; only inputs and "
                                    "regression targets are scaled")
        shown = ", ".join(map(repr, known[:12])) + (", ..." if len(known) > 12 else "")
        raise ConfigError(path, f"unknown column {short(col)} (inputs and regression targets: "
                                f"{shown or 'none with names'})")
    return set(raw_columns)
