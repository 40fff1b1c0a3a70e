"""The layer catalogue: shape inference against real forwards, hand-computed shapes and counts."""

from __future__ import annotations

import dataclasses
import math
import warnings
from typing import Any

import pytest
import torch

from mtl_engine.config import LayerSpec
from mtl_engine.errors import ConfigError, ShapeError
from mtl_engine.model.base import resolve
from mtl_engine.registry import LAYERS, schema_of

# Inputs of every rank a layer can meet: flat features, tokens (L, D), a (C, H, W) map.
CANDIDATE_SHAPES = [(8,), (64,), (5, 8), (4, 6, 6)]
SAMPLE_VOCAB = 10  # the vocabulary the contract gives a layer that reads integer ids


def _reads_ids(name: str) -> bool:
    # A layer that reads integer ids (a `vocab` parameter: the embedding) takes int64 ids in
    # [0, vocab), and its default `vocab: 0` ("from the input") is filled in by the branch
    # builder from the dataset; the contract gives it a small vocabulary instead.
    return "vocab" in {p.name for p in LAYERS.get(name).params}


def _sample(name: str, shape: tuple[int, ...], batch: int) -> torch.Tensor:
    if _reads_ids(name):
        return torch.randint(0, SAMPLE_VOCAB, (batch, *shape))
    return torch.randn(batch, *shape)


def _contract_params(name: str) -> dict[str, Any]:
    return {"vocab": SAMPLE_VOCAB} if _reads_ids(name) else {}


def _typed(name: str, **params: Any) -> tuple[Any, Any]:
    """The layer type and its typed parameters, as the model parses a config's layer."""
    return resolve(LayerSpec(name, params), "trunk[0]")


def _infer(name: str, shape: tuple[int, ...], **params: object) -> tuple[int, ...]:
    lt, typed = _typed(name, **params)
    return lt.infer(shape, typed, "trunk[0]")


@pytest.mark.parametrize("name", LAYERS.names())
def test_every_layer_builds_and_matches_its_inferred_shape(name: str) -> None:
    lt, params = _typed(name, **_contract_params(name))
    fitted = 0
    for shape in CANDIDATE_SHAPES:
        try:
            out = lt.infer(shape, params, "trunk[0]")
        except ShapeError:
            continue
        fitted += 1
        module = lt.build(shape, params).eval()
        y = module(_sample(name, shape, 2))
        assert tuple(y.shape) == (2, *out), f"{name} on {shape}"
        assert lt.count(shape, params) == sum(p.numel() for p in module.parameters())
    assert fitted, f"{name} accepts none of {CANDIDATE_SHAPES} with its defaults"


@pytest.mark.parametrize("name", LAYERS.names())
def test_every_layer_traces_for_the_torchscript_export(name: str) -> None:
    lt, params = _typed(name, **_contract_params(name))
    for shape in CANDIDATE_SHAPES:
        try:
            lt.infer(shape, params, "trunk[0]")
        except ShapeError:
            continue
        module = lt.build(shape, params).eval()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # TorchScript's deprecation notice
            traced = torch.jit.trace(module, _sample(name, shape, 2))  # checks a re-run too
        x = _sample(name, shape, 3)
        torch.testing.assert_close(traced(x), module(x))


@pytest.mark.parametrize("name", LAYERS.names())
def test_every_layer_documents_itself(name: str) -> None:
    entry = LAYERS.get(name)
    assert entry.summary.strip()
    for p in entry.params:
        assert p.help.strip(), f"{name}.{p.name} has no help text"
        assert p.check(p.default, f"{name}.{p.name}") == p.default or p.default is None


@pytest.mark.parametrize("name", LAYERS.names())
def test_every_layer_declares_a_hashable_parameter_dataclass(name: str) -> None:
    # The schema comes from the dataclass, and the parameter count cache keys on its instances.
    entry = LAYERS.get(name)
    assert dataclasses.is_dataclass(entry.params_type)
    assert entry.params == schema_of(entry.params_type)
    typed = entry.parse(entry.defaults())
    assert dataclasses.asdict(typed) == entry.defaults()
    assert hash(typed) == hash(entry.parse({}))


def test_parsing_a_layer_fills_defaults_coerces_and_names_the_field() -> None:
    lt, p = _typed("conv2d", out_channels=4.0)
    assert (p.out_channels, p.kernel_size, p.stride, p.padding, p.bias) == (4, 3, 1, 0, True)
    assert isinstance(p.out_channels, int)
    assert _typed("maxpool2d")[1].stride is None  # "empty = kernel_size"
    with pytest.raises(ConfigError, match=r"^trunk\[0\]\.kernel_size: must be a positive "
                                          r"integer, got 0$"):
        _typed("conv2d", kernel_size=0)
    with pytest.raises(ConfigError, match=r"^trunk\[0\]\.type: unknown layer 'conv3d'"):
        _typed("conv3d")


def test_lenet_trunk_shapes_and_counts_from_methods_md() -> None:
    # MultiMNIST LeNet (Sener & Koltun 2018): conv 1->10 k5, pool 2, relu, conv 10->20 k5,
    # dropout, pool 2, relu, flatten, linear 320->50.
    layers = [("conv2d", {"out_channels": 10, "kernel_size": 5}), ("maxpool2d", {"kernel_size": 2}),
              ("relu", {}), ("conv2d", {"out_channels": 20, "kernel_size": 5}), ("dropout", {}),
              ("maxpool2d", {"kernel_size": 2}), ("relu", {}), ("flatten", {}),
              ("linear", {"out_features": 50})]
    shape: tuple[int, ...] = (1, 28, 28)
    shapes, counts = [], []
    for name, params in layers:
        lt, typed = _typed(name, **params)
        counts.append(lt.count(shape, typed))
        shape = lt.infer(shape, typed, "trunk")
        shapes.append(shape)
    assert shapes[0] == (10, 24, 24)
    assert shapes[1] == (10, 12, 12)
    assert shapes[3] == (20, 8, 8)
    assert shapes[7] == (320,)  # the 320 features the linear layer reads
    assert shapes[8] == (50,)
    # 10*1*5*5+10, 20*10*5*5+20, 320*50+50
    assert counts == [260, 0, 0, 5020, 0, 0, 0, 0, 16050]


@pytest.mark.parametrize(("name", "shape", "params", "expected"), [
    ("conv2d", (3, 7, 7), {"out_channels": 4, "kernel_size": 3, "stride": 2, "padding": 1},
     (4, 4, 4)),  # (7 + 2 - 3) // 2 + 1 = 4
    ("conv2d", (3, 5, 9), {"out_channels": 6, "kernel_size": 1}, (6, 5, 9)),  # 1x1 mapping
    ("maxpool2d", (2, 5, 5), {"kernel_size": 2}, (2, 2, 2)),  # stride defaults to the kernel
    ("avgpool2d", (2, 7, 7), {"kernel_size": 3, "stride": 1}, (2, 5, 5)),
    ("adaptive_avgpool2d", (5, 9, 7), {"height": 2, "width": 3}, (5, 2, 3)),
    ("adaptive_maxpool2d", (5, 9, 7), {"height": 1, "width": 1}, (5, 1, 1)),
    ("flatten", (3, 4, 5), {}, (60,)),
    ("unflatten", (64,), {"channels": 1, "height": 8, "width": 8}, (1, 8, 8)),
    ("self_attention", (8, 3, 3), {"num_heads": 4}, (8, 3, 3)),
    ("self_attention", (5, 6), {"num_heads": 3}, (5, 6)),
])
def test_shapes_against_hand_computed_values(name: str, shape: tuple[int, ...],
                                             params: dict, expected: tuple[int, ...]) -> None:
    assert _infer(name, shape, **params) == expected


@pytest.mark.parametrize(("name", "shape", "params", "expected"), [
    ("conv2d", (3, 8, 8), {"out_channels": 6, "kernel_size": 1}, 3 * 6 + 6),
    ("conv2d", (3, 8, 8), {"out_channels": 6, "kernel_size": 3, "bias": False}, 6 * 3 * 9),
    ("batchnorm", (7,), {}, 14),
    ("batchnorm", (4, 5, 5), {}, 8),  # per channel, not per pixel
    ("layernorm", (4, 5, 5), {}, 8),  # per pixel over channels
    ("layernorm", (5, 6), {}, 12),  # per token over its width
    ("self_attention", (8, 3, 3), {"num_heads": 2}, 4 * 8 * 8 + 4 * 8),  # q, k, v, out proj.
    ("linear", (10,), {"out_features": 3, "bias": False}, 30),
])
def test_parameter_counts_against_hand_computed_values(name: str, shape: tuple[int, ...],
                                                       params: dict, expected: int) -> None:
    lt, typed = _typed(name, **params)
    assert lt.count(shape, typed) == expected


def test_counting_allocates_nothing() -> None:
    # 1e10 parameters would need 40 GB if they were allocated; the meta device gives the count.
    lt, typed = _typed("linear", out_features=100_000)
    n = lt.count((100_000,), typed)
    assert n == 100_000 * 100_000 + 100_000


@pytest.mark.parametrize(("name", "shape", "params", "words"), [
    ("linear", (4, 6, 6), {}, ["flat input", "add a flatten layer"]),
    ("conv2d", (2, 3, 3), {"kernel_size": 5}, ["kernel 5 is larger than the 3x3 input"]),
    ("conv2d", (12,), {}, ["(C, H, W)", "unflatten"]),
    ("maxpool2d", (2, 1, 1), {"kernel_size": 2}, ["kernel 2 is larger than the 1x1 input"]),
    ("self_attention", (8, 3, 3), {"num_heads": 3}, ["num_heads 3", "= 8"]),
    ("self_attention", (8,), {}, ["tokens (L, D)"]),
    ("batchnorm", (5, 6), {}, ["layernorm"]),
    ("unflatten", (50,), {"channels": 1, "height": 8, "width": 8}, ["= 64", "50 features"]),
])
def test_shape_errors_name_the_layer_and_the_shapes(name: str, shape: tuple[int, ...],
                                                    params: dict, words: list[str]) -> None:
    lt, typed = _typed(name, **params)
    with pytest.raises(ShapeError) as info:
        lt.infer(shape, typed, "tasks[1].head[2]")
    err = info.value
    assert err.path == "tasks[1].head[2]"
    assert err.layer == name
    text = str(err)
    assert text.startswith("tasks[1].head[2]: ")
    assert "(" + ", ".join(map(str, shape)) + ")" in text
    for w in words:
        assert w in text


def test_self_attention_residual_adds_the_input_back() -> None:
    x = torch.randn(3, 4, 2, 5)
    for residual, expected in ((True, x), (False, torch.zeros_like(x))):
        lt, typed = _typed("self_attention", num_heads=2, residual=residual)
        module = lt.build((4, 2, 5), typed)
        with torch.no_grad():  # a zero output projection makes attention(x) exactly 0
            module.out.weight.zero_()
            module.out.bias.zero_()
        torch.testing.assert_close(module(x), expected)


def test_self_attention_equals_softmax_qk_v_by_hand() -> None:
    torch.manual_seed(1)
    lt, typed = _typed("self_attention", num_heads=2, residual=False)
    module = lt.build((3, 4), typed)
    x = torch.randn(2, 3, 4)
    q, k, v = module.qkv(x).chunk(3, dim=-1)
    heads = []
    for h in range(2):  # each head sees 2 of the 4 features
        cols = slice(2 * h, 2 * h + 2)
        scores = q[..., cols] @ k[..., cols].transpose(1, 2) / math.sqrt(2)
        heads.append(torch.softmax(scores, dim=-1) @ v[..., cols])
    torch.testing.assert_close(module(x), module.out(torch.cat(heads, dim=-1)))


def test_self_attention_mixes_positions_of_a_feature_map() -> None:
    # Tokens are pixels: changing one pixel changes the output at the other pixels.
    torch.manual_seed(0)
    lt, typed = _typed("self_attention", residual=False)
    module = lt.build((4, 2, 2), typed)
    x = torch.randn(1, 4, 2, 2)
    y = x.clone()
    y[0, :, 0, 0] += 1.0
    assert not torch.allclose(module(x)[0, :, 1, 1], module(y)[0, :, 1, 1])


def test_layernorm_on_a_map_normalises_each_pixel_over_channels() -> None:
    lt, typed = _typed("layernorm")
    module = lt.build((6, 3, 4), typed)
    y = module(torch.randn(2, 6, 3, 4) * 5 + 3)
    torch.testing.assert_close(y.mean(dim=1), torch.zeros(2, 3, 4), atol=1e-5, rtol=0)
    torch.testing.assert_close(y.var(dim=1, unbiased=False), torch.ones(2, 3, 4), atol=1e-3,
                               rtol=0)


def test_leaky_relu_slope_and_dropout_probability_reach_the_module() -> None:
    lt, typed = _typed("leaky_relu", negative_slope=0.1)
    leaky = lt.build((2,), typed)
    torch.testing.assert_close(leaky(torch.tensor([[-2.0, 3.0]])), torch.tensor([[-0.2, 3.0]]))
    lt, typed = _typed("dropout", p=0.25)
    drop = lt.build((4,), typed)
    assert math.isclose(drop.p, 0.25)
    # Inverted dropout: kept values are scaled by 1/(1-p) while training.
    y = drop.train()(torch.ones(1, 10_000))
    kept = y[y != 0]
    torch.testing.assert_close(kept, torch.full_like(kept, 1 / 0.75))
    assert 0 < kept.numel() < 10_000
