"""The presets of the text, recommender and vision domains (issue 15) train from the shipped
files, and the bundle each run writes reloads to identical predictions on the dataset's raw
inputs (token ids, user / item ids, images), as its torch.export program does."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from mtl_engine.build import dataset_for
from mtl_engine.config import from_dict
from mtl_engine.events import RunFinished
from mtl_engine.export import export_program, load_bundle
from mtl_engine.presets import builtin_presets, load
from mtl_engine.training import run

PRESETS = builtin_presets()
DOMAINS = ("clothing_reviews_lstm", "clothing_reviews_bow", "ctr_esmm_mmoe", "movielens_100k",
           "mnist_localisation")


def _first(x: object, n: int) -> object:
    return {k: v[:n] for k, v in x.items()} if isinstance(x, dict) else x[:n]


@pytest.mark.parametrize("name", DOMAINS)
def test_the_preset_trains_and_its_bundle_reloads_to_identical_predictions(name: str,
                                                                           tmp_path: Path
                                                                           ) -> None:
    d = load(PRESETS[name]).to_dict()
    d["training"].update(epochs=1, max_steps_per_epoch=3, device="cpu")
    config = from_dict(d)
    events = list(run(config, out_dir=tmp_path / "run"))
    assert isinstance(events[-1], RunFinished), getattr(events[-1], "details", events[-1])
    ds = dataset_for(config)
    rows = _first(ds.x, 16)
    if isinstance(rows, dict):  # ids stay integers on the way in
        assert any(v.dtype == np.int64 for v in rows.values()), {k: v.dtype for k, v in
                                                                  rows.items()}
    bundle = tmp_path / "run" / "model.pt"
    first = load_bundle(bundle).predict(rows)
    again = load_bundle(bundle).predict(rows)
    names = [t.name for t in config.tasks if t.enabled]
    assert list(first) == names
    for task in names:
        assert len(first[task]) == 16 and np.array_equal(first[task], again[task]), task
    program = torch.export.load(str(export_program(bundle, tmp_path / "m.pt2"))).module()
    x = ({k: torch.as_tensor(v) for k, v in rows.items()} if isinstance(rows, dict)
         else torch.as_tensor(rows))
    with torch.no_grad():
        outs = program(x)
    raw = {task: out.numpy() for task, out in zip(names, outs)}
    # the program holds the whole of predict: preprocessing, the network, the outputs in the
    # task's units
    for task in names:
        assert raw[task].shape == np.shape(first[task]), task
        assert np.allclose(raw[task], first[task], atol=1e-5), task
