"""The model summary and MultiTaskModel: shapes, counts, outputs, errors, parameter groups."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from mtl_engine import config
from mtl_engine.data.base import DatasetSpec, DataTask
from mtl_engine.errors import ConfigError, ShapeError
from mtl_engine.model import build_model, summarize

from .specs import FLAT

DATASET = "digits"  # config.from_dict checks the name only; shapes come from the specs
MNIST = DatasetSpec("mnist", (1, 28, 28), (DataTask("left", "classification", 10),
                                          DataTask("right", "classification", 10)), 10)

LENET = [{"type": "conv2d", "out_channels": 10, "kernel_size": 5},
         {"type": "maxpool2d", "kernel_size": 2}, "relu",
         {"type": "conv2d", "out_channels": 20, "kernel_size": 5}, {"type": "dropout", "p": 0.5},
         {"type": "maxpool2d", "kernel_size": 2}, "relu", "flatten",
         {"type": "linear", "out_features": 50}, "relu"]
LENET_HEAD = [{"type": "linear", "out_features": 50}, "relu"]


def make(trunk: list[Any], tasks: list[dict[str, Any]], scheme: str = "hard",
         **params: Any) -> config.ExperimentConfig:
    return config.from_dict({"data": {"dataset": DATASET}, "trunk": trunk, "tasks": tasks,
                             "sharing": {"scheme": scheme, "params": params}})


def flat_config(scheme: str = "hard", **params: Any) -> config.ExperimentConfig:
    return make([{"type": "linear", "out_features": 5}, "relu"],
                [{"name": "a", "head": [{"type": "linear", "out_features": 4}, "tanh"]},
                 {"name": "b"}, {"name": "c"}], scheme, **params)


def test_lenet_summary_matches_hand_counts() -> None:
    cfg = make(LENET, [{"name": "left", "head": LENET_HEAD}, {"name": "right", "head": LENET_HEAD}])
    s = summarize(cfg, MNIST)
    assert s.ok and s.error is None
    rows = {r.where: r for r in s.layers}
    assert rows["trunk[7]"].out_shape == (320,)
    assert rows["trunk[8]"].in_shape == (320,) and rows["trunk[8]"].n_params == 16050
    assert s.representation_shape == (50,)
    assert s.shared_params == 260 + 5020 + 16050
    # head: linear 50->50 (2550) + automatic output 50->10 (510)
    assert s.task_params == {"left": 3060, "right": 3060}
    assert rows["tasks[1].output"].n_params == 510 and rows["tasks[1].output"].out_shape == (10,)
    assert s.total_params == 21330 + 2 * 3060
    assert s.param_counts() == {"shared": 21330, "left": 3060, "right": 3060, "total": 27450}
    model = build_model(cfg, MNIST, "cpu")
    assert sum(p.numel() for p in model.parameters()) == 27450
    out = model(torch.randn(4, 1, 28, 28))
    assert {k: tuple(v.shape) for k, v in out.items()} == {"left": (4, 10), "right": (4, 10)}


def test_outputs_by_task_type() -> None:
    model = build_model(flat_config(), FLAT, "cpu")
    assert model.task_names == ("a", "b", "c")
    out = model(torch.randn(7, 6))
    assert tuple(out["a"].shape) == (7, 3)  # class logits
    assert tuple(out["b"].shape) == (7,)  # one logit
    assert tuple(out["c"].shape) == (7,)  # one value


def test_disabled_tasks_get_no_head_and_paths_keep_config_indices() -> None:
    cfg = make(["flatten"], [{"name": "a", "enabled": False}, {"name": "c"}])
    s = summarize(cfg, FLAT)
    assert [r.where for r in s.layers] == ["trunk[0]", "tasks[1].output"]
    model = build_model(cfg, FLAT, "cpu")
    assert model.task_names == ("c",)


def test_shape_error_is_reported_in_the_table_and_raised_by_build() -> None:
    # The trunk ends on a feature map; the head's linear layer needs a flat input.
    cfg = make([{"type": "conv2d", "out_channels": 4, "kernel_size": 3}],
               [{"name": "left", "head": [{"type": "linear", "out_features": 8}, "relu"]},
                {"name": "right"}])
    s = summarize(cfg, MNIST)
    assert not s.ok
    assert s.error_path == "tasks[0].head[0]"
    assert "(4, 26, 26)" in s.error and "flatten" in s.error
    rows = {r.where: r for r in s.layers}
    assert rows["tasks[0].head[0]"].error is not None
    assert rows["tasks[0].head[1]"].in_shape is None  # unknown after the failure
    assert rows["tasks[1].output"].error is not None  # the other task fails on its own
    with pytest.raises(ShapeError) as info:
        build_model(cfg, MNIST, "cpu")
    assert info.value.path == "tasks[0].head[0]"
    assert info.value.in_shape == (4, 26, 26)


def test_conv_kernel_too_large_names_the_trunk_layer() -> None:
    cfg = make([{"type": "conv2d", "out_channels": 4, "kernel_size": 5}, "flatten"],
               [{"name": "a"}])
    spec = DatasetSpec("tiny", (1, 3, 3), (DataTask("a", "classification", 3),), 1)
    s = summarize(cfg, spec)
    assert s.error_path == "trunk[0]"
    assert "kernel 5 is larger than the 3x3 input" in s.error


def test_summary_reports_config_errors_instead_of_raising() -> None:
    cfg = make(["flatten"], [{"name": "nope"}])
    s = summarize(cfg, FLAT)
    assert not s.ok and s.error_path == "tasks[0].name" and "nope" in s.error
    with pytest.raises(ConfigError):
        build_model(cfg, FLAT, "cpu")


def test_summary_of_a_huge_model_allocates_nothing() -> None:
    cfg = make(["flatten", {"type": "linear", "out_features": 200_000}], [{"name": "c"}])
    spec = DatasetSpec("wide", (100_000,), (DataTask("c", "regression", 1, "mse", "mse"),), 1)
    s = summarize(cfg, spec)  # 2e10 trunk parameters: 80 GB if they were allocated
    assert s.shared_params == 100_000 * 200_000 + 200_000
    assert s.task_params == {"c": 200_001}


def test_representation_gradient_is_the_output_weight() -> None:
    # Task c is an output linear on the trunk output z: d(sum of outputs)/dz = its weight row.
    model = build_model(flat_config(), FLAT, "cpu")
    out, rep = model.forward_with_representation(torch.randn(5, 6))
    assert tuple(rep.shape) == (5, 5) and rep.requires_grad
    (g,) = torch.autograd.grad(out["c"].sum(), rep)
    w = model.heads[2][-1].weight  # the automatic output layer of task c
    torch.testing.assert_close(g, w.expand(5, -1))


def test_representation_requires_grad_without_trunk_parameters() -> None:
    model = build_model(make(["relu"], [{"name": "a"}, {"name": "c"}]), FLAT, "cpu")
    out, rep = model.forward_with_representation(torch.randn(3, 6))
    assert rep.requires_grad
    (g,) = torch.autograd.grad(out["a"].sum(), rep)
    assert tuple(g.shape) == (3, 6)
    assert model.last_shared_parameters() == []


@pytest.mark.parametrize("scheme", ["soft", "cross_stitch"])
def test_schemes_without_one_representation_say_use_shared(scheme: str) -> None:
    model = build_model(flat_config(scheme), FLAT, "cpu")
    with pytest.raises(ConfigError) as info:
        model.forward_with_representation(torch.randn(2, 6))
    assert info.value.path == "strategy.grad_mode"
    assert "'shared'" in str(info.value)


def test_last_shared_parameters_are_the_last_trunk_layer_with_parameters() -> None:
    cfg = make([{"type": "linear", "out_features": 5}, "relu",
                {"type": "linear", "out_features": 4}, "relu", {"type": "dropout"}],
               [{"name": "a"}, {"name": "c"}])
    model = build_model(cfg, FLAT, "cpu")
    last = model.body.trunk[2]
    assert [id(p) for p in model.last_shared_parameters()] == [id(last.weight), id(last.bias)]


def test_build_places_the_model_on_the_device() -> None:
    model = build_model(flat_config(), FLAT, torch.device("cpu"))
    assert {p.device.type for p in model.parameters()} == {"cpu"}
    assert model.summary.total_params == sum(p.numel() for p in model.parameters())


def test_layer_rows_are_plain_data() -> None:
    s = summarize(flat_config("mmoe"), FLAT)
    d = s.layers[0].to_dict()
    assert d == {"where": "trunk[0]", "type": "linear", "in_shape": (6,), "out_shape": (5,),
                 "n_params": 4 * 35, "error": None, "copies": 4, "owner": "shared"}
