"""Log a finished run folder (or every run of a study folder) to MLflow: params, per-step
metrics, and the bundle and curves as artifacts (`log_mlflow`, `mtl-run --mlflow`,
`mtl-export mlflow`).

- store: a tracking URI (``http://host:5000``, ``sqlite:///mlflow.db``, ``file:///abs/mlruns``)
  or a folder, used as a local file store (default ``mlruns`` in the current folder: MLflow's own
  convention; browse it with ``mlflow ui --backend-store-uri ./mlruns``). MLflow 3 marks the
  file store as "maintenance mode" and refuses it unless ``MLFLOW_ALLOW_FILE_STORE`` is true:
  naming a folder is that choice, so it is set while logging to one.
- experiment: the study's name for a study folder, else the run's config name.
- params: every config field as a dotted path (``training.lr``, ``strategy.name``; lists as
  JSON), plus the study's ``variant`` and ``seed`` for a study's run.
- metrics: run_scalars.py's names (the columns of steps.csv and epochs.csv: ``loss/<task>``,
  ``val/<task>/<metric>``, ...) at their steps, with the run's own wall times.
- artifacts: ``model/model.pt`` (the bundle), ``run/`` config.yaml, steps.csv, epochs.csv,
  split.json, events.jsonl. The run's status maps to FINISHED (completed), KILLED (stopped) or
  FAILED (failed, incomplete).

Nothing is sent anywhere but the store named. Needs the ``mlflow`` extra (``mlflow-skinny`` is
enough: the client and the file store, without the server's UI and database packages).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .args import check_path
from .errors import BundleError
from .extras import require
from .run_scalars import RunScalars

DEFAULT_STORE = "mlruns"
BATCH = 1000  # MLflow's most metrics in one log_batch call (params: 100)
PARAM_MAX = 6000  # MLflow's longest param value
RUN_FILES = ("config.yaml", "steps.csv", "epochs.csv", "split.json", "events.jsonl")
_BAD = re.compile(r"[^\w\-. :/]")  # MLflow names: alphanumerics, _ - . space : /
_STATUS = {"completed": "FINISHED", "stopped": "KILLED"}


def is_uri(store: str) -> bool:
    """A tracking URI (scheme://... or a known bare scheme) rather than a folder path."""
    return bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", store)) or store in (
        "databricks", "databricks-uc")


def store_uri(store: str | os.PathLike[str] | None) -> str:
    """The tracking URI of `store` (a URI as given; a folder as an absolute file: URI)."""
    text = str(store) if store is not None else DEFAULT_STORE
    return text if is_uri(text) else Path(text).resolve().as_uri()


def metric_name(tag: str) -> str:
    return _BAD.sub("_", tag)


def params_of(config: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Every config leaf as dotted path -> text (lists as JSON, long values cut to fit)."""
    out: dict[str, str] = {}
    for key, value in config.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(params_of(value, f"{path}."))
            continue
        text = json.dumps(value) if isinstance(value, (list, dict)) else str(value)
        out[metric_name(path)] = text[:PARAM_MAX]
    return out


class _Collect(RunScalars):
    """A run's scalars gathered for log_batch; texts are ignored (the config is in params)."""

    def __init__(self) -> None:
        super().__init__()
        self.metrics: list[Any] = []
        self.started = 0.0
        self.ended = 0.0

    def scalar(self, tag: str, value: float, step: int, wall: float) -> None:
        from mlflow.entities import Metric

        self.metrics.append(Metric(metric_name(tag), value, int(wall * 1000), step))
        self.ended = max(self.ended, wall)

    def text(self, tag: str, text: str, step: int, wall: float) -> None:
        pass


@contextlib.contextmanager
def _file_store_allowed(uri: str) -> Iterator[None]:
    if not uri.startswith("file:"):
        yield
        return
    old = os.environ.get("MLFLOW_ALLOW_FILE_STORE")
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("MLFLOW_ALLOW_FILE_STORE", None)
        else:
            os.environ["MLFLOW_ALLOW_FILE_STORE"] = old


def log_mlflow(folder: str | os.PathLike[str], store: str | os.PathLike[str] | None = None,
               experiment: str | None = None) -> list[str]:
    """Log a run folder, or each run of a study folder, to MLflow; returns the MLflow run ids
    in order. `store`: a tracking URI or a folder (default ``mlruns``); `experiment`: the MLflow
    experiment (default: the study's name, else the run's config name). BundleError for a
    folder that is not a run or study folder, MissingExtraError without mlflow."""
    from .runs import read_run
    from .study.runner import STUDY_FILE
    from .tensorboard_log import study_runs

    root = Path(check_path(folder, "log_mlflow", "folder"))
    if store is not None:
        check_path(store, "log_mlflow", "store")
    require("mlflow")
    uri = store_uri(store)
    study = (root / STUDY_FILE).is_file()
    runs = [(name, d) for name, d in study_runs(root)] if study else [("", root)]
    records = [(name, read_run(d)) for name, d in runs]  # refuse before logging anything
    name = experiment or (_study_name(root) if study else str(records[0][1].config.get(
        "name") or root.name))
    with _file_store_allowed(uri):
        from mlflow.exceptions import MlflowException
        from mlflow.tracking import MlflowClient

        try:
            client = MlflowClient(tracking_uri=uri)
            found = client.get_experiment_by_name(name)
            exp_id = found.experiment_id if found is not None else client.create_experiment(name)
            return [_log_one(client, exp_id, sub, record) for sub, record in records]
        except MlflowException as exc:
            raise BundleError(f"{uri}: MLflow refused the run ({_first(exc)})") from None


def _study_name(root: Path) -> str:
    import yaml

    from .study.runner import STUDY_FILE

    with contextlib.suppress(OSError, UnicodeDecodeError, yaml.YAMLError):
        doc = yaml.safe_load((root / STUDY_FILE).read_text(encoding="utf-8"))
        if isinstance(doc, dict) and doc.get("name"):
            return str(doc["name"])
    return root.name


def _first(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _log_one(client: Any, exp_id: str, sub: str, record: Any) -> str:
    from mlflow.entities import Param, RunTag

    collect = _Collect()
    for event in record.events:
        collect.record(event)
    started = record.events[0].started_at
    config = dict(record.config)
    tags = {"mtl.folder": str(record.folder.resolve()),
            "mtl.dataset": str((config.get("data") or {}).get("dataset", "")),
            "mtl.strategy": str((config.get("strategy") or {}).get("name", "")),
            "mtl.sharing": str((config.get("sharing") or {}).get("scheme", "hard"))}
    run = client.create_run(exp_id, start_time=int(started * 1000), tags=tags,
                            run_name=sub or record.folder.name)
    run_id = run.info.run_id
    params = params_of(config)
    if sub:
        params["study.run"] = sub
    items = [Param(k, v) for k, v in params.items()]
    for i in range(0, len(items), 100):
        client.log_batch(run_id, params=items[i:i + 100])
    for i in range(0, len(collect.metrics), BATCH):
        client.log_batch(run_id, metrics=collect.metrics[i:i + BATCH])
    client.log_batch(run_id, tags=[RunTag("mtl.status", _status(record))])
    model = record.folder / "model.pt"
    if model.is_file():
        client.log_artifact(run_id, str(model), "model")
    for name in RUN_FILES:
        if (record.folder / name).is_file():
            client.log_artifact(run_id, str(record.folder / name), "run")
    end = max(collect.ended, started)
    client.set_terminated(run_id, _STATUS.get(_status(record), "FAILED"), int(end * 1000))
    return run_id


def _status(record: Any) -> str:
    last = record.finished
    if last is None or record.incomplete:
        return "incomplete"
    return str(getattr(last, "status", "failed"))
