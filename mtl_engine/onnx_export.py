"""ONNX export of a bundle: the model a run trained, runnable by onnxruntime and other tools.

The exported graph is `LoadedModel.raw_rows()`, the same module TorchScript and torch.export get:
raw rows in (NaN for a missing cell: imputed and standardised inside, as the run did), one output
per task in the data's own units (regression in the target's units, a poisson task's mean count,
logits for classification and binary). Its input is named ``x``, shaped ``(batch, *input_shape)``
float32 with a dynamic batch dimension; each output is named after its task.

A model over named inputs (issue 15) gets one graph input per named input, named after it, in
the declaration's order (`spec.inputs`), each ``(batch, *shape)`` in its dtype (int64 ids stay
int64).

Needs the ``onnx`` extra (onnx + onnxscript: torch's ONNX exporter is built on torch.export and
onnxscript); without it `export_onnx` raises MissingExtraError with the install line.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import torch

from .args import check_path
from .bundle_checks import first_line
from .bundle_inputs import example_inputs
from .errors import BundleError
from .extras import require
from .fileio import atomic_write_bytes

INPUT_NAME = "x"


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """torch's exporter prints progress lines and logs a warning per torchvision op it cannot
    register; none of it is the user's business on success, and a failure raises anyway."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def export_onnx(bundle: str | os.PathLike[str], dest: str | os.PathLike[str],
                opset: int | None = None) -> Path:
    """Write the bundle's model as an ONNX file `dest` (atomically) and return its path.

    Input ``x``: raw rows, ``(batch, *input_shape)`` float32, batch dynamic. Outputs: one per
    task, named after it, in task order. `opset`: the ONNX opset (default: torch's choice).
    MissingExtraError without onnx / onnxscript; BundleError when the model cannot be exported.
    """
    from .export import load_bundle

    dest = Path(check_path(dest, "export_onnx", "dest"))
    src = check_path(bundle, "export_onnx", "bundle")
    require("onnx")
    loaded = load_bundle(src)
    wrapper = loaded.raw_rows()
    example = example_inputs(loaded.spec)
    names = list(wrapper.names)
    batch = torch.export.Dim("batch")
    if isinstance(example, dict):  # named inputs: positional graph inputs, in declared order
        wrapper, args = _Positional(wrapper, tuple(example)), tuple(example.values())
        inputs, dims = list(example), (tuple({0: batch} for _ in example),)
    else:
        args, inputs, dims = (example,), [INPUT_NAME], ({0: batch},)
    try:
        with _quiet():
            program = torch.onnx.export(
                wrapper, args, None, input_names=inputs, output_names=names,
                dynamic_shapes=dims, opset_version=opset, dynamo=True, verbose=False)
            data = program.model_proto.SerializeToString()
    except Exception as exc:  # the exporter raises many kinds; the user needs one clear line
        raise BundleError(f"{bundle}: the ONNX exporter could not export this model "
                          f"({first_line(exc)}); use the torch.export program instead") from None
    atomic_write_bytes(dest, data)
    return dest


class _Positional(torch.nn.Module):
    """Named inputs as positional arguments, in declared order: ONNX graph inputs are a flat
    list, so each named input becomes one, named after it."""

    def __init__(self, inner: torch.nn.Module, names: tuple[str, ...]) -> None:
        super().__init__()
        self.inner = inner
        self.input_names = names

    def forward(self, *xs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return self.inner(dict(zip(self.input_names, xs)))
