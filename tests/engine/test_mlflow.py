"""MLflow logging (issue 16) into a real local file store, read back with MLflow's client:
params, per-step metrics equal to steps.csv, the bundle as an artifact that still predicts."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pytest
import yaml

from mtl_engine import load_bundle, log_mlflow
from mtl_engine.build import dataset_for
from mtl_engine.cli import main as mtl_run
from mtl_engine.errors import BundleError
from mtl_engine.export_cli import main as export_main
from mtl_engine.extras import EXTRAS, MissingExtraError
from mtl_engine.presets import save
from mtl_engine.study import run_study
from tests.engine.study_helpers import write_study

from .conftest import tiny

pytest.importorskip("mlflow", reason="the mlflow extra is not installed "
                    "(pip install -e '.[test]')")


def _client(store: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN202
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # reading a file store, as ours is
    return MlflowClient(tracking_uri=store.resolve().as_uri())


def _csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("mlflow")
    save(tiny(), tmp / "p.yaml")
    out, store = tmp / "run", tmp / "store"
    assert mtl_run([str(tmp / "p.yaml"), "--out", str(out), "--quiet", "--mlflow",
                    str(store)]) == 0
    assert "MLFLOW_ALLOW_FILE_STORE" not in os.environ  # set only while logging
    return out, store


def test_params_metrics_and_status_of_the_run(logged: tuple[Path, Path],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    out, store = logged
    client = _client(store, monkeypatch)
    exp = client.get_experiment_by_name("tiny digits")  # the run's config name
    (run,) = client.search_runs([exp.experiment_id])
    assert run.info.status == "FINISHED" and run.info.run_name == "run"
    params = run.data.params
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert params["optimizer.lr"] == str(config["optimizer"]["lr"]) == "0.01"
    assert params["strategy.name"] == "equal" and params["training.epochs"] == "2"
    assert yaml.safe_load(params["tasks"]) == config["tasks"]  # a list: as JSON
    assert run.data.tags["mtl.sharing"] == "hard" and run.data.tags["mtl.status"] == "completed"
    rows = _csv(out / "steps.csv")
    for column in ("loss/digit", "weight/ge5", "total", "lr"):
        history = client.get_metric_history(run.info.run_id, column)
        assert [(m.step, m.value) for m in history] == \
            [(int(r["step"]), float(r[column])) for r in rows], column  # exact: float64
    epochs = _csv(out / "epochs.csv")
    history = client.get_metric_history(run.info.run_id, "val/parity/auroc")
    assert [(m.step, m.value) for m in history] == \
        [(int(r["step"]), float(r["val/parity/auroc"])) for r in epochs]


def test_the_bundle_is_an_artifact_that_predicts_like_the_run(
        logged: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out, store = logged
    client = _client(store, monkeypatch)
    (run,) = client.search_runs([client.get_experiment_by_name("tiny digits").experiment_id])
    names = {a.path for a in client.list_artifacts(run.info.run_id, "run")}
    assert names == {"run/config.yaml", "run/steps.csv", "run/epochs.csv", "run/split.json",
                     "run/events.jsonl"}
    local = client.download_artifacts(run.info.run_id, "model/model.pt", str(tmp_path))
    x = dataset_for(tiny()).x[:5]
    a, b = load_bundle(local).predict(x), load_bundle(out / "model.pt").predict(x)
    for task in ("digit", "parity", "ge5"):
        np.testing.assert_array_equal(a[task], b[task])


def test_a_study_logs_one_mlflow_run_per_run(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_study(tmp_path, {"name": "ml study", "seeds": [0], "baselines": "none",
                                  "grid": {"strategy.name": ["equal", "rlw"]}})
    list(run_study(path, tmp_path / "study", workers=0))
    assert export_main(["mlflow", str(tmp_path / "study"), "--store",
                        str(tmp_path / "mlruns")]) == 0
    client = _client(tmp_path / "mlruns", monkeypatch)
    runs = client.search_runs([client.get_experiment_by_name("ml study").experiment_id])
    assert sorted(r.info.run_name for r in runs) == ["strategy.name=equal seed 0",
                                                     "strategy.name=rlw seed 0"]
    assert sorted(r.data.params["strategy.name"] for r in runs) == ["equal", "rlw"]


def test_refusals_are_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(BundleError, match="not a run folder"):
        log_mlflow(tmp_path, tmp_path / "mlruns")
    assert not (tmp_path / "mlruns").exists()  # nothing logged for a folder that is no run
    monkeypatch.setitem(EXTRAS, "mlflow", ("MLflow logging", ("mlflow_not_here",)))
    with pytest.raises(MissingExtraError, match=r"pip install \"mtl-explorer\[mlflow\]\""):
        log_mlflow(tmp_path)
    save(tiny(), tmp_path / "p.yaml")
    # refused before training: no run folder is made
    assert mtl_run([str(tmp_path / "p.yaml"), "--out", str(tmp_path / "r"), "--mlflow"]) == 2
    assert "MLflow logging needs the optional package mlflow_not_here" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
