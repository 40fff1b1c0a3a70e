"""Sharing schemes: outputs, parameter groups, and each scheme's own arithmetic by hand."""

from __future__ import annotations

import dataclasses
import itertools
import warnings
from typing import Any

import pytest
import torch

from mtl_engine import config
from mtl_engine.data.base import DatasetSpec
from mtl_engine.errors import ConfigError
from mtl_engine.model import build_model, summarize
from mtl_engine.registry import SHARING

from .specs import FLAT

DATASET = "digits"  # config.from_dict checks the name only; shapes come from SPEC
SPEC = FLAT
TASKS = [{"name": "a", "head": [{"type": "linear", "out_features": 4}, "relu"]},
         {"name": "b"}, {"name": "c"}]


def make(scheme: str, trunk: list[Any] | None = None, tasks: list[dict[str, Any]] | None = None,
         **params: Any) -> config.ExperimentConfig:
    trunk = [{"type": "linear", "out_features": 5}, "relu"] if trunk is None else trunk
    return config.from_dict({"data": {"dataset": DATASET}, "trunk": trunk,
                             "tasks": TASKS if tasks is None else tasks,
                             "sharing": {"scheme": scheme, "params": params}})


@pytest.mark.parametrize("scheme", SHARING.names())
def test_every_scheme_gives_each_task_its_output_shape(scheme: str) -> None:
    model = build_model(make(scheme), SPEC, "cpu")
    out = model(torch.randn(4, 6))
    assert {k: tuple(v.shape) for k, v in out.items()} == {"a": (4, 3), "b": (4,), "c": (4,)}


@pytest.mark.parametrize("scheme", SHARING.names())
def test_shared_and_task_parameters_are_disjoint_and_cover_everything(scheme: str) -> None:
    model = build_model(make(scheme), SPEC, "cpu")
    shared = [id(p) for p in model.shared_parameters()]
    task = [id(p) for p in model.task_parameters()]
    assert len(set(shared)) == len(shared) and len(set(task)) == len(task)
    assert not set(shared) & set(task)
    assert set(shared) | set(task) == {id(p) for p in model.parameters()}
    assert set(map(id, model.last_shared_parameters())) <= set(shared)


@pytest.mark.parametrize("scheme", SHARING.names())
def test_summary_counts_equal_the_built_model(scheme: str) -> None:
    model = build_model(make(scheme), SPEC, "cpu")
    s = model.summary
    assert s.ok
    assert s.shared_params == sum(p.numel() for p in model.shared_parameters())
    for name in model.task_names:
        assert s.task_params[name] == sum(p.numel() for p in model.task_parameters_of(name))


class _TupleOutputs(torch.nn.Module):
    """Tracing needs a fixed output structure, as in the export: a tuple in task order."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.model(x)
        return tuple(out[n] for n in self.model.task_names)


@pytest.mark.parametrize("scheme", SHARING.names())
def test_every_scheme_traces_for_the_torchscript_export(scheme: str) -> None:
    trunk = [{"type": "unflatten", "channels": 1, "height": 2, "width": 3},
             {"type": "conv2d", "out_channels": 4, "kernel_size": 1},
             {"type": "self_attention", "num_heads": 2}, {"type": "flatten"},
             {"type": "linear", "out_features": 5}, {"type": "relu"}]
    as_tuple = _TupleOutputs(build_model(make(scheme, trunk), SPEC, "cpu")).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TorchScript's deprecation notice
        traced = torch.jit.trace(as_tuple, torch.randn(2, 6))  # checks a re-run too
    x = torch.randn(5, 6)
    for got, want in zip(traced(x), as_tuple(x)):
        torch.testing.assert_close(got, want)


@pytest.mark.parametrize("scheme", SHARING.names())
def test_every_scheme_documents_itself(scheme: str) -> None:
    entry = SHARING.get(scheme)
    assert entry.summary.strip() and entry.paper.strip()
    assert all(p.help.strip() for p in entry.params)


def test_scheme_defaults_reach_the_model() -> None:
    # Each scheme's declared defaults, with no params given: 4 experts, a private linear(32) +
    # relu block, lambda 1e-3 with the squared norm, config order without detaching.
    assert len(build_model(make("mmoe"), SPEC, "cpu").body.experts) == 4
    rows = {r.where: r for r in summarize(make("task_specific"), SPEC).layers}
    assert rows["sharing.params.private[0]"].out_shape == (32,)
    assert rows["sharing.params.private[1]"].type == "relu"
    soft = build_model(make("soft"), SPEC, "cpu").body
    assert (soft.lam, soft.norm) == (1e-3, "squared_l2")
    cascade = build_model(make("cascade"), SPEC, "cpu").body
    assert (cascade.order, cascade.detach) == ((0, 1, 2), False)
    stitch = build_model(make("cross_stitch"), SPEC, "cpu").body.stitches[0]
    torch.testing.assert_close(stitch.detach().diagonal(), torch.full((3,), 0.9))


def test_a_bad_scheme_parameter_is_an_error_naming_it() -> None:
    # The config checks it first; a config built around that check is caught by the model too.
    cfg = make("mmoe")
    bad = dataclasses.replace(cfg, sharing=dataclasses.replace(cfg.sharing,
                                                               params={"experts": 0}))
    s = summarize(bad, SPEC)
    assert s.error_path == "sharing.params.experts" and "positive integer" in s.error
    with pytest.raises(ConfigError, match=r"^sharing\.params\.experts: must be a positive"):
        build_model(bad, SPEC, "cpu")


def test_hard_sharing_counts() -> None:
    s = summarize(make("hard"), SPEC)
    assert s.shared_params == 6 * 5 + 5
    assert s.task_params == {"a": (5 * 4 + 4) + (4 * 3 + 3), "b": 6, "c": 6}


def _set_trunk_weights(model: torch.nn.Module, values: list[list[float]]) -> None:
    with torch.no_grad():
        for trunk, v in zip(model.body.trunks, values):
            trunk[0].weight.copy_(torch.tensor(v[:2]).view(1, 2))
            trunk[0].bias.fill_(v[2])


def test_soft_penalty_equals_hand_computation() -> None:
    tasks = [{"name": "a"}, {"name": "b"}, {"name": "c"}]
    spec = DatasetSpec("two", (2,), SPEC.tasks, 1)
    thetas = [[1.0, 2.0, 0.0], [0.0, 2.0, 1.0], [3.0, 0.0, 0.0]]
    # squared distances: |t0-t1|^2 = 1+0+1 = 2, |t0-t2|^2 = 4+4+0 = 8, |t1-t2|^2 = 9+4+1 = 14
    for norm, expected in (("squared_l2", 2 + 8 + 14), ("l2", 2**0.5 + 8**0.5 + 14**0.5)):
        model = build_model(make("soft", [{"type": "linear", "out_features": 1}], tasks,
                                 norm=norm, **{"lambda": 0.5}), spec, "cpu")
        assert model.penalty_name
        _set_trunk_weights(model, thetas)
        assert model.penalty().item() == pytest.approx(0.5 * expected, rel=1e-6)


def test_soft_penalty_gradient_pulls_copies_together() -> None:
    spec = DatasetSpec("two", (2,), SPEC.tasks, 1)
    model = build_model(make("soft", [{"type": "linear", "out_features": 1}],
                             [{"name": "a"}, {"name": "b"}], **{"lambda": 1.0}), spec, "cpu")
    _set_trunk_weights(model, [[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    model.penalty().backward()
    # d/dw0 of (w0 - v0)^2 = 2 (w0 - v0) = 2 for copy 0, -2 for copy 1
    assert model.body.trunks[0][0].weight.grad[0, 0].item() == pytest.approx(2.0)
    assert model.body.trunks[1][0].weight.grad[0, 0].item() == pytest.approx(-2.0)


def test_other_schemes_have_no_penalty() -> None:
    assert build_model(make("hard"), SPEC, "cpu").penalty() is None


def test_soft_copies_are_shared_parameters() -> None:
    model = build_model(make("soft"), SPEC, "cpu")
    assert {id(p) for p in model.shared_parameters()} == {
        id(p) for trunk in model.body.trunks for p in trunk.parameters()}
    assert model.summary.shared_params == 3 * (6 * 5 + 5)


def test_cascade_feeds_the_previous_task_output() -> None:
    cfg = make("cascade", order=["c", "a"])  # then b: c -> a -> b
    s = summarize(cfg, SPEC)
    rows = {r.where: r for r in s.layers}
    assert "tasks[2].input" not in rows  # c is first and reads the representation only
    assert rows["tasks[0].input"].out_shape == (5 + 1,)  # a reads z and c's value
    assert rows["tasks[1].input"].out_shape == (5 + 3,)  # b reads z and a's 3 logits
    model = build_model(cfg, SPEC, "cpu")
    x = torch.randn(4, 6)
    before = model(x)
    with torch.no_grad():
        model.heads[2][-1].bias += 1.0  # move task c's output
    after = model(x)
    assert not torch.allclose(before["a"], after["a"])  # a reads c
    assert not torch.allclose(before["b"], after["b"])  # b reads a, which moved
    with torch.no_grad():
        model.heads[1][-1].bias += 1.0  # b is last: nothing reads it
    torch.testing.assert_close(model(x)["a"], after["a"])


def test_cascade_detach_stops_gradients_into_the_previous_head() -> None:
    x = torch.randn(4, 6)
    for detach, reaches in ((False, True), (True, False)):
        model = build_model(make("cascade", order=["c", "a"], detach=detach), SPEC, "cpu")
        grad = torch.autograd.grad(model(x)["a"].sum(), model.heads[2][-1].weight,
                                   allow_unused=True)[0]
        assert (grad is not None and grad.abs().sum() > 0) == reaches


def test_cascade_unknown_or_repeated_names_are_errors_naming_the_entry() -> None:
    s = summarize(make("cascade", order=["a", "zz"]), SPEC)
    assert s.error_path == "sharing.params.order[1]" and "'zz'" in s.error
    with pytest.raises(ConfigError) as info:
        build_model(make("cascade", order=["b", "b"]), SPEC, "cpu")
    assert info.value.path == "sharing.params.order[1]"


def test_cascade_needs_a_flat_representation() -> None:
    spec = DatasetSpec("img", (1, 6, 6), SPEC.tasks, 1)
    cfg = make("cascade", [{"type": "conv2d", "out_channels": 2}], [{"name": "a"}, {"name": "c"}])
    s = summarize(cfg, spec)
    assert s.error_path == "tasks[1].input" and "flatten" in s.error


def test_cross_stitch_initial_matrices() -> None:
    trunk = [{"type": "linear", "out_features": 5}, "relu", {"type": "linear", "out_features": 4}]
    model = build_model(make("cross_stitch", trunk), SPEC, "cpu")
    assert len(model.body.stitches) == 2  # one after each layer with parameters
    expected = torch.tensor([[0.9, 0.05, 0.05], [0.05, 0.9, 0.05], [0.05, 0.05, 0.9]])
    for a in model.body.stitches:
        torch.testing.assert_close(a.detach(), expected)
    two = build_model(make("cross_stitch", trunk, [{"name": "a"}, {"name": "c"}]), SPEC, "cpu")
    torch.testing.assert_close(two.body.stitches[0].detach(), torch.tensor([[0.9, 0.1],
                                                                              [0.1, 0.9]]))
    rows = {r.where: r for r in two.summary.layers}
    assert rows["trunk[0].stitch"].n_params == 4 and "trunk[1].stitch" not in rows


def test_cross_stitch_mixes_task_streams_by_its_matrix() -> None:
    tasks = [{"name": "c"}, {"name": "b"}]
    model = build_model(make("cross_stitch", [{"type": "linear", "out_features": 3}], tasks),
                        SPEC, "cpu")
    alpha = torch.tensor([[0.7, 0.3], [-0.2, 1.5]])
    with torch.no_grad():
        model.body.stitches[0].copy_(alpha)
    x = torch.randn(4, 6)
    h = [segs[0](x) for segs in model.body.copies]  # each task's own copy of the trunk
    for i, name in enumerate(("c", "b")):
        mixed = alpha[i, 0] * h[0] + alpha[i, 1] * h[1]
        torch.testing.assert_close(model(x)[name], model.heads[i](mixed).squeeze(-1))


def test_mmoe_mixes_experts_by_softmax_gates() -> None:
    model = build_model(make("mmoe", experts=3), SPEC, "cpu")
    x = torch.randn(4, 6)
    experts = torch.stack([e(x) for e in model.body.experts], dim=1)  # (B, E, 5)
    out, rep = model.forward_with_representation(x)
    torch.testing.assert_close(rep, experts)
    for i, name in enumerate(model.task_names):
        g = torch.softmax(model.body.gates[i](x), dim=-1)
        expected = model.heads[i]((g[:, :, None] * experts).sum(1))
        torch.testing.assert_close(out[name], expected.squeeze(-1) if name != "a" else expected)
    s = model.summary
    assert s.representation_shape == (3, 5)
    # experts 3 x (6*5+5), gates 3 tasks x (6*3+3): all shared
    assert s.shared_params == 3 * 35 + 3 * 21


def test_task_specific_private_blocks_belong_to_their_task() -> None:
    private = [{"type": "linear", "out_features": 7}, {"type": "gelu"}]
    model = build_model(make("task_specific", private=private), SPEC, "cpu")
    s = model.summary
    rows = {r.where: r for r in s.layers}
    assert rows["sharing.params.private[0]"].copies == 3
    assert rows["sharing.params.private[0]"].n_params == 3 * (5 * 7 + 7)
    assert s.task_params["b"] == (5 * 7 + 7) + (7 + 1)
    assert s.representation_shape == (5,)
    x = torch.randn(2, 6)
    z = model.body.trunk(x)
    torch.testing.assert_close(model(x)["c"], model.heads[2](model.body.private[2](z)).squeeze(-1))


def test_task_specific_error_names_the_private_layer() -> None:
    spec = DatasetSpec("img", (1, 6, 6), SPEC.tasks, 1)
    cfg = make("task_specific", [{"type": "conv2d", "out_channels": 2}],
               private=[{"type": "linear", "out_features": 3}])
    assert summarize(cfg, spec).error_path == "sharing.params.private[0]"


@pytest.mark.parametrize("scheme", ["hard", "task_specific", "cascade", "mmoe"])
def test_per_task_gradients_through_the_representation(scheme: str) -> None:
    torch.manual_seed(0)  # a fixed draw, so no head's ReLU happens to be dead on the whole batch
    model = build_model(make(scheme), SPEC, "cpu")
    out, rep = model.forward_with_representation(torch.randn(16, 6))
    losses = [out["a"].logsumexp(-1).mean(), out["b"].mean(), out["c"].pow(2).mean()]
    grads = [torch.autograd.grad(loss, rep, retain_graph=True)[0] for loss in losses]
    assert all(g.shape == rep.shape for g in grads)
    assert all(g.abs().sum() > 0 for g in grads)
    assert any(not torch.allclose(g, h) for g, h in itertools.combinations(grads, 2))
