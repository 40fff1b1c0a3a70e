"""Study files: validation that names the field, expansion (grid x variants x seeds +
baselines), dotted paths, and run keys that depend on the run and nothing else."""

from __future__ import annotations

import pytest

from mtl_engine.errors import ConfigError
from mtl_engine.study import expand, load_study, run_key, study_from_dict
from tests.engine.study_helpers import write_study


def _expand(tmp_path, **study):
    return expand(load_study(write_study(tmp_path, study)))


def test_expansion_is_grid_times_variants_times_seeds_plus_baselines(tmp_path):
    e = _expand(tmp_path, seeds=[0, 1, 2],
                grid={"strategy.name": ["equal", "mgda"], "optimizer.lr": [0.01, 0.001]},
                variants=[{}, {"sharing.scheme": "task_specific"}])
    multi = [r for r in e.runs if not r.baseline]
    base = [r for r in e.runs if r.baseline]
    assert len(multi) == 2 * 2 * 2 * 3
    assert len(base) == 2 * 3  # one per task and seed
    assert e.tasks == ("digit", "parity")
    assert e.varied == ("strategy.name", "optimizer.lr", "sharing.scheme")
    combos = {(r.config["strategy"]["name"], r.config["optimizer"]["lr"],
               r.config["sharing"]["scheme"], r.seed) for r in multi}
    assert len(combos) == 24  # every combination once
    assert {r.seed for r in multi} == {0, 1, 2}
    one = next(r for r in multi if r.variant ==
               "strategy.name=mgda, optimizer.lr=0.001, sharing.scheme=task_specific")
    assert one.fields == {"strategy.name": "mgda", "optimizer.lr": 0.001,
                          "sharing.scheme": "task_specific"}
    assert one.config["training"]["seed"] == one.seed


def test_baseline_is_one_task_hard_sharing_equal_weighting_same_trunk_and_optimiser(tmp_path):
    e = _expand(tmp_path, seeds=[4], overrides={"optimizer.lr": 0.02, "training.epochs": 2},
                grid={"strategy.name": ["mgda"]})
    b = next(r for r in e.runs if r.baseline == "parity")
    cfg = b.config
    assert [t["name"] for t in cfg["tasks"] if t["enabled"]] == ["parity"]
    assert cfg["sharing"] == {"scheme": "hard", "params": {}}
    assert cfg["strategy"]["name"] == "equal"
    assert cfg["optimizer"]["lr"] == 0.02 and cfg["training"]["epochs"] == 2
    assert cfg["training"]["seed"] == 4
    multi = next(r for r in e.runs if not r.baseline)
    assert cfg["trunk"] == multi.config["trunk"]
    assert cfg["tasks"][1]["head"] == multi.config["tasks"][1]["head"]


def test_no_baselines(tmp_path):
    e = _expand(tmp_path, seeds=2, baselines="none", grid={"strategy.name": ["equal", "mgda"]})
    assert len(e.runs) == 4 and not any(r.baseline for r in e.runs)
    assert sorted({r.seed for r in e.runs}) == [0, 1]  # a count of seeds


def test_dotted_paths_reach_lists_by_index_and_by_name(tmp_path):
    e = _expand(tmp_path, baselines="none", overrides={
        "tasks[1].weight": 3.0, "tasks[digit].head[0].out_features": 8,
        "trunk[0].out_features": 12, "strategy.params.calpha": 0.25},
        grid={"strategy.name": ["cagrad"]})
    cfg = e.runs[0].config
    assert cfg["tasks"][1]["weight"] == 3.0
    assert cfg["tasks"][0]["head"][0]["out_features"] == 8
    assert cfg["trunk"][0]["out_features"] == 12
    assert cfg["strategy"]["params"]["calpha"] == 0.25


def test_changing_a_method_drops_the_old_methods_params(tmp_path):
    from mtl_engine.registry import STRATEGIES
    from tests.engine.study_helpers import TINY_STUDY_BASE

    base = {**TINY_STUDY_BASE, "strategy": {"name": "famo", "params": {"w_lr": 0.5}}}
    path = write_study(tmp_path, {"baselines": "none",
                                  "grid": {"strategy.name": ["famo", "mgda"]}}, base)
    famo, mgda = expand(load_study(path)).runs
    assert famo.config["strategy"]["params"]["w_lr"] == 0.5  # the base's own setting stays
    defaults = {p.name: p.default for p in STRATEGIES.get("mgda").params}
    assert mgda.config["strategy"]["params"] == defaults  # famo's w_lr is not carried over


@pytest.mark.parametrize(("study", "where", "says"), [
    ({"seed": [0]}, "seed", "Did you mean 'seeds'"),
    ({"grid": {"strategy.name": ["equal", "mgdaa"]}}, "grid.strategy.name", "'mgda'"),
    ({"overrides": {"training.epoch": 2}}, "overrides.training.epoch", "'epochs'"),
    ({"overrides": {"training.epochs": -1}}, "overrides.training.epochs", "training.epochs"),
    ({"variants": [{}, {"sharing.scheme": "hardd"}]}, "variants[1].sharing.scheme", "'hard'"),
    ({"variants": [{}, {"sharing.scheme": "mmoe", "sharing.params.expert": 4}]},
     "variants[1].sharing.params.expert", "experts"),
    ({"overrides": {"tasks[5].weight": 2}}, "overrides.tasks[5].weight", "2 entries"),
    ({"overrides": {"tasks[colour].weight": 2}}, "overrides.tasks[colour].weight", "digit"),
    ({"grid": {"strategy.name": "mgda"}}, "grid.strategy.name", "non-empty list"),
    ({"seeds": [0, 0]}, "seeds", "twice"),
    ({"seeds": [0, -1]}, "seeds[1]", "whole number"),
    ({"baselines": "single"}, "baselines", "single_task"),
    ({"select": "last"}, "select", "final"),
    ({"variants": {"sharing.scheme": "mmoe"}}, "variants", "list"),
    ({"base": "no_such_preset"}, "base", "no_such_preset"),
])
def test_a_bad_study_names_its_field(tmp_path, study, where, says):
    with pytest.raises(ConfigError) as info:
        _expand(tmp_path, **study)
    assert info.value.path == where, str(info.value)
    assert says in str(info.value)
    assert "\n" not in str(info.value)


def test_the_error_names_the_run(tmp_path):
    with pytest.raises(ConfigError, match=r"in run strategy.name=mgdaa, seed 0"):
        _expand(tmp_path, grid={"strategy.name": ["equal", "mgdaa"]})


def test_two_variants_that_are_the_same_run_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="give the same run"):
        _expand(tmp_path, variants=[{"optimizer.lr": 0.01}, {}])  # TINY's lr is 0.01


def test_a_study_file_reads_its_base_relative_to_itself(tmp_path, monkeypatch):
    path = write_study(tmp_path / "deep", {"grid": {"strategy.name": ["equal"]}})
    monkeypatch.chdir(tmp_path)  # not the study's folder
    study = load_study(path)
    assert study.base_path == (tmp_path / "deep" / "presets" / "tiny.yaml").resolve()
    assert study.name == "my_study"  # the file's stem when the study has no name


def test_builtin_base_and_yaml_errors(tmp_path):
    assert study_from_dict({"base": "multimnist_uncertainty"}).base_path.name == \
        "multimnist_uncertainty.yaml"
    bad = tmp_path / "bad.yaml"
    bad.write_text("base: x\nseeds: [0, 1\n")
    with pytest.raises(ConfigError, match="bad.yaml.*not valid YAML"):
        load_study(bad)


def test_keys_depend_on_the_run_not_on_names(tmp_path):
    a = _expand(tmp_path / "a", name="one", grid={"strategy.name": ["equal", "mgda"]})
    b = _expand(tmp_path / "b", name="another name", seeds=[0],
                variants=[{"strategy.name": "mgda"}, {"strategy.name": "equal"}])
    keys_a = {(r.config["strategy"]["name"], r.seed, r.baseline): r.key for r in a.runs}
    keys_b = {(r.config["strategy"]["name"], r.seed, r.baseline): r.key for r in b.runs}
    assert keys_a == keys_b  # same runs, written differently, in a renamed study
    assert len(set(keys_a.values())) == len(keys_a)
    r = a.runs[0]
    assert run_key({**r.config, "name": "renamed", "description": "x"}) == r.key
    seeded = {**r.config, "training": {**r.config["training"], "seed": 99}}
    assert run_key(seeded) != r.key


def test_too_many_runs_are_refused_before_expanding(tmp_path):
    with pytest.raises(ConfigError, match="expands to"):
        _expand(tmp_path, seeds=1000, grid={"optimizer.lr": [0.1 * i + 0.01 for i in range(20)]})


def test_a_saved_study_reads_back_the_same_wherever_it_is_opened_from(tmp_path, monkeypatch):
    from mtl_engine import dumps_study, save_study

    path = write_study(tmp_path, {"name": "s", "seeds": [0, 2], "grid": {
        "strategy.name": ["equal", "mgda"]}, "variants": [{}, {"optimizer.lr": 0.02}],
        "overrides": {"training.epochs": 2}, "select": "best"})
    study = load_study(path)
    saved = save_study(study, tmp_path / "copy.yaml")
    assert "base: presets/tiny.yaml" in saved.read_text()  # relative, so the folder can move
    monkeypatch.chdir("/")
    again = load_study(saved)
    assert again.base_path == study.base_path
    assert (again.seeds, again.grid, again.variants, again.overrides, again.select) == (
        study.seeds, study.grid, study.variants, study.overrides, study.select)
    assert [r.key for r in expand(again).runs] == [r.key for r in expand(study).runs]
    builtin = study_from_dict({"base": "multimnist_uncertainty"})
    assert "base: multimnist_uncertainty\n" in dumps_study(builtin)


def test_every_study_field_is_read_written_and_documented() -> None:
    # A new study field is one entry in FIELDS, one Study attribute and its reading in
    # study_from_dict (spec.py); this holds the three, the written form and the docs together.
    from dataclasses import fields as dc_fields
    from pathlib import Path

    from mtl_engine.study.spec import FIELDS, Study

    attributes = {f.name for f in dc_fields(Study)} - {"base_path"}
    assert attributes == set(FIELDS)
    written = study_from_dict({"base": "multimnist_uncertainty", "description": "d"}).to_dict()
    assert set(written) == set(FIELDS)
    docs = (Path(__file__).resolve().parents[2] / "docs" / "studies.md").read_text("utf-8")
    example = docs.split("## The study file", 1)[1].split("```yaml", 1)[1].split("```", 1)[0]
    documented = {line.split(":", 1)[0] for line in example.splitlines() if line[:1].isalpha()}
    assert documented == set(FIELDS), "docs/studies.md's study file example lists every field"
