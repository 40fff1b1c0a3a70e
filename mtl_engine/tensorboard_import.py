"""Read a TensorBoard log dir of an MTL run trained elsewhere back as run events, so the window
shows it in its runs table next to our own runs (`read_tensorboard`).

A log dir holding event files is one run; one whose subfolders hold them (a study written by
`write_tensorboard`, or ``runs/<name>/`` of another tool) gives one run per such subfolder,
named by its path. Scalars are read by tag, ``T`` a task and ``M`` a metric name (the first
matching rule wins; tags matching none are listed in the record's warnings):

| tag | becomes |
|---|---|
| ``total``, ``loss``, ``total_loss``, ``train/loss`` | the step's total loss |
| ``lr``, ``learning_rate``, ``train/lr`` | the step's learning rate |
| ``loss/T``, ``T/loss``, ``train/T/loss``, ``train/loss/T``, ``T/train/loss`` | T's loss |
| ``weight/T``, ``T/weight`` | task T's weight |
| ``weighted/T``, ``T/weighted_loss`` | task T's weighted loss |
| ``extra/K`` | an extra series (penalty) |
| ``train_loss/T`` | task T's epoch-mean training loss |
| ``val_loss/T``, ``val/loss/T``, ``val/T/loss``, ``T/val/loss``, ``T/val_loss`` | T's val loss |
| ``val/_multilabel/M`` | a multi-label metric across the binary tasks |
| ``val/T/M``, ``T/val/M`` | T's validation metric M |
| ``score``, ``seconds``, ``samples_per_sec`` | the epoch's score, time and throughput |
| ``grad_norm/T``, ``update_cosine/T``, ``grad_cosine/A vs B`` | a gradient measurement |
| ``final/T/M``, ``test/T/M``, ``test_loss/T`` | the run's final and test results |

Step-level tags make the training steps; each step at which a validation value was logged
ends an epoch there, holding the steps up to and including it (a log `write_tensorboard`
wrote has an ``epoch`` scalar: its epochs hold the steps before). The texts ``config`` and
``tasks`` that `write_tensorboard` writes give back the run's config and tasks; without them the
config is a stub naming the log dir and each task's type, headline metric and direction are
guessed from its metric names (accuracy first; r2 and the *_loss, mse, mae, error names lower
is better unless the metric registry knows them). Needs the ``tensorboard`` extra.
"""

from __future__ import annotations

import json
import math
import os
import re
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .args import check_path
from .curves_table import MULTILABEL_COLUMN
from .errors import BundleError
from .events import (
    EpochEnded,
    Event,
    GradientsMeasured,
    RunFailed,
    RunFinished,
    RunStarted,
    RunStatus,
    StepsLogged,
    TaskInfo,
)
from .extras import require
from .run_scalars import PAIR
from .runs import RunRecord
from .tensorboard_log import EVENT_PREFIX

# a task name: one path part, never a word the rules use for a stage
T = r"(?P<t>(?!(?:train|val|test|final|extra|total)(?:/|$))[^/]+)"
M = r"(?P<m>[^/]+)"
# (kind, pattern): the first that matches a tag says what it is. "step" kinds are per training
# step; "epoch" kinds end an epoch at their step; "grad" and "end" as the table above says.
RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("total", ("total", "loss", "total_loss", "train/loss", "train/total_loss")),
    ("lr", ("lr", "learning_rate", "train/lr")),
    ("loss", (f"loss/{T}", f"{T}/loss", f"train/{T}/loss", f"train/loss/{T}",
              f"{T}/train/loss")),
    ("weight", (f"weight/{T}", f"{T}/weight")),
    ("weighted", (f"weighted/{T}", f"{T}/weighted_loss")),
    ("extra", ("extra/(?P<k>.+)",)),
    ("train_loss", (f"train_loss/{T}",)),
    ("val_loss", (f"val_loss/{T}", f"val/loss/{T}", f"val/{T}/loss", f"{T}/val/loss",
                  f"{T}/val_loss")),
    ("multilabel", (f"val/{MULTILABEL_COLUMN}/{M}",)),
    ("val", (f"val/{T}/{M}", f"{T}/val/{M}")),
    ("score", ("score",)),
    ("seconds", ("seconds",)),
    ("samples_per_sec", ("samples_per_sec",)),
    ("epoch_number", ("epoch",)),
    ("grad_norm", (f"grad_norm/{T}",)),
    ("update_cosine", (f"update_cosine/{T}",)),
    ("grad_cosine", ("grad_cosine/(?P<a>.+?)" + re.escape(PAIR) + "(?P<b>.+)",)),
    ("final", (f"final/{T}/{M}",)),
    ("test", (f"test/{T}/{M}",)),
    ("test_loss", (f"test_loss/{T}",)),
)
# one regex per alternative: a group name may appear only once in a Python pattern
_COMPILED = tuple((kind, re.compile(alt)) for kind, alts in RULES for alt in alts)
STEP_KINDS = ("total", "lr", "loss", "weight", "weighted", "extra")
EPOCH_KINDS = ("train_loss", "val_loss", "multilabel", "val", "score", "seconds",
               "samples_per_sec", "epoch_number")
LOWER_IS_BETTER = re.compile(r".*(loss|mse|mae|rmse|error|hamming).*")


@dataclass
class _Series:
    """One tag's points: step -> (value, wall time)."""

    kind: str
    keys: dict[str, str]
    points: dict[int, tuple[float, float]] = field(default_factory=dict)


def classify(tag: str) -> tuple[str, dict[str, str]] | None:
    """(kind, named parts) of a scalar tag by RULES, or None when no rule matches."""
    for kind, pattern in _COMPILED:
        m = pattern.fullmatch(tag)
        if m:
            return kind, {k: v for k, v in m.groupdict().items() if v is not None}
    return None


def run_dirs(logdir: Path) -> list[Path]:
    """The folders under `logdir` (itself included) that hold event files, in path order."""
    found = []
    for here, dirs, files in os.walk(logdir):
        dirs.sort()
        if any(f.startswith(EVENT_PREFIX) for f in files):
            found.append(Path(here))
    return found


def read_tensorboard(logdir: str | os.PathLike[str]) -> list[RunRecord]:
    """One RunRecord per run of a TensorBoard log dir (see the module docstring): its events as
    our runs emit them, ready to replay. BundleError for a folder with no event files or no
    scalar this module can map; MissingExtraError without the tensorboard package."""
    root = Path(check_path(logdir, "read_tensorboard", "logdir"))
    if not root.is_dir():
        raise BundleError(f"{root}: not a TensorBoard log folder ("
                          f"{'no such folder' if not root.exists() else 'it is a file'})")
    require("tensorboard")
    dirs = run_dirs(root)
    if not dirs:
        raise BundleError(f"{root}: not a TensorBoard log folder (no {EVENT_PREFIX}* files)")
    records = [_read_one(d, root) for d in dirs]
    kept = [r for r in records if r is not None]
    if not kept:
        raise BundleError(f"{root}: no scalar tag names a task's loss or metric (tags like "
                          "loss/<task>, <task>/loss, val/<task>/<metric>; see docs/interop.md)")
    return kept


def _accumulate(folder: Path) -> tuple[dict[str, list[tuple[int, float, float]]],
                                       dict[str, str], float | None]:
    """(scalar tag -> [(step, value, wall)], text tag -> its first text, the config's wall)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.util import tensor_util

    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0, "tensors": 0})
    try:
        acc.Reload()
    except Exception as exc:  # a damaged file: the reader raises many kinds
        raise BundleError(f"{folder}: cannot read its event files ({exc})") from None
    tags = acc.Tags()
    scalars = {t: [(e.step, float(e.value), e.wall_time) for e in acc.Scalars(t)]
               for t in tags.get("scalars", [])}
    texts: dict[str, str] = {}
    t0: float | None = None
    for tag in tags.get("tensors", []):
        events = acc.Tensors(tag)
        plugin = acc.SummaryMetadata(tag).plugin_data.plugin_name
        if plugin == "text" or tag.endswith("/text_summary"):
            name = tag.removesuffix("/text_summary")
            values = events[0].tensor_proto.string_val if events else []
            texts[name] = values[0].decode("utf-8", "replace") if values else ""
            if name == "config" and events:
                t0 = events[0].wall_time
        elif plugin == "scalars":  # TF2's tf.summary.scalar writes tensors, not simple values
            scalars[tag] = [(e.step, float(tensor_util.make_ndarray(e.tensor_proto).item()),
                             e.wall_time) for e in events]
    return scalars, texts, t0


def _unblock(text: str) -> str:
    """The text of a Markdown code block (indented or fenced)."""
    body = text.strip("\n")
    fence = re.fullmatch(r"\s*```[^\n]*\n(.*?)\n\s*```\s*", body, re.S)
    return fence.group(1) if fence else textwrap.dedent(body)


def _read_one(folder: Path, root: Path) -> RunRecord | None:
    import yaml

    scalars, texts, t0 = _accumulate(folder)
    warnings: list[str] = []
    series: list[_Series] = []
    for tag, points in scalars.items():
        what = classify(tag)
        if what is None:
            warnings.append(f"{folder}: scalar {tag!r} matches no tag rule; skipped")
            continue
        s = _Series(*what)
        for step, value, wall in points:
            s.points[int(step)] = (value, wall)  # a rewritten step keeps its last value
        series.append(s)
    tasks = list(dict.fromkeys(s.keys["t"] for s in series if "t" in s.keys))
    if not tasks:
        return None
    walls = [w for s in series for _, w in s.points.values()]
    start = t0 if t0 is not None else min(walls, default=0.0)
    name = str(folder.relative_to(root)) if folder != root else folder.name
    config = _config(texts.get("config", ""), name, yaml)
    infos = _tasks(texts.get("tasks", ""), tasks, series)
    events = _events(config, infos, series, start, texts.get("status", ""))
    return RunRecord(folder, config, events, warnings)


def _config(text: str, name: str, yaml: Any) -> dict[str, Any]:
    try:
        config = yaml.safe_load(_unblock(text)) if text else None
    except yaml.YAMLError:
        config = None
    if isinstance(config, dict):
        return config
    # Trained elsewhere: what the runs table shows (name, dataset, sharing, strategy)
    return {"name": name, "data": {"dataset": "tensorboard"}, "sharing": {"scheme": ""},
            "strategy": {"name": ""}}


def _tasks(text: str, names: list[str], series: list[_Series]) -> tuple[TaskInfo, ...]:
    try:
        raw = json.loads(_unblock(text)) if text else None
        given = {d["name"]: TaskInfo(**{**d, "metrics": tuple(d.get("metrics", ()))})
                 for d in raw} if isinstance(raw, list) else {}
    except (ValueError, TypeError, KeyError):
        given = {}
    out = []
    for t in names:
        if t in given:
            out.append(given[t])
            continue
        metrics = list(dict.fromkeys(s.keys["m"] for s in series
                                     if s.kind in ("val", "final") and s.keys.get("t") == t))
        out.append(_guess_task(t, metrics))
    return tuple(out)


def _guess_task(name: str, metrics: list[str]) -> TaskInfo:
    from .registry import METRICS

    metric = "accuracy" if "accuracy" in metrics else (metrics[0] if metrics else "loss")
    if metric in METRICS:
        higher = bool(METRICS.get(metric).meta.get("higher_is_better", True))
    else:
        higher = LOWER_IS_BETTER.fullmatch(metric) is None
    regression = metric in ("mse", "mae", "rmse", "r2")
    return TaskInfo(name, "regression" if regression else "classification", 1, "", metric,
                    higher, tuple(metrics))


def _events(config: dict[str, Any], infos: tuple[TaskInfo, ...], series: list[_Series],
            start: float, status: str = "") -> list[Event]:
    """The run's events in the order a run emits them. `status`: the ``status`` text
    `write_tensorboard` wrote at the end ("completed after 20 steps, epoch 2 kept"), if any."""
    steps = sorted({s for x in series if x.kind in STEP_KINDS for s in x.points})
    ends = sorted({s for x in series if x.kind in EPOCH_KINDS for s in x.points})

    index = {(x.kind, tuple(sorted(x.keys.items()))): x for x in series}
    walls: dict[int, float] = {}
    for x in series:
        for s, (_, w) in x.points.items():
            walls[s] = min(w, walls.get(s, w))

    def value(kind: str, step: int, **keys: str) -> float | None:
        x = index.get((kind, tuple(sorted(keys.items()))))
        point = x.points.get(step) if x is not None else None
        return point[0] if point is not None else None

    def wall(step: int) -> float:
        return walls[step] - start if step in walls else 0.0

    names = [t.name for t in infos]
    extras = list(dict.fromkeys(x.keys["k"] for x in series if x.kind == "extra"))
    # `write_tensorboard` logs an epoch at the steps done (its `epoch` scalar says so): step s
    # is in the epoch ending at the first end above s. Other tools log validation at the step
    # it followed: the epoch ending at the first end at or above s.
    ours = any(x.kind == "epoch_number" for x in series)
    epoch_of = {s: sum((e <= s) if ours else (e < s) for e in ends) for s in steps}
    events: list[Event] = [RunStarted(
        config, infos, {"total": 0}, "", _first_epoch_length(steps, epoch_of),
        max([s + 1 for s in steps] + ends, default=0), 0, 0, started_at=start)]

    def per_step(kind: str, block: list[int], key: str = "t") -> dict[str, tuple[float, ...]]:
        keys = names if key == "t" else extras
        out = {}
        for k in keys:
            got = tuple(_nan(value(kind, s, **{key: k})) for s in block)
            if any(not math.isnan(v) for v in got):
                out[k] = got
        return out

    grads = sorted({s for x in series if x.kind.startswith(("grad", "update")) for s in x.points})
    timeline = sorted({*(("s", s) for s in steps), *(("g", s) for s in grads),
                       *(("e", s) for s in ends)},
                      key=lambda p: (p[1], ("esg" if ours else "sge").index(p[0])))
    block: list[int] = []
    n_epochs = 0

    def flush() -> None:
        if block:
            events.append(StepsLogged(
                tuple(block), epoch_of[block[0]], tuple(wall(s) for s in block),
                per_step("loss", block), per_step("weight", block), per_step("weighted", block),
                tuple(_nan(value("total", s)) for s in block),
                tuple(_nan(value("lr", s)) for s in block), per_step("extra", block, "k")))
            block.clear()

    for what, s in timeline:
        if what == "s":
            if block and epoch_of[block[0]] != epoch_of[s]:
                flush()
            block.append(s)
            continue
        flush()
        if what == "g":
            events.append(_gradients(s, names, value))
            continue
        n_epochs += 1
        events.append(EpochEnded(
            n_epochs, s, _per_task("train_loss", s, names, value),
            _per_task("val_loss", s, names, value), _metrics("val", s, infos, series),
            value("score", s), _nan(value("seconds", s), 0.0),
            _nan(value("samples_per_sec", s), 0.0),
            {x.keys["m"]: x.points[s][0] for x in series
             if x.kind == "multilabel" and s in x.points}))
    flush()
    done = max([s + 1 for s in steps] + ends, default=0)  # steps done when the run ended
    at_end = [s for x in series if x.kind in ("final", "test", "test_loss") for s in x.points]
    end_step = max(at_end, default=done)
    final = _metrics("final", end_step, infos, series)
    if not final:  # the last epoch's values stand for the final ones
        last = next((e for e in reversed(events) if isinstance(e, EpochEnded)), None)
        final = dict(last.val_metrics) if last is not None else {}
    said = re.match(r"(\w+) after \d+ steps(?:, epoch (\d+) kept)?", status)
    word = said.group(1) if said else ""
    if word == RunStatus.FAILED or status.startswith("failed"):
        events.append(RunFailed("ImportedFailure", status, "", done, n_epochs))
        return events
    kept = int(said.group(2)) if said and said.group(2) else (n_epochs or None)
    events.append(RunFinished(
        RunStatus.STOPPED if word == RunStatus.STOPPED else RunStatus.COMPLETED, done, n_epochs,
        wall(max(steps + ends)) if steps or ends else 0.0, final, kept,
        _per_task("test_loss", end_step, names, value),
        _metrics("test", end_step, infos, series)))
    return events


def _nan(v: float | None, default: float = math.nan) -> float:
    return default if v is None else v


def _first_epoch_length(steps: list[int], epoch_of: dict[int, int]) -> int:
    return sum(1 for s in steps if epoch_of[s] == 0) or len(steps)


def _per_task(kind: str, step: int, names: Iterable[str], value: Any) -> dict[str, float]:
    got = {t: value(kind, step, t=t) for t in names}
    return {t: v for t, v in got.items() if v is not None}


def _metrics(kind: str, step: int, infos: Iterable[TaskInfo], series: list[_Series]
             ) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for x in series:
        if x.kind == kind and step in x.points:
            out.setdefault(x.keys["t"], {})[x.keys["m"]] = x.points[step][0]
    order = [t.name for t in infos]
    return {t: out[t] for t in order if t in out}


def _gradients(step: int, names: list[str], value: Any) -> GradientsMeasured:
    n = len(names)
    cosine = [[1.0 if i == j else math.nan for j in range(n)] for i in range(n)]
    for i, a in enumerate(names):
        for j in range(i + 1, n):
            v = value("grad_cosine", step, a=a, b=names[j])
            if v is not None:
                cosine[i][j] = cosine[j][i] = v
    return GradientsMeasured(step, 0, "shared", _per_task("grad_norm", step, names, value),
                             tuple(tuple(r) for r in cosine),
                             _per_task("update_cosine", step, names, value), tuple(names))


def is_tensorboard_dir(folder: str | os.PathLike[str]) -> bool:
    """`folder` (or a folder under it) holds TensorBoard event files and no run of ours."""
    root = Path(folder)
    return root.is_dir() and not (root / "events.jsonl").is_file() and bool(run_dirs(root))
