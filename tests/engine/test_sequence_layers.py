"""Sequence layers (embedding, lstm, gru, token_pool, conv1d) and the merges cross_attention and
concat_fusion: shapes and counts by hand, padding that never leaks, the masked results against
direct computations, and the TorchScript / torch.export round trips."""

from __future__ import annotations

import math
import warnings
from typing import Any

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from mtl_engine.config import LayerSpec
from mtl_engine.errors import ConfigError, ShapeError
from mtl_engine.model.base import resolve
from mtl_engine.model.layers_recurrent import reverse_within_length
from mtl_engine.model.merge import merge_type

PATH = "branches.text[1]"


def _layer(name: str, shape: tuple[int, ...], **params: Any) -> tuple[Any, Any, nn.Module]:
    lt, typed = resolve(LayerSpec(name, params), PATH)
    lt.infer(shape, typed, PATH)
    torch.manual_seed(0)
    return lt, typed, lt.build(shape, typed).eval()


def _merge(name: str, shapes: dict[str, tuple[int, ...]], **params: Any) -> nn.Module:
    mt = merge_type(name)
    typed = mt.parse(params, "merge")
    mt.infer(shapes, typed, "merge")
    torch.manual_seed(0)
    return mt.build(shapes, typed).eval()


def _mask(lengths: list[int], length: int) -> torch.Tensor:
    return torch.arange(length)[None, :] < torch.tensor(lengths)[:, None]


def _count(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


# -- shapes and counts --------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "shape", "params", "expected"), [
    ("embedding", (), {"vocab": 10, "dim": 4}, (4,)),  # one id
    ("embedding", (7,), {"vocab": 10, "dim": 4, "padding_idx": 0}, (7, 4)),
    ("lstm", (7, 5), {"hidden_size": 4}, (7, 4)),
    ("lstm", (7, 5), {"hidden_size": 4, "bidirectional": True, "num_layers": 2}, (7, 8)),
    ("gru", (7, 5), {"hidden_size": 3, "bidirectional": True}, (7, 6)),
    ("token_pool", (7, 6), {"mode": "mean"}, (6,)),
    ("token_pool", (7, 6), {"mode": "ends"}, (6,)),
    ("conv1d", (7, 5), {"out_channels": 3, "kernel_size": 5}, (7, 3)),
])
def test_layer_shapes_against_hand_computed_values(name: str, shape: tuple[int, ...],
                                                   params: dict, expected: tuple[int, ...]
                                                   ) -> None:
    lt, typed, module = _layer(name, shape, **params)
    assert lt.infer(shape, typed, PATH) == expected
    if name == "embedding":
        x = torch.randint(1, 10, (2, *shape))
        y = module(x)
    else:
        x = torch.randn(2, *shape)
        y = module(x, _mask([shape[0], 3], shape[0]))
    assert tuple(y.shape) == (2, *expected)


@pytest.mark.parametrize(("name", "shape", "params", "expected"), [
    ("embedding", (7,), {"vocab": 10, "dim": 4}, 40),
    # torch's LSTM has two bias vectors (b_ih, b_hh): 4H(D + H) + 2 * 4H per direction and layer
    ("lstm", (7, 5), {"hidden_size": 4}, 4 * 4 * (5 + 4 + 2)),  # 176
    # layer 0 reads D = 5, layer 1 reads both directions of layer 0 (8 wide); two directions each
    ("lstm", (7, 5), {"hidden_size": 4, "num_layers": 2, "bidirectional": True},
     2 * 4 * 4 * (5 + 4 + 2) + 2 * 4 * 4 * (8 + 4 + 2)),  # 352 + 448
    ("gru", (7, 5), {"hidden_size": 4}, 3 * 4 * (5 + 4 + 2)),  # 132
    ("gru", (7, 5), {"hidden_size": 4, "num_layers": 2, "bidirectional": True},
     2 * 3 * 4 * (5 + 4 + 2) + 2 * 3 * 4 * (8 + 4 + 2)),
    ("conv1d", (7, 5), {"out_channels": 3, "kernel_size": 3}, 3 * 5 * 3 + 3),
    ("conv1d", (7, 5), {"out_channels": 3, "kernel_size": 1, "bias": False}, 15),
    ("token_pool", (7, 5), {}, 0),
])
def test_layer_parameter_counts_against_hand_computed_values(name: str, shape: tuple[int, ...],
                                                             params: dict, expected: int) -> None:
    lt, typed, module = _layer(name, shape, **params)
    assert lt.count(shape, typed) == expected == _count(module)


def test_recurrent_counts_match_torchs_own_stacked_bidirectional_modules() -> None:
    for name, torch_cls in (("lstm", nn.LSTM), ("gru", nn.GRU)):
        lt, typed, _ = _layer(name, (7, 5), hidden_size=6, num_layers=3, bidirectional=True)
        reference = torch_cls(5, 6, num_layers=3, bidirectional=True)
        assert lt.count((7, 5), typed) == _count(reference)


@pytest.mark.parametrize(("name", "shapes", "params", "expected", "n_params"), [
    # queries: a (4, 3, 3) map = 9 tokens of width 4; keys: 5 tokens of width 6; dim 8.
    # embed 4*8+8, q 8*8+8, k 6*8+8, v 6*8+8, out 8*8+8
    ("cross_attention", {"img": (4, 3, 3), "txt": (5, 6)}, {"dim": 8, "pool": False},
     (9, 8), 40 + 72 + 56 + 56 + 72),
    ("cross_attention", {"img": (4, 3, 3), "txt": (5, 6)}, {"dim": 8, "query": "txt"},
     (8,), (6 * 8 + 8) + 72 + (4 * 8 + 8) * 2 + 72),
    ("cross_attention", {"user": (3,), "txt": (5, 6)}, {"dim": 4, "pool": False},
     (1, 4), (3 * 4 + 4) + 20 + (6 * 4 + 4) * 2 + 20),  # a flat output is one token
    ("concat_fusion", {"a": (4, 3, 3), "b": (2, 3, 3)}, {"width": 5}, (5, 3, 3), 6 * 5 + 5),
    ("concat_fusion", {"a": (3,), "b": (7,), "c": (2,)}, {"width": 4}, (4,), 12 * 4 + 4),
])
def test_merge_shapes_and_counts_against_hand_computed_values(
        name: str, shapes: dict, params: dict, expected: tuple[int, ...], n_params: int) -> None:
    mt = merge_type(name)
    typed = mt.parse(params, "merge")
    assert mt.infer(shapes, typed, "merge") == expected
    module = mt.build(shapes, typed)
    assert _count(module) == n_params
    feats = {k: torch.randn(2, *s) for k, s in shapes.items()}
    assert tuple(module(feats, {}).shape) == (2, *expected)


def test_mask_aware_layers_say_so() -> None:
    for name, takes in (("lstm", True), ("gru", True), ("token_pool", True), ("conv1d", True),
                        ("embedding", False)):
        assert resolve(LayerSpec(name, {}))[0].takes_mask is takes, name


# -- embedding ----------------------------------------------------------------------------------
def test_embedding_padding_row_is_zero_and_gets_no_gradient() -> None:
    _, _, module = _layer("embedding", (4,), vocab=6, dim=3, padding_idx=0)
    ids = torch.tensor([[2, 5, 0, 0], [1, 0, 0, 0]])
    y = module(ids)
    torch.testing.assert_close(y[ids == 0], torch.zeros(5, 3))
    y.sum().backward()
    grad = module.weight.grad
    assert torch.count_nonzero(grad[0]) == 0
    torch.testing.assert_close(grad[2], torch.ones(3))  # one use of id 2: d sum / d row = 1
    torch.testing.assert_close(module(torch.tensor([2, 5])), module.weight[[2, 5]])  # ids ()


def test_embedding_without_padding_idx_trains_every_row() -> None:
    _, _, module = _layer("embedding", (3,), vocab=4, dim=2)  # -1 left: no padding
    assert module.padding_idx is None
    module(torch.tensor([[0, 0, 3]])).sum().backward()
    torch.testing.assert_close(module.weight.grad[0], torch.full((2,), 2.0))


# -- recurrent layers: padding never leaks ------------------------------------------------------
RECURRENT_CASES = [
    ("lstm", {"hidden_size": 3}),
    ("lstm", {"hidden_size": 3, "num_layers": 2, "bidirectional": True, "dropout": 0.5}),
    ("gru", {"hidden_size": 3, "num_layers": 2}),
    ("gru", {"hidden_size": 3, "num_layers": 2, "bidirectional": True, "dropout": 0.5}),
]


@pytest.mark.parametrize(("name", "params"), RECURRENT_CASES)
def test_recurrent_real_positions_equal_the_unpadded_sequence_for_every_length(
        name: str, params: dict) -> None:
    L, D = 6, 4
    _, _, module = _layer(name, (L, D), **params)  # eval(): the dropout between layers is off
    lengths = [1, 2, 3, 4, 5, 6]
    x = torch.randn(len(lengths), L, D)
    with torch.no_grad():
        padded = module(x, _mask(lengths, L))
        for b, n in enumerate(lengths):
            alone = module(x[b:b + 1, :n], None)
            torch.testing.assert_close(padded[b:b + 1, :n], alone)
            assert torch.count_nonzero(padded[b, n:]) == 0  # padded outputs are 0


@pytest.mark.parametrize(("name", "params"), RECURRENT_CASES)
def test_changing_padded_features_changes_nothing(name: str, params: dict) -> None:
    _, _, module = _layer(name, (6, 4), **params)
    x = torch.randn(3, 6, 4)
    mask = _mask([2, 6, 4], 6)
    y = x.clone()
    y[~mask] = torch.randn(int((~mask).sum()), 4) * 100
    with torch.no_grad():
        torch.testing.assert_close(module(x, mask), module(y, mask))


@pytest.mark.parametrize(("name", "torch_cls"), [("lstm", nn.LSTM), ("gru", nn.GRU)])
def test_stacked_bidirectional_equals_torchs_module_with_the_same_weights(
        name: str, torch_cls: type) -> None:
    # An independent reference: torch's own 2-layer bidirectional cell on unpadded sequences.
    _, _, module = _layer(name, (5, 4), hidden_size=3, num_layers=2, bidirectional=True)
    reference = torch_cls(4, 3, num_layers=2, bidirectional=True, batch_first=True).eval()
    with torch.no_grad():
        for k, layer in enumerate(module.layers):
            for suffix, cell in (("", layer.forward_cell), ("_reverse", layer.backward_cell)):
                for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                    getattr(reference, f"{kind}_l{k}{suffix}").copy_(getattr(cell, f"{kind}_l0"))
        x = torch.randn(3, 5, 4)
        torch.testing.assert_close(module(x, None), reference(x)[0])
        lengths = [2, 5, 3]
        mask = _mask(lengths, 5)
        padded = module(x, mask)
        ends = _layer("token_pool", (5, 6), mode="ends")[2](padded, mask)
        for b, n in enumerate(lengths):
            out, state = reference(x[b:b + 1, :n])
            torch.testing.assert_close(padded[b:b + 1, :n], out)
            # token_pool "ends" is the last layer's final state of both directions (h_n)
            h_n = state[0] if isinstance(state, tuple) else state
            torch.testing.assert_close(ends[b], torch.cat([h_n[-2, 0], h_n[-1, 0]]))


def test_reverse_within_length_by_hand() -> None:
    x = torch.tensor([[1.0, 2.0, 3.0, 9.0], [5.0, 6.0, 7.0, 8.0]]).unsqueeze(-1)
    out = reverse_within_length(x, torch.tensor([3, 4])).squeeze(-1)
    torch.testing.assert_close(out, torch.tensor([[3.0, 2.0, 1.0, 9.0], [8.0, 7.0, 6.0, 5.0]]))


def test_embedding_then_lstm_ignores_the_ids_at_padded_positions() -> None:
    torch.manual_seed(0)
    emb = _layer("embedding", (5,), vocab=20, dim=4, padding_idx=0)[2]
    rnn = _layer("lstm", (5, 4), hidden_size=3, bidirectional=True)[2]
    pool = _layer("token_pool", (5, 6), mode="ends")[2]
    ids = torch.tensor([[3, 4, 0, 0, 0], [7, 8, 9, 10, 0]])
    other = ids.clone()
    other[ids == 0] = 19  # what a wrongly padded batch would hold there
    mask = ids != 0  # the padding mask: True at real tokens
    with torch.no_grad():
        a = rnn(emb(ids), mask)
        b = rnn(emb(other), mask)
        torch.testing.assert_close(a, b)
        torch.testing.assert_close(pool(a, mask), pool(b, mask))


# -- token_pool ---------------------------------------------------------------------------------
def test_token_pool_modes_against_hand_computed_values() -> None:
    x = torch.tensor([[[1.0, -4.0, 2.0, 0.0], [3.0, 0.0, -1.0, 5.0], [100.0, 100.0, 100.0,
                                                                      100.0]]])
    mask = torch.tensor([[True, True, False]])  # the 100s are padding
    expected = {
        "last": [3.0, 0.0, -1.0, 5.0],
        "first": [1.0, -4.0, 2.0, 0.0],
        "mean": [2.0, -2.0, 0.5, 2.5],
        "max": [3.0, 0.0, 2.0, 5.0],
        "ends": [3.0, 0.0, 2.0, 0.0],  # forward half at the last real token, backward at 0
    }
    for mode, values in expected.items():
        module = _layer("token_pool", (3, 4), mode=mode)[2]
        torch.testing.assert_close(module(x, mask), torch.tensor([values]), msg=mode)
    unmasked = _layer("token_pool", (3, 4), mode="last")[2](x, None)
    torch.testing.assert_close(unmasked, x[:, 2])  # no mask: every position is real


def test_token_pool_of_an_all_padding_sequence_is_zero() -> None:
    x = torch.randn(1, 3, 2)
    mask = torch.zeros(1, 3, dtype=torch.bool)
    for mode in ("mean", "max"):
        out = _layer("token_pool", (3, 2), mode=mode)[2](x, mask)
        torch.testing.assert_close(out, torch.zeros(1, 2))


# -- conv1d -------------------------------------------------------------------------------------
def test_conv1d_by_hand_with_a_sum_kernel() -> None:
    _, _, module = _layer("conv1d", (4, 1), out_channels=1, kernel_size=3)
    with torch.no_grad():
        module.conv.weight.fill_(1.0)
        module.conv.bias.zero_()
    x = torch.tensor([[1.0, 2.0, 3.0, 9.0]]).unsqueeze(-1)  # 9 is padding
    out = module(x, _mask([3], 4)).squeeze(-1)
    # as if zero-padded beyond the end: [0+1+2, 1+2+3, 2+3+0, 0]
    torch.testing.assert_close(out, torch.tensor([[3.0, 6.0, 5.0, 0.0]]))
    torch.testing.assert_close(module(x, None).squeeze(-1), torch.tensor([[3.0, 6.0, 14.0, 12.0]]))


def test_conv1d_real_positions_equal_the_sequence_zero_padded_beyond_its_end() -> None:
    _, _, module = _layer("conv1d", (6, 3), out_channels=2, kernel_size=5)
    x = torch.randn(3, 6, 3)
    lengths = [1, 4, 6]
    with torch.no_grad():
        out = module(x, _mask(lengths, 6))
        for b, n in enumerate(lengths):
            alone = F.conv1d(x[b:b + 1, :n].transpose(1, 2), module.conv.weight,
                             module.conv.bias, padding=2).transpose(1, 2)
            torch.testing.assert_close(out[b:b + 1, :n], alone)
            assert torch.count_nonzero(out[b, n:]) == 0


# -- cross_attention ----------------------------------------------------------------------------
def _attend_by_hand(m: nn.Module, queries: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
    """One head, batch of one: x + out(softmax(Q K^T / sqrt(d)) V), queries / keys (N, C)."""
    x = m.embed(queries)
    q, k, v = m.q(x), m.k(keys), m.v(keys)
    scores = torch.empty(q.shape[0], k.shape[0])
    for i in range(q.shape[0]):
        for j in range(k.shape[0]):
            scores[i, j] = (q[i] * k[j]).sum() / math.sqrt(q.shape[1])
    weights = scores.exp() / scores.exp().sum(dim=1, keepdim=True)
    return x + m.out(weights @ v)


def test_cross_attention_equals_softmax_qk_v_by_hand_and_ignores_padded_keys() -> None:
    shapes = {"img": (2, 1, 3), "txt": (4, 5)}  # 3 pixel queries of width 2; 4 text tokens
    module = _merge("cross_attention", shapes, dim=4, pool=False)
    img = torch.randn(1, 2, 1, 3)
    txt = torch.randn(1, 4, 5)
    with torch.no_grad():
        full = module({"img": img, "txt": txt}, {})
        torch.testing.assert_close(full[0], _attend_by_hand(module, img[0].flatten(1).T, txt[0]))
        mask = _mask([2], 4)
        masked = module({"img": img, "txt": txt}, {"txt": mask})
        torch.testing.assert_close(masked[0], _attend_by_hand(module, img[0].flatten(1).T,
                                                              txt[0, :2]))
        changed = txt.clone()
        changed[0, 2:] = 1000.0
        torch.testing.assert_close(module({"img": img, "txt": changed}, {"txt": mask}), masked)


def test_cross_attention_with_several_heads_equals_per_head_attention() -> None:
    shapes = {"a": (3, 4), "b": (5, 6)}
    module = _merge("cross_attention", shapes, dim=4, heads=2, pool=False)
    a, b = torch.randn(1, 3, 4), torch.randn(1, 5, 6)
    with torch.no_grad():
        x = module.embed(a[0])
        q, k, v = module.q(x), module.k(b[0]), module.v(b[0])
        heads = [torch.softmax(q[:, h] @ k[:, h].T / math.sqrt(2), dim=-1) @ v[:, h]
                 for h in (slice(0, 2), slice(2, 4))]
        expected = x + module.out(torch.cat(heads, dim=1))
        torch.testing.assert_close(module({"a": a, "b": b}, {})[0], expected)


def test_cross_attention_masked_queries_and_pooling() -> None:
    shapes = {"q": (4, 3), "k": (5, 3)}
    pooled = _merge("cross_attention", shapes, dim=6)
    tokens = _merge("cross_attention", shapes, dim=6, pool=False)
    q, k = torch.randn(2, 4, 3), torch.randn(2, 5, 3)
    masks = {"q": _mask([2, 4], 4), "k": _mask([5, 1], 5)}
    with torch.no_grad():
        per_query = tokens({"q": q, "k": k}, masks)
        assert torch.count_nonzero(per_query[0, 2:]) == 0
        torch.testing.assert_close(pooled({"q": q, "k": k}, masks),
                                   torch.stack([per_query[0, :2].mean(0), per_query[1].mean(0)]))
        # keys all padding: attention gives 0, the output is the embedded queries
        none = {"q": masks["q"], "k": torch.zeros(2, 5, dtype=torch.bool)}
        out = tokens({"q": q, "k": k}, none)
        assert torch.isfinite(out).all()
        torch.testing.assert_close(out[1], tokens.embed(q[1]))


# -- concat_fusion ------------------------------------------------------------------------------
def test_concat_fusion_1x1_conv_equals_a_linear_map_of_the_concatenated_channels() -> None:
    shapes = {"a": (3, 2, 4), "b": (2, 2, 4)}
    module = _merge("concat_fusion", shapes, width=5)
    a, b = torch.randn(2, 3, 2, 4), torch.randn(2, 2, 2, 4)
    with torch.no_grad():
        out = module({"a": a, "b": b}, {})
        joined = torch.cat([a, b], dim=1)  # (2, 5 channels, 2, 4)
        w = module.fuse.weight.view(5, 5)
        for i in range(2):
            for j in range(4):
                pixel = joined[:, :, i, j] @ w.T + module.fuse.bias
                torch.testing.assert_close(out[:, :, i, j], pixel)


def test_concat_fusion_of_flat_features_is_a_linear_layer_in_branch_order() -> None:
    module = _merge("concat_fusion", {"u": (2,), "v": (3,)}, width=1, bias=False)
    with torch.no_grad():
        module.fuse.weight.copy_(torch.tensor([[1.0, 2.0, 10.0, 20.0, 30.0]]))
    out = module({"v": torch.tensor([[1.0, 1.0, 1.0]]), "u": torch.tensor([[1.0, 1.0]])}, {})
    torch.testing.assert_close(out, torch.tensor([[63.0]]))


# -- TorchScript and torch.export ---------------------------------------------------------------
LAYER_EXPORTS = [
    ("lstm", (5, 4), {"hidden_size": 3, "num_layers": 2, "bidirectional": True}),
    ("gru", (5, 4), {"hidden_size": 3, "bidirectional": True}),
    ("token_pool", (5, 4), {"mode": "ends"}),
    ("conv1d", (5, 4), {"out_channels": 2}),
]


@pytest.mark.parametrize(("name", "shape", "params"), LAYER_EXPORTS)
def test_mask_aware_layers_script_and_export_with_the_mask(name: str, shape: tuple[int, ...],
                                                           params: dict) -> None:
    _, _, module = _layer(name, shape, **params)
    x = torch.randn(3, *shape)
    mask = _mask([2, 5, 1], 5)
    with warnings.catch_warnings():
        # TorchScript's deprecation notice; torch.export's note that nn.LSTM / nn.GRU refresh
        # their internal _flat_weights list (the outputs are checked below)
        warnings.simplefilter("ignore")
        scripted = torch.jit.script(module)
        exported = torch.export.export(module, (x, mask)).module()
    other = torch.randn(3, *shape)
    with torch.no_grad():
        for inputs in ((x, mask), (other, _mask([5, 3, 4], 5))):
            expected = module(*inputs)
            torch.testing.assert_close(scripted(*inputs), expected)
            torch.testing.assert_close(exported(*inputs), expected)
        torch.testing.assert_close(scripted(x, None), module(x, None))


def test_embedding_scripts_and_exports_with_int64_ids() -> None:
    _, _, module = _layer("embedding", (5,), vocab=9, dim=3, padding_idx=0)
    ids = torch.randint(0, 9, (2, 5))
    exported = torch.export.export(module, (ids,))
    placeholder = next(n for n in exported.graph.nodes if n.op == "placeholder"
                       and n.name not in {"p_weight"})
    assert placeholder.meta["val"].dtype == torch.int64
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scripted = torch.jit.script(module)
    torch.testing.assert_close(exported.module()(ids), module(ids))
    torch.testing.assert_close(scripted(ids), module(ids))


@pytest.mark.parametrize(("name", "shapes", "params", "masks"), [
    ("cross_attention", {"img": (3, 2, 2), "txt": (5, 6)}, {"dim": 4, "heads": 2}, ("txt",)),
    ("cross_attention", {"q": (4, 3), "k": (5, 3)}, {"dim": 4, "pool": False}, ("q", "k")),
    ("concat_fusion", {"a": (3, 2, 2), "b": (2, 2, 2)}, {"width": 4}, ()),
])
def test_merges_script_and_export(name: str, shapes: dict, params: dict, masks: tuple) -> None:
    module = _merge(name, shapes, **params)

    def inputs() -> tuple[dict, dict]:
        feats = {k: torch.randn(2, *s) for k, s in shapes.items()}
        return feats, {k: _mask([2, 1], shapes[k][0]) for k in masks}

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scripted = torch.jit.script(module)
    exported = torch.export.export(module, inputs()).module()
    with torch.no_grad():
        for _ in range(2):
            feats, m = inputs()
            torch.testing.assert_close(scripted(feats, m), module(feats, m))
            torch.testing.assert_close(exported(feats, m), module(feats, m))


# -- errors -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "shape", "params", "words"), [
    ("lstm", (8,), {}, ["token sequence (L, D)", "put an embedding before it"]),
    ("gru", (4, 6, 6), {}, ["not a feature map"]),
    ("token_pool", (8,), {}, ["put an embedding before it"]),
    ("token_pool", (5, 7), {"mode": "ends"}, ["D = 7 is odd", "bidirectional"]),
    ("conv1d", (5, 4), {"kernel_size": 4}, ["kernel_size 4 is even"]),
    ("conv1d", (4, 6, 6), {}, ["conv1d needs a token sequence", "not on feature maps"]),
    ("embedding", (5,), {}, ["vocab is 0", "set vocab"]),
    ("embedding", (5,), {"vocab": 4, "padding_idx": 4}, ["below vocab 4"]),
    ("embedding", (5, 4), {"vocab": 4}, ["integer ids", "(L,)"]),
])
def test_layer_errors_name_the_layer_and_say_what_to_do(name: str, shape: tuple[int, ...],
                                                        params: dict, words: list[str]) -> None:
    lt, typed = resolve(LayerSpec(name, params), PATH)
    with pytest.raises(ShapeError) as info:
        lt.infer(shape, typed, PATH)
    assert info.value.path == PATH and info.value.layer == name
    text = str(info.value)
    assert text.startswith(f"{PATH}: {name} cannot take input of shape")
    for w in words:
        assert w in text


@pytest.mark.parametrize(("name", "shapes", "params", "words"), [
    ("cross_attention", {"a": (3,)}, {}, ["needs two branches"]),
    ("cross_attention", {"a": (3,), "b": (4,)}, {"query": "c"}, ["query 'c'", "a, b"]),
    ("cross_attention", {"a": (3,), "b": (4,), "c": (2,)}, {}, ["name the branch", "keys"]),
    ("cross_attention", {"a": (3,), "b": (4,), "c": (2,)}, {"keys": "b"}, ["c would be unused"]),
    ("cross_attention", {"a": (3,), "b": (4,)}, {"keys": "a"}, ["both 'a'"]),
    ("cross_attention", {"a": (3,), "b": (4,)}, {"dim": 6, "heads": 4}, ["heads 4", "dim 6"]),
    ("concat_fusion", {"a": (4, 6, 6), "b": (2, 3, 3)}, {},
     ["different sizes", "a 6x6, b 3x3", "adaptive_avgpool2d", "height 3, width 3"]),
    ("concat_fusion", {"a": (4, 6, 6), "b": (7,)}, {}, ["not a mix", "flatten"]),
    ("concat_fusion", {"a": (5, 6), "b": (7,)}, {}, ["'a' is still a token sequence",
                                                     "token_pool"]),
    ("concat_fusion", {"a": (7,)}, {}, ["two or more"]),
])
def test_merge_errors_name_the_merge(name: str, shapes: dict, params: dict,
                                     words: list[str]) -> None:
    mt = merge_type(name)
    with pytest.raises(ConfigError) as info:
        mt.infer(shapes, mt.parse(params, "merge"), "merge")
    assert info.value.path == "merge"
    text = str(info.value)
    assert text.startswith(f"merge: {name} cannot merge the branch outputs")
    for w in words:
        assert w in text
