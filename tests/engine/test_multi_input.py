"""Typed, named inputs end to end (issue 15): config, branches and merge, batching, preprocessing,
training, bundles, TorchScript, torch.export and ONNX, on a tiny three-input dataset
(multi_input_helpers: float features, padded int64 tokens, an int64 user id)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from mtl_engine.build import dataset_for, load_dataset
from mtl_engine.config import from_dict, to_dict
from mtl_engine.data.base import InputSpec
from mtl_engine.errors import BundleError, ConfigError, DataError, UnknownNameError
from mtl_engine.events import EpochEnded, RunFinished
from mtl_engine.export import export_program, export_torchscript, load_bundle
from mtl_engine.model import build_model, summarize
from mtl_engine.model.branches import BranchInputs
from mtl_engine.preprocess import fit_preprocessing
from mtl_engine.rows import part, take
from mtl_engine.session_setup import prepare
from mtl_engine.training import run

from . import multi_input_helpers as toy
from .conftest import tiny


@pytest.fixture(scope="module", autouse=True)
def _registered() -> Iterator[None]:
    with toy.registered():
        yield


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    out = tmp_path_factory.mktemp("multi") / "run"
    events = list(run(from_dict(toy.config()), out_dir=out))
    return out, events


def _error(d: dict) -> ConfigError:
    """The ConfigError a config raises when read or when its model is planned."""
    try:
        c = from_dict(d)
    except ConfigError as exc:
        return exc
    summary = summarize(c, dataset_for(c).spec)
    assert summary.exception is not None, "expected an error"
    with pytest.raises(ConfigError):
        build_model(c, dataset_for(c).spec)
    return summary.exception


# ------------------------------------------------------------------------------ config


def test_round_trip_keeps_branches_and_merge() -> None:
    c = from_dict(toy.config(merge={"type": "concat"}))
    assert [b.input for b in c.branches] == ["feats", "words", "user"]
    assert c.branches[1].layers[0].params == {"vocab": 0, "dim": 8, "padding_idx": -1}
    d = to_dict(c)
    assert d["branches"]["user"] == [{"type": toy.EMBED, "vocab": 0, "dim": 3,
                                      "padding_idx": -1}]
    assert d["merge"] == {"type": "concat", "params": {}}
    assert from_dict(d) == c


def test_a_one_input_config_writes_no_branches() -> None:
    d = to_dict(tiny())
    assert "branches" not in d and "merge" not in d


@pytest.mark.parametrize(("change", "path", "words"), [
    ({"branches": {"text": []}}, "branches.text", "feats, user, words"),
    ({"branches": {"feats": [], "words": [{"type": toy.EMBED}, {"type": toy.POOL}],
                   "user": [{"type": toy.EMBED, "dim": -2}]}},
     "branches.user[0].dim", "positive"),
    ({"branches": {"feats": [], "words": [{"type": toy.EMBED}, {"type": toy.POOL}],
                   "user": [{"type": "linear"}]}},
     "branches.user[0]", "must start with an embedding"),
    ({"branches": {"feats": [], "words": [{"type": toy.EMBED}, {"type": toy.POOL}]}},
     "branches", "no branch for input 'user'"),
    ({"branches": None}, "branches", "give each one its layers"),
    ({"merge": {"type": "concatenate"}}, "merge.type", "Did you mean 'concat'"),
    ({"branches": {"feats": [], "words": [{"type": toy.EMBED}], "user": [{"type": toy.EMBED}]}},
     "merge", "pool it first"),
    ({"merge": {"type": "sum"}}, "merge", "one shape"),
    ({"branches": []}, "branches", "must map each input name"),
])
def test_bad_configs_name_the_field(change: dict, path: str, words: str) -> None:
    d = toy.config(**change)
    if change.get("branches", 0) is None:
        del d["branches"], d["merge"]
    err = _error(d)
    assert err.path == path
    assert words in str(err) and "\n" not in str(err)
    if path == "branches.text":
        assert isinstance(err, UnknownNameError)


def test_branches_on_a_one_input_dataset_are_refused() -> None:
    d = copy.deepcopy(tiny().to_dict())
    d["branches"] = {"x": []}
    err = _error(d)
    assert err.path == "branches" and "has one input" in str(err)


def test_merge_without_branches_is_refused() -> None:
    d = copy.deepcopy(tiny().to_dict())
    d["merge"] = {"type": "sum"}
    with pytest.raises(ConfigError) as info:
        from_dict(d)
    assert info.value.path == "merge"


# ------------------------------------------------------------------------------ model


def test_summary_rows_shapes_and_counts() -> None:
    c = from_dict(toy.config())
    s = summarize(c, toy.make(50, 0).spec)
    assert s.ok, s.error
    rows = {r.where: r for r in s.layers}
    # embedding tables: the vocab filled in from the input (10 words x 8, 5 users x 3)
    assert rows["branches.words[0]"].in_shape == (6,)
    assert rows["branches.words[0]"].out_shape == (6, 8)
    assert rows["branches.words[0]"].n_params == 10 * 8
    assert rows["branches.words[1]"].out_shape == (8,)
    assert rows["branches.user[0]"].in_shape == () and rows["branches.user[0]"].n_params == 15
    merge = rows["merge"]
    assert merge.out_shape == (4 + 8 + 3,)
    assert dict(merge.in_shapes) == {"feats": (4,), "words": (8,), "user": (3,)}
    assert rows["trunk[0]"].in_shape == (15,) and rows["trunk[0]"].n_params == 15 * 32 + 32
    assert s.shared_params == 80 + 15 + 15 * 32 + 32
    assert dict(s.inputs) == {"feats": (4,), "words": (6,), "user": ()}
    model = build_model(c, toy.make(50, 0).spec)
    assert sum(p.numel() for p in model.shared_parameters()) == s.shared_params
    assert isinstance(model.inputs, BranchInputs)


def test_padding_idx_is_filled_and_the_pool_sees_the_mask() -> None:
    c = from_dict(toy.config())
    ds = toy.make(40, 0)
    model = build_model(c, ds.spec)
    table = model.inputs.branches["words"].steps[0].layer
    assert table.padding_idx == 0 and table.num_embeddings == 10
    x = toy.torch_rows(ds, slice(0, 8))
    feats = {}
    model.inputs.merge.register_forward_hook(lambda m, args, out: feats.update(args[0]))
    model(x)
    # the pool's output by hand: the mean of the real tokens' embeddings only
    emb = table(x["words"])
    real = (x["words"] != 0).float().unsqueeze(-1)
    want = (emb * real).sum(1) / real.sum(1)
    assert torch.allclose(feats["words"], want, atol=1e-6)
    # without the mask the padding would count: a plain mean differs
    assert not torch.allclose(feats["words"], emb.mean(1))


def test_sum_merge_adds_same_width_branches() -> None:
    d = toy.config(merge={"type": "sum"}, branches={
        "feats": [{"type": "linear", "out_features": 5}],
        "words": [{"type": toy.EMBED, "dim": 5}, {"type": toy.POOL}],
        "user": [{"type": toy.EMBED, "dim": 5}]})
    c = from_dict(d)
    ds = toy.make(20, 0)
    model = build_model(c, ds.spec)
    x = toy.torch_rows(ds, slice(0, 4))
    b = model.inputs.branches
    want = sum(b[k](x[k], b[k].mask_of(x[k])) for k in ("feats", "words", "user"))
    assert torch.allclose(model.inputs(x), want, atol=1e-6)


# ------------------------------------------------------------------------------ data


def test_batches_keep_int64_and_preprocessing_leaves_ids_alone() -> None:
    setup = prepare(from_dict(toy.config()))
    x = setup.train.x
    assert isinstance(x, dict)
    assert x["words"].dtype == torch.int64 and x["user"].dtype == torch.int64
    assert x["feats"].dtype == torch.float32
    ds = setup.dataset
    train = setup.parts.train
    assert torch.equal(x["words"], torch.as_tensor(ds.x["words"][train]))
    assert torch.equal(x["user"], torch.as_tensor(ds.x["user"][train]))
    # features standardised with the training rows' own mean and std
    raw = ds.x["feats"][train].astype(np.float64)
    want = (raw - raw.mean(0)) / raw.std(0)
    assert np.allclose(x["feats"].numpy(), want, atol=1e-4)
    prep = setup.preprocessing
    assert set(prep.named) == {"feats"}  # ids have no entry: never touched
    idx = torch.tensor([3, 0, 5])
    batch = take(x, idx)
    assert batch["words"].dtype == torch.int64
    assert torch.equal(batch["user"], x["user"][[3, 0, 5]])
    assert torch.equal(part(x, slice(1, 3))["feats"], x["feats"][1:3])


def test_raw_columns_may_leave_a_float_input_raw() -> None:
    d = toy.config()
    d["data"]["preprocess"] = {"raw_columns": ["feats"]}
    setup = prepare(from_dict(d))
    raw = setup.dataset.x["feats"][setup.parts.train]
    assert np.array_equal(setup.train.x["feats"].numpy(), raw)


def test_a_missing_float_value_is_filled_with_its_training_mean() -> None:
    ds = toy.make(40, 2)
    ds.x["feats"][5, 2] = np.nan
    train = np.arange(30)
    options = from_dict(toy.config()).data.preprocess
    prep = fit_preprocessing(options, ds, (), train)
    col = ds.x["feats"][train, 2].astype(np.float64)
    assert prep.named["feats"].fill[2] == pytest.approx(np.nanmean(col), rel=1e-6)
    got = prep.apply_inputs(toy.torch_rows(ds, slice(5, 6)))
    assert got["feats"][0, 2].item() == pytest.approx(0.0, abs=1e-5)  # the mean, standardised
    assert got["words"].dtype == torch.int64
    off = from_dict(toy.config(data={"dataset": toy.DATASET,
                                     "preprocess": {"impute": False}})).data.preprocess
    with pytest.raises(ConfigError) as info:
        fit_preprocessing(off, ds, (), train)
    assert info.value.path == "data.preprocess.impute" and "'feats'" in str(info.value)


# ------------------------------------------------------------------------------ training


def test_training_lowers_the_validation_loss(trained) -> None:
    _, events = trained
    epochs = [e for e in events if isinstance(e, EpochEnded)]
    assert isinstance(events[-1], RunFinished)
    first, last = epochs[0].val_loss, epochs[-1].val_loss
    for task in ("score", "flag"):
        assert last[task] < 0.7 * first[task], (task, first, last)


# ------------------------------------------------------------------------------ export


def _rows(n: int = 37) -> dict[str, np.ndarray]:
    return toy.make(n, 11).x  # type: ignore[return-value]


def test_bundle_records_inputs_and_predicts_like_the_model(trained) -> None:
    out, _ = trained
    raw = torch.load(out / "model.pt", weights_only=True)
    words = raw["spec"]["inputs"][1]
    assert words == {"name": "words", "shape": [6], "dtype": "int64", "kind": "tokens",
                     "vocab": 10, "padding_idx": 0, "description": ""}
    loaded = load_bundle(out / "model.pt")
    x = _rows()
    pred = loaded.predict(x, batch_size=10)
    # by hand: the bundle's preprocessing, then the network, then the score back in its units
    prep = loaded.preprocessing
    net_in = prep.apply_inputs({k: torch.as_tensor(v) for k, v in x.items()})
    with torch.no_grad():
        out_net = loaded.model(net_in)
    m, s = prep.targets["score"]
    assert np.allclose(pred["score"], out_net["score"].numpy() * s + m, atol=1e-5)
    assert np.allclose(pred["flag"], out_net["flag"].numpy(), atol=1e-6)
    lists = {k: v.tolist() for k, v in x.items()}  # plain lists work too
    assert np.allclose(loaded.predict(lists)["score"], pred["score"], atol=1e-6)


@pytest.mark.parametrize(("change", "words"), [
    (lambda x: x.pop("user"), "input 'user' is missing"),
    (lambda x: x.update(user=x["user"].astype(np.float64)), "input 'user' holds integer"),
    (lambda x: x.update(words=x["words"][:, :4]), "input 'words' must have shape (n, 6)"),
    (lambda x: x.update(words=x["words"] + 10), "input 'words': ids must lie in [0, 10)"),
    (lambda x: x.update(extra=x["user"]), "input 'extra' is not one this model reads"),
    (lambda x: x.update(feats=x["feats"][:5]), "the same number of rows"),
])
def test_predict_refuses_bad_inputs_naming_them(trained, change, words: str) -> None:
    out, _ = trained
    loaded = load_bundle(out / "model.pt")
    x = dict(_rows())
    change(x)
    with pytest.raises(BundleError) as info:
        loaded.predict(x)
    assert words in str(info.value)


@pytest.mark.parametrize(("change", "words"), [
    (lambda i: i.update(dtype="float16"), "spec.inputs[1] is damaged"),
    (lambda i: i.update(colour="red"), "spec.inputs[1] must be a mapping"),
])
def test_a_damaged_input_declaration_is_refused(trained, tmp_path: Path, change, words: str
                                                ) -> None:
    out, _ = trained
    payload = torch.load(out / "model.pt", weights_only=True)
    change(payload["spec"]["inputs"][1])
    torch.save(payload, tmp_path / "bad.pt")
    with pytest.raises(BundleError) as info:
        load_bundle(tmp_path / "bad.pt")
    assert words in str(info.value)


def test_representation_grad_mode_trains_a_multi_input_model() -> None:
    d = toy.config(strategy={"name": "mgda", "grad_mode": "representation"})
    d["training"].update(epochs=1, max_steps_per_epoch=3)
    events = list(run(from_dict(d)))
    assert isinstance(events[-1], RunFinished), events[-1]


def test_torchscript_and_torch_export_match_predict(trained, tmp_path: Path) -> None:
    out, _ = trained
    bundle = out / "model.pt"
    want = load_bundle(bundle).predict(_rows())
    x = {k: torch.as_tensor(v) for k, v in _rows().items()}
    assert x["words"].dtype == torch.int64
    script = torch.jit.load(str(export_torchscript(bundle, tmp_path / "m.ts")))
    program = torch.export.load(str(export_program(bundle, tmp_path / "m.pt2"))).module()
    with torch.no_grad():
        for got in (script(x), program(x)):
            assert np.allclose(got[0].numpy(), want["score"], atol=1e-5)
            assert np.allclose(got[1].numpy(), want["flag"], atol=1e-5)
        small = {k: v[:3] for k, v in x.items()}  # another batch size
        assert np.allclose(program(small)[0].numpy(), want["score"][:3], atol=1e-5)


def test_onnx_has_one_typed_input_per_named_input(trained, tmp_path: Path) -> None:
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    from mtl_engine.onnx_export import export_onnx

    out, _ = trained
    path = export_onnx(out / "model.pt", tmp_path / "m.onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    types = {i.name: i.type for i in session.get_inputs()}
    assert types == {"feats": "tensor(float)", "words": "tensor(int64)", "user": "tensor(int64)"}
    x = _rows()
    got = session.run(None, x)
    want = load_bundle(out / "model.pt").predict(x)
    assert np.allclose(got[0], want["score"], atol=1e-4)


# ------------------------------------------------------------------------------ user NPZ


def test_an_npz_with_named_arrays_trains_with_ids_kept(tmp_path: Path) -> None:
    ds = toy.make(120, 4)
    path = tmp_path / "mine.npz"
    np.savez(path, **ds.x, score=ds.targets["score"], flag=ds.targets["flag"].astype(np.int64))
    params = {"path": str(path), "tasks": ["score:regression", "flag:binary"],
              "inputs": ["feats", "words:tokens", "user"]}
    loaded = load_dataset("npz", params)
    by_name = {i.name: i for i in loaded.spec.inputs}
    assert by_name["words"] == InputSpec("words", (6,), "int64", "tokens",
                                         int(ds.x["words"].max()) + 1, 0)
    assert by_name["user"].kind == "ids" and by_name["user"].shape == ()
    assert by_name["feats"].dtype == "float32" and by_name["feats"].shape == (4,)
    assert loaded.x["words"].dtype == np.int64
    assert np.array_equal(loaded.x["user"], ds.x["user"])
    d = toy.config(data={"dataset": "npz", "params": params})
    d["training"].update(epochs=1, max_steps_per_epoch=2)
    assert isinstance(list(run(from_dict(d)))[-1], RunFinished)


@pytest.mark.parametrize(("inputs", "words"), [
    (["feats", "nothing"], "has no array named 'nothing'"),
    (["feats:ids"], "ids must be whole numbers"),
    (["feats", "feats"], "listed twice"),
    (["user:pictures"], "unknown input kind"),
])
def test_npz_inputs_errors_name_the_array(tmp_path: Path, inputs: list, words: str) -> None:
    ds = toy.make(20, 4)
    path = tmp_path / "mine.npz"
    np.savez(path, **ds.x, score=ds.targets["score"])
    with pytest.raises((DataError, ConfigError)) as info:
        load_dataset("npz", {"path": str(path), "tasks": ["score:regression"],
                             "inputs": inputs})
    assert words in str(info.value)
