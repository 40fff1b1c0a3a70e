"""The model table the GUI shows: one row per layer with shapes, parameter counts and errors.

`Planner` walks layer lists by shape inference only (no weights are allocated), keeps going after an
error (later rows get unknown shapes) and remembers the first error, so the GUI can show the whole
table on every edit while `build_model` raises that first error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import ConfigError
from .base import Shape, resolve

SHARED = "shared"
EACH_TASK = "each task"


@dataclass(frozen=True)
class LayerInfo:
    """One row of the model table. Plain data (tuples, ints, text) so it can travel in events."""

    where: str  # config path of the layer: "trunk[2]", "tasks[1].head[0]", "tasks[0].output", ...
    type: str
    in_shape: Shape | None  # None when an earlier layer failed, so the input is unknown
    out_shape: Shape | None
    n_params: int  # over all copies of this row
    error: str | None = None
    copies: int = 1  # trunk copies (soft, cross-stitch, MMoE experts) or one block per task
    owner: str = SHARED  # "shared", a task name, or "each task"
    # the merge row of a multi-input model: each branch's output shape by input name (its
    # in_shape is None: it reads several)
    in_shapes: tuple[tuple[str, Shape], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if not self.in_shapes:  # only a merge row has them; other rows keep their old form
            del d["in_shapes"]
        return d


@dataclass(frozen=True)
class ModelSummary:
    scheme: str
    input_shape: Shape
    layers: tuple[LayerInfo, ...]
    shared_params: int
    task_params: dict[str, int]  # enabled tasks, config order
    representation_shape: Shape | None  # what the heads read; None if the scheme has none
    error: str | None = None  # the first error, with its path
    error_path: str | None = None
    exception: ConfigError | None = field(default=None, compare=False, repr=False)
    # a model over named inputs: each input's name and shape (one sample), in branch order;
    # empty for a one-input model (its shape is `input_shape`)
    inputs: tuple[tuple[str, Shape], ...] = ()

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def total_params(self) -> int:
        return self.shared_params + sum(self.task_params.values())

    def param_counts(self) -> dict[str, int]:
        return {"shared": self.shared_params, **self.task_params, "total": self.total_params}


class Planner:
    """Accumulates rows and parameter counts while a sharing scheme and the heads are inferred."""

    def __init__(self, task_names: Sequence[str]) -> None:
        self.task_names = tuple(task_names)
        self.rows: list[LayerInfo] = []
        self.shared = 0
        self.per_task = {n: 0 for n in self.task_names}
        self.exception: ConfigError | None = None

    def fail(self, exc: ConfigError) -> None:
        if self.exception is None:
            self.exception = exc

    def add(self, info: LayerInfo, tasks: Sequence[str] = ()) -> None:
        """Add a row; its parameters count as shared, or split evenly over `tasks`."""
        self.rows.append(info)
        if not tasks:
            self.shared += info.n_params
        else:
            for name in tasks:
                self.per_task[name] += info.n_params // len(tasks)

    def stack(self, specs: Sequence[Any], in_shape: Shape | None, prefix: str, *,
              copies: int = 1, tasks: Sequence[str] = (), owner: str = SHARED,
              start: int = 0) -> Shape | None:
        """Infer a list of LayerSpec; return its output shape, or None once something failed."""
        shape = in_shape
        for i, spec in enumerate(specs, start):
            path = f"{prefix}[{i}]"
            if shape is None:
                self.add(LayerInfo(path, spec.type, None, None, 0, None, copies, owner), tasks)
                continue
            try:
                layer, params = resolve(spec, path)
                out = layer.infer(shape, params, path)
                n_params = layer.count(shape, params) * copies
            except ConfigError as exc:
                self.fail(exc)
                self.add(LayerInfo(path, spec.type, shape, None, 0, exc.message, copies, owner),
                         tasks)
                shape = None
                continue
            self.add(LayerInfo(path, spec.type, shape, out, n_params, None, copies, owner),
                     tasks)
            shape = out
        return shape

    def result(self, scheme: str, input_shape: Shape, representation: Shape | None,
               inputs: tuple[tuple[str, Shape], ...] = ()) -> ModelSummary:
        exc = self.exception
        return ModelSummary(scheme, tuple(input_shape), tuple(self.rows), self.shared,
                            dict(self.per_task), representation,
                            None if exc is None else str(exc),
                            None if exc is None else exc.path, exc, inputs)
