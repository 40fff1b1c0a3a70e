"""The multi-task model: a sharing scheme's body plus one head per task, and its summary.

Each task's head is the user's head layers followed by an output linear layer sized to the task
(classes for classification, 1 for binary, a regression's values: DataTask.outputs), added here
and listed as "tasks[i].output". Outputs: classification (B, C) logits, binary (B,) logits,
regression (B,), or (B, k) for a task of k values per row.
A table with embedded columns adds an input module before the trunk (model/inputs.py, shared);
a model without them has none and is built exactly as before. A dataset with named inputs gets
`MultiInputModel`: its input module is the branches and their merge (model/branches.py), and its
forward takes a dict of named tensors (int64 ids stay int64).
"""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import Tensor, nn

from ..build import ResolvedTask, resolve_tasks
from ..config import ExperimentConfig
from ..data.base import DatasetSpec
from ..errors import ConfigError
from ..registry import SHARING
from .base import Shape, build_stack, layer_type
from .branches import BranchInputs, BranchPlan, build_inputs, check_branches, plan_branches
from .inputs import WHERE, EmbeddedInputs, input_layout, model_input_shape
from .scheme import Body, Context, SchemePlan
from .summary import LayerInfo, ModelSummary, Planner


class MultiTaskModel(nn.Module):
    def __init__(self, body: Body, heads: list[nn.Module], tasks: tuple[ResolvedTask, ...],
                 summary: ModelSummary, inputs: EmbeddedInputs | BranchInputs | None = None
                 ) -> None:
        super().__init__()
        self.inputs = inputs  # None: the trunk reads the rows as given
        self.body = body
        self.heads = nn.ModuleList(heads)
        self.task_names: tuple[str, ...] = tuple(t.name for t in tasks)
        # (B, 1) -> (B,) for a one-value output; a k-value regression's (B, k) stays (an ONNX
        # Squeeze of a dimension that is not 1 fails when the file is loaded)
        self._squeeze = tuple(t.type != "classification" and t.n_outputs == 1 for t in tasks)
        self.summary = summary
        self.penalty_name: str = body.penalty_name

    def _named(self, raw: list[Tensor]) -> dict[str, Tensor]:
        return {name: out.squeeze(-1) if sq else out
                for name, out, sq in zip(self.task_names, raw, self._squeeze)}

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        if self.inputs is not None:
            x = self.inputs(x)
        raw, _ = self.body.run(x, self.heads, False)
        return self._named(raw)

    def forward_with_representation(self, x: Tensor) -> tuple[dict[str, Tensor], Tensor]:
        """Outputs plus the shared tensor the heads read (gradients w.r.t. it can be taken)."""
        if not self.body.has_representation:
            raise ConfigError("strategy.grad_mode", f"sharing scheme {self.summary.scheme!r} has "
                              "no single shared representation (each task has its own trunk "
                              "copy); use 'shared'")
        if self.inputs is not None:
            x = self.inputs(x)
        raw, rep = self.body.run(x, self.heads, True)
        assert rep is not None
        return self._named(raw), rep

    def shared_parameters(self) -> list[nn.Parameter]:
        embedded = list(self.inputs.parameters()) if self.inputs is not None else []
        return embedded + self.body.shared_parameters()

    def task_parameters_of(self, name: str) -> list[nn.Parameter]:
        i = self.task_names.index(name)
        return list(self.heads[i].parameters()) + self.body.task_parameters(i)

    def task_parameters(self) -> list[nn.Parameter]:
        return [p for name in self.task_names for p in self.task_parameters_of(name)]

    def last_shared_parameters(self) -> list[nn.Parameter]:
        """The last shared layer with parameters (every copy of it, for multi-copy schemes).

        Empty when the shared part has no parameters (e.g. an empty trunk under hard sharing);
        the embedding tables when they are the only shared layer with parameters.
        """
        last = self.body.last_shared_parameters()
        if not last and self.inputs is not None:
            return list(self.inputs.parameters())
        return last

    def penalty(self) -> Tensor | None:
        return self.body.penalty()


class MultiInputModel(MultiTaskModel):
    """A model over named inputs: `forward` takes {input name: (B, *shape) tensor}."""

    def forward(self, x: dict[str, Tensor]) -> dict[str, Tensor]:  # type: ignore[override]
        raw, _ = self.body.run(self.inputs(x), self.heads, False)
        return self._named(raw)

    def forward_with_representation(self, x: dict[str, Tensor]  # type: ignore[override]
                                    ) -> tuple[dict[str, Tensor], Tensor]:
        if not self.body.has_representation:
            return super().forward_with_representation(x)  # raises the ConfigError
        raw, rep = self.body.run(self.inputs(x), self.heads, True)
        assert rep is not None
        return self._named(raw), rep


def _context(config: ExperimentConfig, spec: DatasetSpec) -> Context:
    tasks = resolve_tasks(config, spec)
    paths = tuple(f"tasks[{i}]" for i, t in enumerate(config.tasks) if t.enabled)
    entry = SHARING.get(config.sharing.name, "sharing.scheme")
    params = entry.parse(config.sharing.params, "sharing.params")
    return Context(tuple(config.trunk), tasks, paths, model_input_shape(spec), params,
                   tuple(t.name for t in config.tasks))


def _plan(config: ExperimentConfig, spec: DatasetSpec
          ) -> tuple[ModelSummary, Context | None, SchemePlan | None, list[Shape | None],
                     BranchPlan | None]:
    named = tuple((i.name, tuple(i.shape)) for i in spec.inputs)
    try:
        check_branches(config, spec)
        ctx = _context(config, spec)
    except ConfigError as exc:
        failed = ModelSummary(config.sharing.name, tuple(spec.input_shape), (), 0, {}, None,
                              str(exc), exc.path, exc, named)
        return failed, None, None, [], None
    planner = Planner(ctx.names)
    branches: BranchPlan | None = None
    layout = None
    if spec.multi_input:  # shared: every task reads the branches and their merge
        branches = plan_branches(config, spec, planner)
        if branches is None:
            return (planner.result(config.sharing.name, tuple(spec.input_shape), None, named),
                    None, None, [], None)
        ctx = replace(ctx, input_shape=branches.merged)
    else:
        layout = input_layout(spec)
    if layout is not None:  # shared: every task reads the embeddings
        planner.add(LayerInfo(WHERE, "embedding", tuple(spec.input_shape), ctx.input_shape,
                              layout.n_params))
    plan = SHARING.get(config.sharing.name).obj.plan(ctx, planner)
    out_inputs: list[Shape | None] = []
    heads = [t.head for t in config.tasks if t.enabled]
    for task, path, head, shape in zip(ctx.tasks, ctx.paths, heads, plan.head_inputs):
        shape = planner.stack(head, shape, f"{path}.head", tasks=(task.name,), owner=task.name)
        out_inputs.append(shape)
        _output_row(planner, task, path, shape)
    summary = planner.result(config.sharing.name, tuple(spec.input_shape), plan.representation,
                             named)
    return summary, ctx, plan, out_inputs, branches


def _output_row(planner: Planner, task: ResolvedTask, path: str, shape: Shape | None) -> None:
    where, linear = f"{path}.output", layer_type("linear")
    params = linear.Params(out_features=task.n_outputs, bias=True)
    if shape is None:
        planner.add(LayerInfo(where, "linear", None, None, 0, owner=task.name), (task.name,))
        return
    try:
        out = linear.infer(shape, params, where)
    except ConfigError as exc:
        planner.fail(exc)
        planner.add(LayerInfo(where, "linear", shape, None, 0, exc.message, owner=task.name),
                    (task.name,))
        return
    n = shape[0] * task.n_outputs + task.n_outputs
    planner.add(LayerInfo(where, "linear", shape, out, n, owner=task.name), (task.name,))


def summarize(config: ExperimentConfig, spec: DatasetSpec) -> ModelSummary:
    """Shapes and parameter counts of the model `config` describes; never raises for bad shapes.

    Problems are reported in the rows and in `error`/`error_path` (the first one found).
    """
    return _plan(config, spec)[0]


def build_model(config: ExperimentConfig, spec: DatasetSpec,
                device: torch.device | str = "cpu") -> MultiTaskModel:
    """Build the model on `device`; raises the first ShapeError/ConfigError `summarize` finds."""
    summary, ctx, plan, out_inputs, branches = _plan(config, spec)
    if summary.exception is not None:
        raise summary.exception
    assert ctx is not None and plan is not None
    body = SHARING.get(config.sharing.name).obj.build_body(ctx, plan)
    heads: list[nn.Module] = []
    enabled = [t for t in config.tasks if t.enabled]
    for task, tc, shape, out_in in zip(ctx.tasks, enabled, plan.head_inputs, out_inputs):
        assert shape is not None and out_in is not None
        stack, _ = build_stack(tc.head, shape)
        heads.append(nn.Sequential(*stack, nn.Linear(out_in[0], task.n_outputs)))
    if branches is not None:
        return MultiInputModel(body, heads, ctx.tasks, summary,
                               build_inputs(config, branches)).to(device)
    layout = input_layout(spec)  # built after the rest: a model without one draws the same init
    inputs = EmbeddedInputs(layout) if layout is not None else None
    return MultiTaskModel(body, heads, ctx.tasks, summary, inputs).to(device)
