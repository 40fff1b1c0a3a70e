"""Model bundles (save, reload, predict) and a TorchScript export for use outside the app.

A bundle is one file written by ``torch.save`` holding only tensors and plain data: the weights,
the config, the dataset's declaration (input shape, tasks), the resolved tasks and the final
metrics, and the preprocessing fitted on the training rows (plain numbers, see preprocess.py). It
is read with ``torch.load(weights_only=True)``, which refuses anything that would run code from the
file. `LoadedModel.predict` and both exported files take raw rows: they impute and standardise the
inputs as the run did and give regression outputs in the target's own units.

A model over named inputs (issue 15) records them in the declaration (`spec.inputs`: name, shape,
dtype, kind, vocab, padding_idx); `predict` and both exported files then take a dict of named
inputs, int64 ids staying int64 (bundle_inputs.py checks what `predict` is given).
"""

from __future__ import annotations

import io
import os
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .args import check_path
from .build import ResolvedTask
from .bundle_checks import (
    FORMAT,
    VERSION,
    bundle_config,
    bundle_spec,
    bundle_tasks,
    check_device,
    first_line,
    load_weights,
    read_payload,
)
from .bundle_inputs import check_named, example_inputs, identity_preprocessing
from .config import ExperimentConfig
from .data.base import DatasetSpec
from .errors import BundleError, MTLError
from .fileio import atomic_copy, atomic_write_bytes
from .preprocess import Preprocessing, RawRows


def _serialised(save: Any, obj: Any) -> bytes:
    """Bytes of a torch writer's output. Written to memory first and then to disk through fileio:
    torch's writers turn a failing file write (a full disk) into a RuntimeError without the
    errno, which would lose the reason and could leave a partial file."""
    buf = io.BytesIO()
    save(obj, buf)
    return buf.getvalue()


def save_bundle(path: str | os.PathLike[str], setup: Any, metrics: dict[str, dict[str, float]],
                status: str = "completed") -> Path:
    spec: DatasetSpec = setup.dataset.spec
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "status": str(status),  # plain text: a RunStatus member would not load weights-only
        "config": setup.config.to_dict(),
        "spec": {"name": spec.name, "input_shape": list(spec.input_shape),
                 "n_samples": spec.n_samples, "description": spec.description,
                 "tasks": [asdict(t) for t in spec.tasks],
                 # how a table's raw cells become features (one-hot levels, embedded level
                 # indices): plain data
                 "input_columns": [_plain_column(c) for c in spec.input_columns],
                 # named, typed inputs (empty: the one float input of input_shape)
                 "inputs": [asdict(i) | {"shape": list(i.shape)} for i in spec.inputs]},
        "tasks": [asdict(t) for t in setup.tasks],
        "metrics": metrics,
        "strategy_state": setup.strategy.state(),
        "preprocessing": _preprocessing(setup).to_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in setup.model.state_dict().items()},
    }
    path = Path(path)
    atomic_write_bytes(path, _serialised(torch.save, payload))
    return path


def _plain_column(column: dict[str, Any]) -> dict[str, Any]:
    out = dict(column)
    if "levels" in out:
        out["levels"] = [str(level) for level in out["levels"]]
    return out


def _preprocessing(setup: Any) -> Preprocessing:
    prep = getattr(setup, "preprocessing", None)
    return prep if prep is not None else identity_preprocessing(setup.dataset.spec)


@dataclass
class LoadedModel:
    model: torch.nn.Module
    config: ExperimentConfig
    spec: DatasetSpec
    tasks: tuple[ResolvedTask, ...]
    metrics: dict[str, dict[str, float]]
    status: str
    preprocessing: Preprocessing | None = None  # None: a bundle from before it was saved

    def raw_rows(self) -> RawRows:
        """The network with the bundle's preprocessing around it: raw rows in, a tuple of
        outputs in task order out (regression in the target's own units, a poisson task's
        output as its mean count)."""
        prep = self.preprocessing or identity_preprocessing(self.spec)
        return RawRows(self.model, prep, self.tasks).eval()

    def encode(self, rows: Any) -> np.ndarray:
        """A table's raw rows as the model's input features, encoded as the run's file was: each
        row a mapping by column name (a csv.DictReader row; other keys are ignored) or a
        sequence in input-column order, cells as text or numbers, None or "" for missing; text
        levels one-hot (an unseen level goes to the column's "(other)" feature, or none), an
        embedded column's level as its index (an unseen or missing one as 0).
        DataError naming the column and row for a cell that is not what the column holds."""
        if not self.spec.input_columns:
            raise BundleError(f"{self.spec.name}: the model's inputs are arrays, not table "
                              "columns: pass an array shaped like the dataset's inputs")
        from .data.tabular import encode_rows

        return encode_rows(list(rows), self.spec.input_columns, "predict")

    def predict(self, x: Any, batch_size: int = 1024) -> dict[str, np.ndarray]:
        """Outputs per task for raw rows, in the data's own units, NaN for a missing input: the
        bundle imputes and standardises them as the run did. `x` is an array shaped like the
        dataset's inputs or, for a model trained on a table, the table's raw rows (mappings by
        column name or sequences of cells, text categories included: see `encode`). Regression
        outputs come back in the target's own units (a poisson task's as the mean count), so
        they score like the run's validation metrics; classification and binary give logits.

        A model over named inputs takes a dict {input name: array or nested list}, one entry per
        input (`spec.inputs`), each (n, *shape): float inputs as numbers, ids and tokens as
        integers in [0, vocab) (kept int64). A missing or unknown input, a wrong shape or dtype,
        or an id out of range is a BundleError naming the input."""
        if self.spec.multi_input:
            return self._predict_named(check_named(self.spec, x), batch_size)
        if self.spec.input_columns and not _numeric_array(x):
            x = self.encode(x)
        x = np.asarray(x, dtype=np.float32)
        want = tuple(self.spec.input_shape)
        if x.shape[1:] != want:
            raise BundleError(f"inputs must have shape (n, {', '.join(map(str, want))}), "
                              f"got {x.shape}")
        device = next(self.model.parameters()).device
        net = self.raw_rows()
        outs: dict[str, list[np.ndarray]] = {t.name: [] for t in self.tasks}
        with torch.no_grad():
            for i in range(0, len(x), batch_size):
                res = net(torch.from_numpy(x[i:i + batch_size]).to(device))
                for name, v in zip(net.names, res):
                    outs[name].append(v.cpu().numpy())
        return {k: np.concatenate(v) if v else np.zeros((0,)) for k, v in outs.items()}

    def _predict_named(self, x: dict[str, np.ndarray], batch_size: int
                       ) -> dict[str, np.ndarray]:
        device = next(self.model.parameters()).device
        net = self.raw_rows()
        n = len(next(iter(x.values())))
        outs: dict[str, list[np.ndarray]] = {t.name: [] for t in self.tasks}
        with torch.no_grad():
            for i in range(0, n, batch_size):
                res = net({k: torch.from_numpy(v[i:i + batch_size]).to(device)
                           for k, v in x.items()})
                for name, v in zip(net.names, res):
                    outs[name].append(v.cpu().numpy())
        return {k: np.concatenate(v) if v else np.zeros((0,)) for k, v in outs.items()}


def _numeric_array(x: Any) -> bool:
    """An array (or tensor) of numbers, as opposed to a table's rows of cells."""
    if isinstance(x, torch.Tensor):
        return True
    if isinstance(x, np.ndarray):
        return x.dtype.kind in "biuf"
    return False


def load_bundle(path: str | os.PathLike[str], device: str = "cpu") -> LoadedModel:
    """Read a bundle back into a model. A file that is not a bundle, a damaged one and one whose
    parts do not fit together (config, declaration, weights) all raise BundleError naming the
    file and what does not match; nothing in the file ever runs as code."""
    from .model import build_model

    path = Path(check_path(path, "load_bundle", "path"))
    dev = check_device(device)
    payload = read_payload(path, dev)
    config = bundle_config(path, payload)
    spec = bundle_spec(path, payload["spec"])
    tasks = bundle_tasks(path, payload["tasks"], config)
    try:
        model = build_model(config, spec, dev)
    except MTLError as exc:
        raise BundleError(f"{path}: the config does not fit the dataset declaration ({exc})"
                          ) from None
    load_weights(path, model, payload["state_dict"])
    model.eval()
    metrics = payload.get("metrics", {})
    if not isinstance(metrics, dict):
        raise BundleError(f"{path}: 'metrics' must be a mapping, got {type(metrics).__name__}")
    status = payload.get("status", "")
    prep = payload.get("preprocessing")
    return LoadedModel(model, config, spec, tasks, metrics, status if isinstance(status, str)
                       else "", None if prep is None
                       else Preprocessing.from_dict(prep, str(path), spec.input_shape,
                                                    spec.inputs))


def export_torchscript(bundle: str | os.PathLike[str], dest: str | os.PathLike[str]) -> Path:
    """Trace the bundle's model into a TorchScript file: outputs are a tuple in task order.
    It takes raw rows: the bundle's preprocessing is inside (buffers), as in `predict`.

    torch 2.13 marks TorchScript deprecated; it still loads in C++ (libtorch) and in older
    Pythons, which is what this export is for. `export_program` is the forward-looking format.
    """
    dest = Path(check_path(dest, "export_torchscript", "dest"))
    loaded = load_bundle(check_path(bundle, "export_torchscript", "bundle"))
    example = example_inputs(loaded.spec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        traced = torch.jit.trace(loaded.raw_rows(), (example,))
        data = _serialised(torch.jit.save, traced)
    atomic_write_bytes(dest, data)
    return dest


def export_program(bundle: str | os.PathLike[str], dest: str | os.PathLike[str]) -> Path:
    """A ``torch.export`` program (.pt2) with a dynamic batch size; load it with
    ``torch.export.load(path).module()(x)``, which returns a tuple in task order. Like
    `predict`, it takes raw rows (the bundle's preprocessing is inside the program); a model over
    named inputs takes a dict of them (ids int64)."""
    dest = Path(check_path(dest, "export_program", "dest"))
    loaded = load_bundle(check_path(bundle, "export_program", "bundle"))
    example = example_inputs(loaded.spec)
    wrapper = loaded.raw_rows()
    batch = torch.export.Dim("batch")
    dims = ({k: {0: batch} for k in example} if isinstance(example, dict) else {0: batch},)
    try:
        program = torch.export.export(wrapper, (example,), dynamic_shapes=dims)
    except Exception as exc:  # torch raises many kinds here; the user needs one clear line
        raise BundleError(f"{bundle}: torch.export could not export this model "
                          f"({first_line(exc)}); use the TorchScript export instead") from None
    atomic_write_bytes(dest, _serialised(torch.export.save, program))
    return dest


def copy_bundle(bundle: str | os.PathLike[str], dest: str | os.PathLike[str]) -> Path:
    """Export a run's bundle under a new name (checked first, written atomically)."""
    dest = Path(check_path(dest, "copy_bundle", "dest"))
    src = Path(check_path(bundle, "copy_bundle", "bundle"))
    load_bundle(src)
    if dest.exists() and dest.resolve() == src.resolve():
        return dest  # copying a file onto itself: already there
    try:
        atomic_copy(src, dest)
    except OSError as exc:
        if isinstance(exc, MTLError):
            raise
        raise BundleError(f"{src}: cannot read ({exc.strerror or exc})") from None
    return dest
