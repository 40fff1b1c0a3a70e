"""training.threads: read, checked, written, and set for the run (threads.py, session_setup)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch

from mtl_engine import threads
from mtl_engine.config import from_dict, to_dict
from mtl_engine.errors import ConfigError
from mtl_engine.session_setup import prepare
from mtl_engine.study.executors import LocalPool

from .conftest import TINY, tiny


def _with(threads_value: object) -> dict:
    return {**TINY, "training": {**TINY["training"], "threads": threads_value}}


@pytest.mark.parametrize(("given", "read"), [("auto", None), (None, None), (3, 3), (2.0, 2)])
def test_threads_reads_auto_or_a_count_and_reloads(given, read) -> None:
    config = from_dict(_with(given))
    assert config.training.threads == read
    dumped = to_dict(config)["training"]
    # auto is the default and stays out of the canonical form, as select and patience do
    assert dumped.get("threads", "absent") == ("absent" if read is None else read)
    assert from_dict(to_dict(config)) == config


def test_a_config_without_threads_is_auto() -> None:
    assert tiny().training.threads is None


@pytest.mark.parametrize("bad", [0, -2, 1.5, "two", True, [2]])
def test_a_bad_thread_count_is_one_line_naming_the_field(bad) -> None:
    with pytest.raises(ConfigError) as info:
        from_dict(_with(bad))
    text = str(info.value)
    assert text.startswith("training.threads: must be auto or a positive integer, got")
    assert "\n" not in text


def test_auto_is_the_cores_divided_by_the_runs_at_once(monkeypatch) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(threads, "cpu_count", lambda: 8)
    monkeypatch.setattr(threads, "_share", None)
    assert threads.auto_threads() == 8  # a lone run: every core
    assert threads.auto_threads(3) == 2  # 8 // 3
    assert threads.auto_threads(16) == 1  # never below one
    threads.set_auto_threads(4)  # what a study worker is told
    assert threads.auto_threads() == 4
    assert threads.resolve_threads(None) == 4
    assert threads.resolve_threads(6) == 6  # a number is used as given


def test_omp_num_threads_caps_auto_but_not_a_number(monkeypatch) -> None:
    monkeypatch.setattr(threads, "cpu_count", lambda: 8)
    monkeypatch.setattr(threads, "_share", None)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert threads.auto_threads() == 3 and threads.auto_threads(2) == 3
    assert threads.auto_threads(4) == 2  # the share is below the cap
    assert threads.resolve_threads(5) == 5
    monkeypatch.setenv("OMP_NUM_THREADS", "lots")  # not a count: no cap
    assert threads.auto_threads() == 8


def test_a_local_pool_gives_each_worker_its_share_and_says_so(monkeypatch) -> None:
    import mtl_engine.study.executors as executors
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)

    monkeypatch.setattr(threads, "cpu_count", lambda: 8)
    monkeypatch.setattr(executors, "cpu_count", lambda: 8)
    pool = LocalPool(3, gpus=0)
    assert pool.threads == 2
    assert pool.name == "local (3 workers; torch threads: training.threads, auto = 2 each)"
    assert LocalPool(3, threads=1, gpus=0).threads == 1


def test_the_run_sets_torch_threads_from_the_config(monkeypatch) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    before = torch.get_num_threads()
    monkeypatch.setattr(threads, "_share", None)
    monkeypatch.setattr(threads, "cpu_count", lambda: 3)
    try:
        setup = prepare(from_dict(_with(2)))
        assert setup.threads == 2 and torch.get_num_threads() == 2
        # the tiny MLP: 24*64+24 + ... multiply-adds, far below SMALL_STEP_WORK: one thread
        setup = prepare(from_dict(_with("auto")))
        assert setup.threads == 1 and torch.get_num_threads() == 1
        monkeypatch.setattr(threads, "SMALL_STEP_WORK", 0.0)  # as if it were a big model
        setup = prepare(from_dict(_with("auto")))  # a lone run: every core (3 here)
        assert setup.threads == 3 and torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(before)


@dataclass
class _Row:  # the two fields of a summary's LayerInfo that step_work reads
    n_params: int
    out_shape: tuple[int, ...] | None


def test_step_work_counts_positions_of_convolutions() -> None:
    rows = [_Row(156, (6, 24, 24)),  # a 5x5 conv, 1 -> 6 channels: 156 weights at 576 places
            _Row(0, (6, 12, 12)),  # pooling: no parameters
            _Row(8660, (10,)),  # dense 864 -> 10
            _Row(5, None)]  # a layer whose shape is unknown counts once
    assert threads.step_work(rows, 32) == (156 * 576 + 8660 + 5) * 32


def test_small_models_get_one_thread_big_ones_the_share(monkeypatch) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(threads, "cpu_count", lambda: 4)
    monkeypatch.setattr(threads, "_share", None)
    small, big = threads.SMALL_STEP_WORK / 2, threads.SMALL_STEP_WORK * 2
    assert threads.auto_threads(work=small) == 1
    assert threads.auto_threads(work=big) == 4
    assert threads.auto_threads(2, work=big) == 2
    assert threads.resolve_threads(3, work=small) == 3  # a number is used as given


def test_the_shipped_mlps_are_small_and_the_lenet_is_not() -> None:
    from mtl_engine import builtin_presets, load_dataset, load_preset, summarize

    for name in ("digits_cascade", "penguins_mixed", "multimnist_uncertainty"):
        config = load_preset(name)
        spec = load_dataset(config.data.dataset, dict(config.data.params), 0).spec
        work = threads.step_work(summarize(config, spec).layers, config.training.batch_size)
        assert (work < threads.SMALL_STEP_WORK) == name.startswith(("digits", "penguins")), name
    assert "multimnist_uncertainty" in builtin_presets()
