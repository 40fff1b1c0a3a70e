"""CGC and PLE (Tang et al., RecSys 2020) against the paper's gating equations, worked by hand.

CGC: task k's head reads softmax(W_g^k x) . [E_k,1..E_k,mk, E_s,1..E_s,ms](x). PLE: levels of CGC;
below the top a shared gate over every expert (each task's, then the shared ones) feeds the next
level's shared experts; task k's next experts and gate read task k's gated output.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from mtl_engine import config
from mtl_engine.errors import ConfigError
from mtl_engine.export import export_program, export_torchscript, load_bundle
from mtl_engine.model import build_model, summarize
from mtl_engine.model.sharing_ple import level_bounds
from mtl_engine.training import run

from .specs import FLAT

TASKS = [{"name": "a", "head": [{"type": "linear", "out_features": 4}, "relu"]},
         {"name": "b"}, {"name": "c"}]
TWO_LEVELS = [{"type": "linear", "out_features": 5}, "relu",
              {"type": "linear", "out_features": 4}, "relu"]


def make(scheme: str, trunk: list[Any] | None = None, **params: Any) -> config.ExperimentConfig:
    trunk = [{"type": "linear", "out_features": 5}, "relu"] if trunk is None else trunk
    return config.from_dict({"data": {"dataset": "digits"}, "trunk": trunk, "tasks": TASKS,
                             "sharing": {"scheme": scheme, "params": params}})


def model_of(scheme: str, trunk: list[Any] | None = None, seed: int = 0, **params: Any):
    torch.manual_seed(seed)
    return build_model(make(scheme, trunk, **params), FLAT, "cpu")


def expert(seq: torch.nn.Sequential, x: torch.Tensor) -> torch.Tensor:
    """A [linear, relu] expert by hand: relu(x W^T + b)."""
    return torch.relu(x @ seq[0].weight.T + seq[0].bias)


def zero_gates(model: torch.nn.Module) -> None:
    with torch.no_grad():
        for name, p in model.body.named_parameters():
            if "gate" in name:
                p.zero_()


def squeezed(name: str, value: torch.Tensor) -> torch.Tensor:
    return value if name == "a" else value.squeeze(-1)


# ----------------------------------------------------------------------------- CGC


def test_cgc_with_zero_gates_reads_the_plain_mean_of_its_own_and_the_shared_experts() -> None:
    model = model_of("cgc", shared_experts=2, task_experts=2)
    zero_gates(model)
    level = model.body.levels[0]
    x = torch.randn(5, 6)
    out = model(x)
    shared = [expert(e, x) for e in level.shared_experts]
    for k, name in enumerate(model.task_names):
        own = [expert(e, x) for e in level.task_experts[k]]
        mean = (own[0] + own[1] + shared[0] + shared[1]) / 4  # softmax of zeros: 1/4 each
        torch.testing.assert_close(out[name], squeezed(name, model.heads[k](mean)))


def test_cgc_gate_weights_its_own_experts_first_then_the_shared_ones() -> None:
    model = model_of("cgc", shared_experts=2, task_experts=1)
    zero_gates(model)
    with torch.no_grad():  # bias ln(2), 0, 0: softmax = 1/2 own, 1/4 and 1/4 shared
        model.body.levels[0].task_gates[1].bias.copy_(torch.tensor([math.log(2.0), 0.0, 0.0]))
    level, x = model.body.levels[0], torch.randn(5, 6)
    s1, s2 = (expert(e, x) for e in level.shared_experts)
    mixed = 0.5 * expert(level.task_experts[1][0], x) + 0.25 * s1 + 0.25 * s2
    torch.testing.assert_close(model(x)["b"], model.heads[1](mixed).squeeze(-1))


def test_cgc_gate_is_a_softmax_of_a_linear_map_of_the_input() -> None:
    model = model_of("cgc", shared_experts=2, task_experts=1)
    level, x = model.body.levels[0], torch.randn(5, 6)
    gate = level.task_gates[2]
    w = torch.softmax(x @ gate.weight.T + gate.bias, dim=-1)  # (5, 1 + 2)
    experts = [expert(level.task_experts[2][0], x), *(expert(e, x) for e in level.shared_experts)]
    mixed = sum(w[:, i:i + 1] * e for i, e in enumerate(experts))
    torch.testing.assert_close(model(x)["c"], model.heads[2](mixed).squeeze(-1))


def test_cgc_parameter_counts_by_hand() -> None:
    # trunk linear(6 -> 5) + relu: an expert has 6*5 + 5 = 35. Shared: 2 experts = 70.
    # Each task: 1 expert (35) + its gate linear(6 -> 1 + 2) = 21 + its output layer;
    # a: head linear(5 -> 4) = 24, output linear(4 -> 3) = 15; b, c: output linear(5 -> 1) = 6.
    model = model_of("cgc", shared_experts=2, task_experts=1)
    s = model.summary
    assert s.shared_params == 70
    assert s.task_params == {"a": 35 + 21 + 24 + 15, "b": 35 + 21 + 6, "c": 35 + 21 + 6}
    assert s.total_params == sum(p.numel() for p in model.parameters())
    rows = {r.where: r for r in s.layers}
    assert (rows["trunk[0]"].copies, rows["trunk[0]"].owner) == (2, "shared")
    assert (rows["trunk[0].task_experts"].copies, rows["trunk[0].task_experts"].n_params) == (
        3, 3 * 35)
    assert (rows["tasks[1].gate"].owner, rows["tasks[1].gate"].out_shape) == ("b", (3,))
    assert s.representation_shape == (2, 5)


def test_a_cgc_task_gradient_never_reaches_another_tasks_experts() -> None:
    model = model_of("cgc", shared_experts=2, task_experts=2)
    level = model.body.levels[0]
    out = model(torch.randn(16, 6))
    for k, name in enumerate(model.task_names):
        value = out[name].logsumexp(-1) if name == "a" else out[name]
        params = [p for j in range(3) for p in level.task_experts[j].parameters()]
        params += list(level.shared_experts.parameters())
        grads = torch.autograd.grad(value.sum(), params, retain_graph=True, allow_unused=True)
        per_task = len(list(level.task_experts[0].parameters()))
        for j in range(3):
            mine = grads[j * per_task:(j + 1) * per_task]
            if j == k:
                assert any(g is not None and g.abs().sum() > 0 for g in mine)
            else:
                assert all(g is None or g.abs().sum() == 0 for g in mine)
        assert any(g is not None and g.abs().sum() > 0 for g in grads[3 * per_task:])


def test_cgc_parameter_groups_and_its_shared_representation() -> None:
    model = model_of("cgc", shared_experts=2, task_experts=1)
    level = model.body.levels[0]
    assert {id(p) for p in model.shared_parameters()} == {
        id(p) for p in level.shared_experts.parameters()}
    mine = {id(p) for p in model.task_parameters_of("b")}
    assert {id(p) for p in level.task_gates[1].parameters()} <= mine
    assert {id(p) for p in level.task_experts[1].parameters()} <= mine
    assert {id(p) for p in model.last_shared_parameters()} == {
        id(p) for e in level.shared_experts for p in e[0].parameters()}
    x = torch.randn(8, 6)
    out, rep = model.forward_with_representation(x)
    torch.testing.assert_close(rep, torch.stack([expert(e, x) for e in level.shared_experts], 1))
    for name in model.task_names:
        value = out[name].logsumexp(-1) if name == "a" else out[name]
        grad = torch.autograd.grad(value.sum(), rep, retain_graph=True)[0]
        assert grad.shape == rep.shape and grad.abs().sum() > 0


# ----------------------------------------------------------------------------- PLE


def test_ple_with_one_level_is_cgc() -> None:
    cgc = model_of("cgc", seed=1, shared_experts=2, task_experts=2)
    ple = model_of("ple", seed=2, levels=1, shared_experts=2, task_experts=2)
    x = torch.randn(6, 6)
    assert any(not torch.allclose(cgc(x)[n], ple(x)[n]) for n in cgc.task_names)  # other draws
    ple.load_state_dict(cgc.state_dict())  # strict: the same parameters, no shared gate
    for name in cgc.task_names:
        torch.testing.assert_close(ple(x)[name], cgc(x)[name])
    assert (ple.summary.shared_params, ple.summary.task_params) == (
        cgc.summary.shared_params, cgc.summary.task_params)
    assert ple.summary.representation_shape == cgc.summary.representation_shape == (2, 5)


def test_ple_with_zero_gates_by_hand() -> None:
    # Level 1 experts copy trunk[0:2] (linear 6->5, relu), level 2 trunk[2:4] (linear 5->4, relu).
    model = model_of("ple", TWO_LEVELS, levels=2, shared_experts=2, task_experts=1)
    zero_gates(model)
    one, two = model.body.levels
    x = torch.randn(5, 6)
    own1 = [expert(one.task_experts[k][0], x) for k in range(3)]
    shared1 = [expert(e, x) for e in one.shared_experts]
    task_in = [(own1[k] + shared1[0] + shared1[1]) / 3 for k in range(3)]
    shared_in = (sum(own1) + shared1[0] + shared1[1]) / 5  # the shared gate mixes all 5 experts
    shared2 = [expert(e, shared_in) for e in two.shared_experts]
    out = model(x)
    for k, name in enumerate(model.task_names):
        top = (expert(two.task_experts[k][0], task_in[k]) + shared2[0] + shared2[1]) / 3
        torch.testing.assert_close(out[name], squeezed(name, model.heads[k](top)))


def test_ple_shared_gate_orders_every_tasks_experts_then_the_shared_ones() -> None:
    model = model_of("ple", TWO_LEVELS, levels=2, shared_experts=2, task_experts=1)
    zero_gates(model)
    with torch.no_grad():  # [a, b, c, shared 1, shared 2]: all weight on b's level-1 expert
        model.body.levels[0].shared_gate.bias.copy_(torch.tensor([0.0, 60.0, 0.0, 0.0, 0.0]))
    one, two = model.body.levels
    x = torch.randn(5, 6)
    shared_in = expert(one.task_experts[1][0], x)
    shared2 = [expert(e, shared_in) for e in two.shared_experts]
    level1 = [expert(e, x) for e in one.shared_experts]
    task_in = (expert(one.task_experts[2][0], x) + level1[0] + level1[1]) / 3
    top = (expert(two.task_experts[2][0], task_in) + shared2[0] + shared2[1]) / 3
    torch.testing.assert_close(model(x)["c"], model.heads[2](top).squeeze(-1))


def test_ple_gradients_cross_tasks_only_through_the_shared_gate() -> None:
    model = model_of("ple", TWO_LEVELS, levels=2, shared_experts=1, task_experts=1)
    one, two = model.body.levels
    value = model(torch.randn(32, 6))["b"].sum()
    first = list(one.task_experts[0].parameters())  # task a's level-1 expert
    top = list(two.task_experts[0].parameters())  # task a's level-2 expert
    grads = torch.autograd.grad(value, first + top, allow_unused=True)
    assert any(g is not None and g.abs().sum() > 0 for g in grads[:len(first)])  # shared gate
    assert all(g is None for g in grads[len(first):])


def test_ple_parameter_counts_by_hand() -> None:
    # Level 1 expert linear(6 -> 5): 35; level 2 expert linear(5 -> 4): 24.
    # Shared: 2 * 35 + 2 * 24 + shared gate linear(6 -> 3 + 2) = 35  -> 153.
    # Task gates: level 1 linear(6 -> 1 + 2) = 21, level 2 linear(5 -> 3) = 18.
    # b, c: 35 + 24 + 21 + 18 + output linear(4 -> 1) 5 = 103; a: head linear(4 -> 4) 20 and
    # output linear(4 -> 3) 15 instead: 35 + 24 + 21 + 18 + 20 + 15 = 133.
    model = model_of("ple", TWO_LEVELS, levels=2, shared_experts=2, task_experts=1)
    s = model.summary
    assert s.shared_params == 153
    assert s.task_params == {"a": 133, "b": 103, "c": 103}
    assert s.shared_params == sum(p.numel() for p in model.shared_parameters())
    for name in model.task_names:
        assert s.task_params[name] == sum(p.numel() for p in model.task_parameters_of(name))
    rows = {r.where: r for r in s.layers}
    assert rows["sharing.shared_gate[0]"].n_params == 35 and "sharing.shared_gate[1]" not in rows
    assert rows["tasks[0].gate[1]"].in_shape == (5,)
    assert rows["trunk[2]"].in_shape == (5,) and rows["trunk[2]"].copies == 2
    assert s.representation_shape is None


def test_ple_last_shared_parameters() -> None:
    model = model_of("ple", TWO_LEVELS, levels=2)
    assert {id(p) for p in model.last_shared_parameters()} == {
        id(p) for e in model.body.levels[1].shared_experts for p in e[0].parameters()}
    # [linear, relu] in two levels: the top experts are a relu; the shared gate below is last
    bare = model_of("ple", levels=2)
    assert {id(p) for p in bare.last_shared_parameters()} == {
        id(p) for p in bare.body.levels[0].shared_gate.parameters()}


def test_ple_has_no_single_representation_above_one_level() -> None:
    model = model_of("ple", TWO_LEVELS, levels=2)
    with pytest.raises(ConfigError) as info:
        model.forward_with_representation(torch.randn(2, 6))
    assert info.value.path == "strategy.grad_mode"


def test_level_bounds_split_the_trunk_into_consecutive_groups() -> None:
    assert level_bounds(4, 2) == [(0, 2), (2, 4)]
    assert level_bounds(5, 2) == [(0, 3), (3, 5)]
    assert level_bounds(3, 3) == [(0, 1), (1, 2), (2, 3)]
    assert level_bounds(0, 1) == [(0, 0)]
    trunk = [*TWO_LEVELS, {"type": "linear", "out_features": 3}]  # 5 layers: [0:3], [3:5]
    rows = {r.where: r for r in summarize(make("ple", trunk, levels=2), FLAT).layers}
    assert rows["trunk[3]"].in_shape == (4,)  # level 2 reads level 1's gated (4,) output
    assert rows["tasks[1].gate[1]"].in_shape == (4,)


def test_ple_refuses_a_trunk_shorter_than_its_levels() -> None:
    s = summarize(make("ple", levels=3), FLAT)  # a 2-layer trunk
    assert s.error_path == "sharing.params.levels" and "3 levels" in s.error
    with pytest.raises(ConfigError, match=r"^sharing\.params\.levels: "):
        build_model(make("ple", levels=3), FLAT, "cpu")


# ----------------------------------------------------------------------------- a run


def _run_config(scheme: str, strategy: dict[str, Any], **params: Any
                ) -> config.ExperimentConfig:
    return config.from_dict({
        "name": "ple smoke",
        "data": {"dataset": "mmoe_synthetic", "val_fraction": 0.25,
                 "params": {"n_samples": 200, "input_dim": 8, "n_sines": 2}},
        "trunk": TWO_LEVELS,
        "sharing": {"scheme": scheme, "params": params},
        "tasks": [{"name": "y1", "head": [{"type": "linear", "out_features": 3}, "relu"]},
                  {"name": "y2"}],
        "strategy": strategy,
        "optimizer": {"name": "adam", "lr": 0.01},
        "training": {"epochs": 2, "batch_size": 32, "seed": 0, "device": "cpu", "log_every": 2},
    })


# PLE with GradNorm (which reads last_shared_parameters), CGC with MGDA on its representation
@pytest.mark.parametrize(("scheme", "params", "strategy"), [
    ("ple", {"levels": 2}, {"name": "gradnorm"}),
    ("cgc", {}, {"name": "mgda", "grad_mode": "representation"})])
def test_a_run_trains_and_its_bundle_exports(scheme: str, params: dict[str, Any],
                                             strategy: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "run"
    events = list(run(_run_config(scheme, strategy, **params), out_dir=out))
    failed = [e for e in events if type(e).__name__ == "RunFailed"]
    assert not failed, failed
    epochs = [e for e in events if type(e).__name__ == "EpochEnded"]
    assert len(epochs) == 2 and all(math.isfinite(v) for v in epochs[-1].val_loss.values())
    loaded = load_bundle(out / "model.pt")
    x = np.random.default_rng(0).normal(size=(7, 8)).astype(np.float32)
    want = loaded.predict(x)
    program = torch.export.load(export_program(out / "model.pt", tmp_path / "m.pt2")).module()
    script = torch.jit.load(str(export_torchscript(out / "model.pt", tmp_path / "m.ts")))
    for module in (program, script):
        for name, value in zip(("y1", "y2"), module(torch.from_numpy(x))):
            assert np.allclose(value.detach().numpy(), want[name], atol=1e-5)
