"""Splits (train / validation / test, stratified, a split column, split.json) and selection
(training.select, patience, the bundle's weights, test metrics)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from mtl_engine import best_epoch, load_bundle, read_split, run
from mtl_engine.build import load_dataset
from mtl_engine.config import from_dict
from mtl_engine.errors import BundleError, ConfigError
from mtl_engine.events import EpochEnded, RunFailed, RunFinished, RunStarted, Warned
from mtl_engine.events import from_dict as event_from_dict
from mtl_engine.events import to_dict as event_to_dict
from mtl_engine.presets import dumps
from mtl_engine.registry import METRICS
from mtl_engine.splits import SPLIT_FILE, parts_of_column, split_rows

from .conftest import TINY, tiny

# adam at lr 1.0 on the tiny digits setup: the validation score rises, then falls back
# (0.38, 0.36, 0.41, 0.42, 0.37, 0.39 with torch 2.x on CPU): the best epoch is not the last
UNSTABLE = {"optimizer": {"name": "adam", "lr": 1.0},
            "training": {"epochs": 6, "max_steps_per_epoch": 5}}


def _unstable(**training: object):
    d = dict(UNSTABLE)
    return tiny(optimizer=d["optimizer"], training={**d["training"], **training})


# --------------------------------------------------------------------------- fractions


def test_fractions_give_the_sizes_and_disjoint_parts_covering_every_row() -> None:
    p = split_rows(100, 0.2, 0.1, seed=5)
    assert (len(p.train), len(p.val), len(p.test)) == (70, 20, 10)
    every = np.concatenate([p.train, p.val, p.test])
    assert sorted(every.tolist()) == list(range(100))  # disjoint and covering
    for part in (p.train, p.val, p.test):
        assert part.tolist() == sorted(part.tolist())
    again = split_rows(100, 0.2, 0.1, seed=5)
    assert again.val.tolist() == p.val.tolist() and again.test.tolist() == p.test.tolist()
    assert split_rows(100, 0.2, 0.1, seed=6).val.tolist() != p.val.tolist()


def test_without_a_test_part_the_validation_rows_are_the_earlier_versions() -> None:
    # what session_setup.split_indices drew before test_fraction existed: the same rows
    order = np.random.default_rng(3).permutation(50)
    p = split_rows(50, 0.3, 0.0, seed=3)
    assert p.val.tolist() == sorted(order[:15].tolist())
    assert p.train.tolist() == sorted(order[15:].tolist())
    assert len(p.test) == 0


def test_stratified_split_keeps_the_class_proportions_of_a_tiny_table() -> None:
    # 8 rows of class 0 and 4 of class 1, a quarter each to validation and test: by hand,
    # validation and test each get 2 of class 0 and 1 of class 1, training 4 and 2
    labels = np.array([0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0])
    p = split_rows(12, 0.25, 0.25, seed=0, strata=labels, stratify="y")
    counts = {name: np.bincount(labels[rows], minlength=2).tolist()
              for name, rows in (("train", p.train), ("val", p.val), ("test", p.test))}
    assert counts == {"train": [4, 2], "val": [2, 1], "test": [2, 1]}
    assert sorted(np.concatenate([p.train, p.val, p.test]).tolist()) == list(range(12))


def test_stratified_sizes_share_the_remainder_and_keep_missing_labels_together() -> None:
    # 10 / 10 / 20 rows, 10 to validation: exact shares 2.5 / 2.5 / 5; the one row left over
    # goes to the first of the tied classes; the missing label (-1) is a class of its own
    labels = np.array([-1] * 10 + [1] * 10 + [2] * 20)
    p = split_rows(40, 0.25, 0.0, seed=1, strata=labels)
    val = labels[p.val]
    assert [(val == c).sum() for c in (-1, 1, 2)] == [3, 2, 5]
    plain = split_rows(40, 0.25, 0.0, seed=1)
    assert len(p.val) == len(plain.val) == 10


def test_a_dataset_with_its_own_split_keeps_it_and_the_test_part_comes_from_the_rest() -> None:
    own = np.array([0, 1, 2, 3, 4])
    p = split_rows(20, 0.5, 0.25, seed=0, preset_val=own)
    assert p.val.tolist() == own.tolist() and p.source == "dataset"
    assert len(p.test) == 5 and not set(p.test) & set(own.tolist())
    assert sorted(np.concatenate([p.train, p.val, p.test]).tolist()) == list(range(20))


# --------------------------------------------------------------------------- a split column


def test_a_split_column_is_honoured_in_words_or_numbers() -> None:
    values = np.array(["train", "val", "TEST", " Training ", "validation", "2", "0", "1"])
    train, val, test = parts_of_column(values, 8)
    assert (train.tolist(), val.tolist(), test.tolist()) == ([0, 3, 6], [1, 4, 7], [2, 5])
    train, val, test = parts_of_column(np.array([0.0, 1.0, 2.0, 0.0]), 4)
    assert (train.tolist(), val.tolist(), test.tolist()) == ([0, 3], [1], [2])
    p = split_rows(4, 0.2, 0.0, seed=0, column=np.array([2, 0, 1, 0]))
    assert p.source == "column" and p.test.tolist() == [0] and p.val.tolist() == [2]


@pytest.mark.parametrize("values, words", [
    (["train", "tst", "val"], ["data.params.split_column", "'tst'", "data row 2"]),
    ([0, 3, 1], ["data.params.split_column", "3", "data row 2"]),
    (["val", "test"], ["data.params.split_column", "no row as train"]),
])
def test_bad_split_column_values_are_refused_by_name(values: list, words: list[str]) -> None:
    with pytest.raises(ConfigError) as info:
        parts_of_column(np.array(values), len(values))
    for w in words:
        assert w in str(info.value)


# --------------------------------------------------------------------------- config


def test_config_fields_validate_naming_the_field() -> None:
    with pytest.raises(ConfigError, match=r"^data\.test_fraction: val_fraction \+ test_fraction "
                                          r"must leave training rows, got 0\.6 \+ 0\.5$"):
        tiny(data={"val_fraction": 0.6, "test_fraction": 0.5})
    with pytest.raises(ConfigError, match=r"^data\.stratify: .*'colour'"):
        tiny(data={"stratify": "colour"})
    with pytest.raises(ConfigError, match=r"^training\.select: "):
        tiny(training={"select": "first"})
    with pytest.raises(ConfigError, match=r"^training\.patience: "):
        tiny(training={"patience": 0})


def test_fields_at_their_default_are_not_written_and_set_ones_round_trip() -> None:
    plain = tiny()
    d = plain.to_dict()
    assert "test_fraction" not in d["data"] and "stratify" not in d["data"]
    assert "select" not in d["training"] and "patience" not in d["training"]
    set_ = tiny(data={"test_fraction": 0.1, "stratify": "digit"},
                training={"select": "best", "patience": 3})
    d = set_.to_dict()
    assert (d["data"]["test_fraction"], d["data"]["stratify"]) == (0.1, "digit")
    assert (d["training"]["select"], d["training"]["patience"]) == ("best", 3)
    assert from_dict(d) == set_
    assert "test_fraction: 0.1" in dumps(set_)


def _failure(config) -> RunFailed:
    last = list(run(config))[-1]
    assert isinstance(last, RunFailed), last
    return last


def test_checks_that_need_the_data_name_the_field() -> None:
    fail = _failure(tiny(data={"val_fraction": 0.0}, training={"select": "best"}))
    assert fail.message.startswith("training.select: needs validation rows")
    fail = _failure(tiny(data={"val_fraction": 0.0}, training={"patience": 2}))
    assert fail.message.startswith("training.patience: needs validation rows")
    toy = from_dict({"data": {"dataset": "gradnorm_toy", "params": {"tasks": 2, "n_samples": 100},
                              "test_fraction": 0.1, "stratify": "t1"},
                     "tasks": [{"name": "t1"}, {"name": "t2"}],
                     "training": {"epochs": 1, "device": "cpu"}})
    fail = _failure(toy)
    assert fail.message == ("data.stratify: task 't1' is a regression task; stratify by a "
                            "classification or binary task")


# --------------------------------------------------------------------------- run folders


def test_the_split_file_reloads_and_matches_the_run(tmp_path: Path) -> None:
    config = tiny(data={"test_fraction": 0.2, "stratify": "digit"},
                  training={"epochs": 1, "max_steps_per_epoch": 2})
    events = list(run(config, out_dir=tmp_path))
    started = next(e for e in events if isinstance(e, RunStarted))
    assert isinstance(events[-1], RunFinished)
    parts = read_split(tmp_path)
    n = parts.n_rows
    assert (len(parts.train), len(parts.val), len(parts.test)) == (
        started.train_size, started.val_size, started.test_size)
    assert started.val_size == round(n * 0.25) and started.test_size == round(n * 0.2)
    assert sorted(np.concatenate([parts.train, parts.val, parts.test]).tolist()) == list(range(n))
    assert (parts.source, parts.seed, parts.stratify) == ("fractions", 3, "digit")
    # the same config draws the same rows again
    again = split_rows(n, 0.25, 0.2, 3, strata=load_dataset("digits", {"image": False}, 3)
                       .targets["digit"], stratify="digit")
    assert again.test.tolist() == parts.test.tolist()
    raw = json.loads((tmp_path / SPLIT_FILE).read_text(encoding="utf-8"))
    assert raw["val"] == parts.val.tolist() and raw["n_rows"] == n
    (tmp_path / SPLIT_FILE).write_text("{}", encoding="utf-8")
    with pytest.raises(BundleError, match="not a split file"):
        read_split(tmp_path)


# --------------------------------------------------------------------------- selection


def _epoch(n: int, score: float | None, loss: float) -> EpochEnded:
    return EpochEnded(n, n * 10, {"a": loss}, {"a": loss}, {"a": {"m": 0.0}}, score, 1.0, 1.0)


def test_the_best_epoch_rule_scores_first_then_the_lowest_loss_earliest_of_equals() -> None:
    scored = [_epoch(1, 0.5, 1.0), _epoch(2, 0.7, 3.0), _epoch(3, 0.7, 0.1), _epoch(4, 0.6, 0.0)]
    assert best_epoch(scored).epoch == 2
    unscored = [_epoch(1, None, 2.0), _epoch(2, None, 0.5), _epoch(3, None, 0.9)]
    assert best_epoch(unscored).epoch == 2
    nan = [_epoch(1, float("nan"), 0.1), _epoch(2, 0.2, 5.0)]
    assert best_epoch(nan).epoch == 2  # a finite score beats none


def _metrics_of(bundle_path: Path, rows: np.ndarray, seed: int = 3) -> dict[str, dict]:
    """Each task's metrics of the bundle's predictions on the dataset's rows `rows`."""
    ds = load_dataset("digits", {"image": False}, seed)
    loaded = load_bundle(bundle_path)
    pred = loaded.predict(ds.x[rows])
    out = {}
    for task in ("digit", "parity", "ge5"):
        target = torch.as_tensor(ds.targets[task][rows])
        names = loaded_metric_names(loaded, task)
        out[task] = {m: float(METRICS.get(m).obj(torch.as_tensor(pred[task]), target))
                     for m in names}
    return out


def loaded_metric_names(loaded, task: str) -> list[str]:
    from mtl_engine.metric_choice import metrics_for

    t = next(t for t in loaded.tasks if t.name == task)
    return list(metrics_for(t.type))


def _close(a: dict[str, dict], b: dict[str, dict], tol: float = 1e-5) -> bool:
    return a.keys() == b.keys() and all(
        a[t].keys() == b[t].keys() and all(abs(a[t][m] - b[t][m]) <= tol for m in a[t])
        for t in a)


def test_select_best_keeps_the_best_epoch_and_the_bundle_holds_its_weights(tmp_path) -> None:
    events = list(run(_unstable(select="best"), out_dir=tmp_path))
    done = events[-1]
    assert isinstance(done, RunFinished), done
    epochs = [e for e in events if isinstance(e, EpochEnded)]
    best = max(epochs, key=lambda e: e.score)
    assert best.epoch != epochs[-1].epoch, "the setup must get worse after its best epoch"
    assert done.selected_epoch == best.epoch and done.final_metrics == best.val_metrics
    parts = read_split(tmp_path)
    assert _close(_metrics_of(tmp_path / "model.pt", parts.val), best.val_metrics)
    # select: last (the default) keeps the last epoch, as before
    last_dir = tmp_path / "last"
    events = list(run(_unstable(), out_dir=last_dir))
    assert events[-1].selected_epoch == 6
    assert events[-1].final_metrics == events[-2].val_metrics
    assert _close(_metrics_of(last_dir / "model.pt", parts.val), events[-2].val_metrics)


def test_patience_stops_early_as_completed_and_says_so() -> None:
    events = list(run(_unstable(select="best", patience=1)))
    done = events[-1]
    assert isinstance(done, RunFinished) and done.status == "completed"
    epochs = [e for e in events if isinstance(e, EpochEnded)]
    best = best_epoch(epochs)
    assert len(epochs) < 6 and done.epoch == len(epochs) == best.epoch + 1
    assert done.selected_epoch == best.epoch
    note = [e for e in events if isinstance(e, Warned) and "stopped early" in e.message]
    assert [w.message for w in note] == [
        f"stopped early at epoch {done.epoch}: no better validation score for 1 epoch "
        f"(best epoch {best.epoch})"]


def test_test_metrics_are_the_selected_weights_on_the_test_rows_only(tmp_path) -> None:
    events = list(run(_unstable(select="best"), out_dir=tmp_path))
    assert isinstance(events[0], RunStarted) and events[0].test_size == 0
    assert events[-1].test_metrics == {} and events[-1].test_loss == {}
    out = tmp_path / "with_test"
    config = tiny(optimizer=UNSTABLE["optimizer"], data={"test_fraction": 0.3},
                  training={**UNSTABLE["training"], "select": "best"})
    events = list(run(config, out_dir=out))
    done = events[-1]
    assert isinstance(done, RunFinished) and done.test_metrics
    parts = read_split(out)
    assert _close(_metrics_of(out / "model.pt", parts.test), done.test_metrics)
    assert not _close(_metrics_of(out / "model.pt", parts.val), done.test_metrics)
    assert set(done.test_loss) == {"digit", "parity", "ge5"}


def test_old_event_files_without_the_new_fields_still_read() -> None:
    old = {"event": "RunFinished", "status": "completed", "step": 4, "epoch": 1,
           "seconds": 1.0, "final_metrics": {"a": {"accuracy": 0.5}}}
    e = event_from_dict(old)
    assert isinstance(e, RunFinished)
    assert (e.selected_epoch, e.test_metrics, e.test_loss) == (None, {}, {})
    new = RunFinished("completed", 4, 1, 1.0, {}, selected_epoch=1,
                      test_metrics={"a": {"accuracy": 0.25}}, test_loss={"a": 1.5})
    assert event_from_dict(event_to_dict(new)) == new
    started = event_from_dict({"event": "RunStarted", "config": TINY, "tasks": [],
                               "param_counts": {}, "device": "cpu", "steps_per_epoch": 1,
                               "total_steps": 1, "train_size": 3, "val_size": 1})
    assert isinstance(started, RunStarted) and started.test_size == 0


def _csv(tmp_path: Path, parts: list[str]) -> Path:
    rng = np.random.default_rng(0)
    lines = ["a,b,part,y"]
    for part in parts:
        a, b = rng.normal(size=2)
        lines.append(f"{a:.4f},{b:.4f},{part},{'yes' if a + b > 0 else 'no'}")
    path = tmp_path / "table.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _csv_config(path: Path, **data: object):
    params = {"path": str(path), "tasks": ["y:binary"], "split_column": "part"}
    return from_dict({"data": {"dataset": "csv", "params": params, **data},
                      "tasks": [{"name": "y"}],
                      "training": {"epochs": 1, "device": "cpu", "batch_size": 8}})


def test_a_csv_split_column_decides_the_parts_and_is_no_input(tmp_path: Path) -> None:
    parts = ["train", "val", "test", "train", "0", "1", "2", "train"] * 4
    out = tmp_path / "run"
    events = list(run(_csv_config(_csv(tmp_path, parts)), out_dir=out))
    assert isinstance(events[-1], RunFinished), events[-1]
    started = events[0]
    assert isinstance(started, RunStarted)
    assert (started.train_size, started.val_size, started.test_size) == (16, 8, 8)
    split = read_split(out)
    want = {p: [i for i, v in enumerate(parts) if v in words] for p, words in
            (("train", ("train", "0")), ("val", ("val", "1")), ("test", ("test", "2")))}
    assert split.source == "column"
    assert (split.train.tolist(), split.val.tolist(), split.test.tolist()) == (
        want["train"], want["val"], want["test"])
    assert load_bundle(out / "model.pt").spec.input_shape == (2,)  # a and b, not the part
    assert set(events[-1].test_metrics) == {"y"}


def test_a_csv_split_column_with_a_bad_value_or_fractions_is_refused(tmp_path: Path) -> None:
    path = _csv(tmp_path, ["train", "val", "tst", "train"] * 3)
    fail = _failure(_csv_config(path))
    assert fail.message == ("data.params.split_column: value 'tst' in data row 3 is not a part: "
                            "use train / val / test or 0 / 1 / 2")
    path = _csv(tmp_path, ["train", "val"] * 6)
    fail = _failure(_csv_config(path, test_fraction=0.2))
    assert fail.message.startswith("data.test_fraction: cannot be used with a split column")


def test_an_npz_split_array_decides_the_parts(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(20, 3)).astype(np.float32)
    part = np.array([0, 1, 2, 0, 0] * 4)
    np.savez(tmp_path / "d.npz", x=x, y=(x[:, 0] > 0).astype(np.int64), part=part)
    config = from_dict({"data": {"dataset": "npz", "params": {
        "path": str(tmp_path / "d.npz"), "tasks": ["y:binary"], "split_column": "part"}},
        "tasks": [{"name": "y"}], "training": {"epochs": 1, "device": "cpu"}})
    out = tmp_path / "run"
    events = list(run(config, out_dir=out))
    assert isinstance(events[-1], RunFinished), events[-1]
    split = read_split(out)
    assert split.test.tolist() == np.flatnonzero(part == 2).tolist()
    assert split.val.tolist() == np.flatnonzero(part == 1).tolist()


def test_a_study_reads_the_epoch_the_run_kept_by_the_same_rule(tmp_path: Path) -> None:
    from mtl_engine.study.summary import collect

    events = list(run(_unstable(select="best"), out_dir=tmp_path / "r"))
    epochs = [e for e in events if isinstance(e, EpochEnded)]
    record = {"key": "k", "variant": "v", "seed": 3, "baseline": "", "folder": "r"}
    final, = collect(tmp_path, [record], "final")
    best, = collect(tmp_path, [record], "best")
    assert final.epoch == best.epoch == events[-1].selected_epoch == best_epoch(epochs).epoch
    assert final.epoch != epochs[-1].epoch
    assert final.metrics["val/digit/accuracy"] == events[-1].final_metrics["digit"]["accuracy"]
