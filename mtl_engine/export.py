"""Model bundles (save, reload, predict) and a TorchScript export for use outside the app.

A bundle is one file written by ``torch.save`` holding only tensors and plain data: the weights,
the config, the dataset's declaration (input shape, tasks), the resolved tasks and the final
metrics. It is read with ``torch.load(weights_only=True)``, which refuses anything that would run
code from the file.
"""

from __future__ import annotations

import io
import pickle
import shutil
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .build import ResolvedTask
from .config import ExperimentConfig, from_dict
from .data.base import DatasetSpec, DataTask
from .errors import BundleError
from .fileio import atomic_write_bytes

FORMAT = "mtl-explorer-bundle"
VERSION = 1


def save_bundle(path: str | Path, setup: Any, metrics: dict[str, dict[str, float]],
                status: str = "completed") -> Path:
    spec: DatasetSpec = setup.dataset.spec
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "status": status,
        "config": setup.config.to_dict(),
        "spec": {"name": spec.name, "input_shape": list(spec.input_shape),
                 "n_samples": spec.n_samples, "description": spec.description,
                 "tasks": [asdict(t) for t in spec.tasks]},
        "tasks": [asdict(t) for t in setup.tasks],
        "metrics": metrics,
        "strategy_state": setup.strategy.state(),
        "state_dict": {k: v.detach().cpu() for k, v in setup.model.state_dict().items()},
    }
    buf = io.BytesIO()
    torch.save(payload, buf)
    path = Path(path)
    atomic_write_bytes(path, buf.getvalue())
    return path


@dataclass
class LoadedModel:
    model: torch.nn.Module
    config: ExperimentConfig
    spec: DatasetSpec
    tasks: tuple[ResolvedTask, ...]
    metrics: dict[str, dict[str, float]]
    status: str

    def predict(self, x: np.ndarray, batch_size: int = 1024) -> dict[str, np.ndarray]:
        """Raw outputs per task (logits for classification/binary) for inputs shaped like the
        training data (already normalised the way the dataset loader normalises)."""
        x = np.asarray(x, dtype=np.float32)
        want = tuple(self.spec.input_shape)
        if x.shape[1:] != want:
            raise BundleError(f"inputs must have shape (n, {', '.join(map(str, want))}), "
                              f"got {x.shape}")
        device = next(self.model.parameters()).device
        outs: dict[str, list[np.ndarray]] = {t.name: [] for t in self.tasks}
        self.model.eval()
        with torch.no_grad():
            for i in range(0, len(x), batch_size):
                res = self.model(torch.from_numpy(x[i:i + batch_size]).to(device))
                for k, v in res.items():
                    outs[k].append(v.cpu().numpy())
        return {k: np.concatenate(v) if v else np.zeros((0,)) for k, v in outs.items()}


def load_bundle(path: str | Path, device: str = "cpu") -> LoadedModel:
    from .model import build_model

    path = Path(path)
    try:
        payload = torch.load(path, map_location=device, weights_only=True)
    except FileNotFoundError:
        raise BundleError(f"{path}: no such file") from None
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BundleError(f"{path}: not a model bundle this app can load safely ({first})"
                          ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise BundleError(f"{path}: not an MTL Explorer model bundle")
    if payload.get("version") != VERSION:
        raise BundleError(f"{path}: bundle version {payload.get('version')} is not supported "
                          f"(this app reads version {VERSION})")
    config = from_dict(payload["config"])
    s = payload["spec"]
    spec = DatasetSpec(s["name"], tuple(s["input_shape"]), tuple(DataTask(**t) for t in s["tasks"]),
                       s["n_samples"], s.get("description", ""))
    model = build_model(config, spec, torch.device(device))
    missing, unexpected = model.load_state_dict(payload["state_dict"], strict=False)
    if missing or unexpected:
        raise BundleError(f"{path}: weights do not match the model the config builds "
                          f"(missing {missing[:3]}, unexpected {unexpected[:3]})")
    model.eval()
    tasks = tuple(ResolvedTask(**t) for t in payload["tasks"])
    return LoadedModel(model, config, spec, tasks, payload.get("metrics", {}),
                       payload.get("status", ""))


class _TupleOutputs(torch.nn.Module):
    """TorchScript wants a fixed output structure: a tuple in task order."""

    def __init__(self, model: torch.nn.Module, names: tuple[str, ...]) -> None:
        super().__init__()
        self.model = model
        self.names = names

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.model(x)
        return tuple(out[n] for n in self.names)


def export_torchscript(bundle: str | Path, dest: str | Path) -> Path:
    """Trace the bundle's model into a TorchScript file: outputs are a tuple in task order.

    torch 2.13 marks TorchScript deprecated; it still loads in C++ (libtorch) and in older
    Pythons, which is what this export is for. `export_program` is the forward-looking format.
    """
    loaded = load_bundle(bundle)
    names = tuple(t.name for t in loaded.tasks)
    example = torch.zeros((2, *loaded.spec.input_shape))
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        traced = torch.jit.trace(_TupleOutputs(loaded.model, names).eval(), example)
        torch.jit.save(traced, buf)
    dest = Path(dest)
    atomic_write_bytes(dest, buf.getvalue())
    return dest


def export_program(bundle: str | Path, dest: str | Path) -> Path:
    """A ``torch.export`` program (.pt2) with a dynamic batch size; load it with
    ``torch.export.load(path).module()(x)``, which returns a tuple in task order."""
    loaded = load_bundle(bundle)
    names = tuple(t.name for t in loaded.tasks)
    example = torch.zeros((2, *loaded.spec.input_shape))
    wrapper = _TupleOutputs(loaded.model, names).eval()
    try:
        program = torch.export.export(wrapper, (example,),
                                      dynamic_shapes=({0: torch.export.Dim("batch")},))
    except Exception as exc:  # torch raises many kinds here; the user needs one clear line
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BundleError(f"{bundle}: torch.export could not export this model ({first}); "
                          "use the TorchScript export instead") from None
    buf = io.BytesIO()
    torch.export.save(program, buf)
    dest = Path(dest)
    atomic_write_bytes(dest, buf.getvalue())
    return dest


def copy_bundle(bundle: str | Path, dest: str | Path) -> Path:
    """Export a run's bundle under a new name (checked first, written atomically)."""
    load_bundle(bundle)
    dest = Path(dest)
    tmp = dest.with_name(f".{dest.name}.tmp")
    shutil.copyfile(bundle, tmp)
    tmp.replace(dest)
    return dest
