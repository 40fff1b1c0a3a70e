"""TensorBoard event files (issue 16): `mtl-run --tensorboard`, the converter for run and study
folders, read back with TensorBoard's own reader and compared with steps.csv / epochs.csv; and
the import of a log dir trained elsewhere."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import yaml

from mtl_engine import read_tensorboard, write_tensorboard
from mtl_engine.cli import main as mtl_run
from mtl_engine.errors import BundleError
from mtl_engine.events import EpochEnded, GradientsMeasured, RunFinished, StepsLogged
from mtl_engine.export_cli import main as export_main
from mtl_engine.presets import save
from mtl_engine.runs import read_run
from mtl_engine.study import run_study
from tests.engine.study_helpers import write_study

from .conftest import tiny

pytest.importorskip("tensorboard", reason="the tensorboard extra is not installed "
                    "(pip install -e '.[test]')")
from tensorboard.backend.event_processing.event_accumulator import (  # noqa: E402
    EventAccumulator,
)
from torch.utils.tensorboard import SummaryWriter  # noqa: E402


def _read(logdir: Path) -> EventAccumulator:
    acc = EventAccumulator(str(logdir), size_guidance={"scalars": 0, "tensors": 0})
    acc.Reload()
    return acc


def _csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _text(acc: EventAccumulator, tag: str) -> str:
    return acc.Tensors(f"{tag}/text_summary")[0].tensor_proto.string_val[0].decode()


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("tb")
    save(tiny(training={"diagnostics_every": 4}), tmp / "p.yaml")
    out = tmp / "run"
    assert mtl_run([str(tmp / "p.yaml"), "--out", str(out), "--quiet", "--tensorboard"]) == 0
    return out


def _same_as_csv(acc: EventAccumulator, rows: list[dict[str, str]], skip: tuple[str, ...]
                 ) -> int:
    """Every column of a curves CSV is a scalar of that name, at the row's step, equal to
    float32 precision (TensorBoard stores float32). Returns how many values were compared."""
    n = 0
    for column in rows[0]:
        if column in skip:
            continue
        points = {e.step: e.value for e in acc.Scalars(column)}
        for row in rows:
            if row[column] == "":
                assert int(row["step"]) not in points
                continue
            assert points[int(row["step"])] == pytest.approx(float(row[column]), rel=1e-6,
                                                               abs=1e-12), column
            n += 1
    return n


def test_mtl_run_writes_every_step_and_epoch_value_of_the_csvs(cli_run: Path) -> None:
    acc = _read(cli_run / "tensorboard")
    steps, epochs = _csv(cli_run / "steps.csv"), _csv(cli_run / "epochs.csv")
    assert len(steps) == 20 and len(epochs) == 2
    assert {"loss/digit", "weight/parity", "weighted/ge5", "total", "lr"} <= set(steps[0])
    assert _same_as_csv(acc, steps, ("step", "epoch", "wall")) == 20 * 11
    assert _same_as_csv(acc, epochs, ("step", "wall")) >= 2 * 20
    # wall times: the run's start plus each step's wall
    first = acc.Scalars("loss/digit")
    assert first[-1].wall_time - first[0].wall_time == pytest.approx(
        float(steps[-1]["wall"]) - float(steps[0]["wall"]), abs=1e-3)


def test_gradient_cosines_config_and_status_are_in_the_log(cli_run: Path) -> None:
    acc = _read(cli_run / "tensorboard")
    record = read_run(cli_run)
    grads = [e for e in record.events if isinstance(e, GradientsMeasured)]
    assert len(grads) == 5  # every 4 steps of 20
    cos = {e.step: e.value for e in acc.Scalars("grad_cosine/digit vs ge5")}
    norms = {e.step: e.value for e in acc.Scalars("grad_norm/parity")}
    for g in grads:
        names = list(g.tasks)
        assert cos[g.step] == pytest.approx(g.cosine[names.index("digit")][names.index("ge5")],
                                            rel=1e-6)
        assert norms[g.step] == pytest.approx(g.norms["parity"], rel=1e-6)
    config = yaml.safe_load(_text(acc, "config").replace("\n    ", "\n").strip())
    assert config == yaml.safe_load((cli_run / "config.yaml").read_text())
    last = record.events[-1]
    assert isinstance(last, RunFinished)
    assert _text(acc, "status") == f"completed after 20 steps, epoch {last.selected_epoch} kept"
    final = {e.step: e.value for e in acc.Scalars("final/digit/accuracy")}
    assert final[20] == pytest.approx(last.final_metrics["digit"]["accuracy"], rel=1e-6)


def test_the_converter_writes_what_the_live_log_wrote(cli_run: Path, tmp_path: Path) -> None:
    assert export_main(["tensorboard", str(cli_run), "--logdir", str(tmp_path / "tb")]) == 0
    live, again = _read(cli_run / "tensorboard"), _read(tmp_path / "tb")
    assert sorted(live.Tags()["scalars"]) == sorted(again.Tags()["scalars"])
    for tag in live.Tags()["scalars"]:
        assert [(e.step, e.value) for e in live.Scalars(tag)] == \
            [(e.step, e.value) for e in again.Scalars(tag)], tag
    # converting again replaces the files rather than adding a second copy of every curve
    write_tensorboard(cli_run, tmp_path / "tb")
    assert len(list((tmp_path / "tb").glob("events.out.tfevents.*"))) == 1
    assert len(_read(tmp_path / "tb").Scalars("loss/digit")) == 20


def test_a_study_folder_becomes_one_sub_run_per_run(tmp_path: Path) -> None:
    path = write_study(tmp_path, {"name": "tb study", "seeds": [0, 1], "baselines": "none",
                                  "grid": {"strategy.name": ["equal", "rlw"]}})
    out = tmp_path / "study"
    list(run_study(path, out, workers=0))
    logdir = write_tensorboard(out)
    assert logdir == out / "tensorboard"
    subs = sorted(p.name for p in logdir.iterdir())
    assert subs == ["strategy.name=equal seed 0", "strategy.name=equal seed 1",
                    "strategy.name=rlw seed 0", "strategy.name=rlw seed 1"]
    doc = yaml.safe_load((out / "study.yaml").read_text())
    for rec in doc["runs"]:
        acc = _read(logdir / f"{rec['variant']} seed {rec['seed']}")
        rows = _csv(out / rec["folder"] / "steps.csv")
        # 3 steps of total, lr and loss / weight / weighted of 2 tasks
        assert _same_as_csv(acc, rows, ("step", "epoch", "wall")) == 3 * 8
    # and reads back as four runs, named by their sub-run
    records = read_tensorboard(logdir)
    assert sorted(r.folder.name for r in records) == subs


def test_our_log_reads_back_as_the_run_it_came_from(cli_run: Path) -> None:
    (record,) = read_tensorboard(cli_run / "tensorboard")
    orig = read_run(cli_run)
    assert record.config == orig.config and not record.warnings
    assert record.events[0].tasks == orig.events[0].tasks
    want = [v for e in orig.events if isinstance(e, StepsLogged) for v in e.losses["ge5"]]
    got = [v for e in record.events if isinstance(e, StepsLogged) for v in e.losses["ge5"]]
    np.testing.assert_allclose(got, want, rtol=1e-6)
    ep_a = [e for e in orig.events if isinstance(e, EpochEnded)]
    ep_b = [e for e in record.events if isinstance(e, EpochEnded)]
    assert [(e.epoch, e.step) for e in ep_b] == [(e.epoch, e.step) for e in ep_a]
    assert ep_b[-1].val_metrics["parity"]["auroc"] == pytest.approx(
        ep_a[-1].val_metrics["parity"]["auroc"], rel=1e-6)
    end_a, end_b = orig.events[-1], record.events[-1]
    assert isinstance(end_b, RunFinished)
    assert (end_b.status, end_b.step, end_b.epoch, end_b.selected_epoch) == \
        (end_a.status, end_a.step, end_a.epoch, end_a.selected_epoch)
    g = [e for e in record.events if isinstance(e, GradientsMeasured)]
    assert [e.step for e in g] == [0, 4, 8, 12, 16]


def test_a_log_dir_from_elsewhere_maps_by_the_documented_tags(tmp_path: Path) -> None:
    logdir = tmp_path / "other_tool" / "version_0"
    w = SummaryWriter(str(logdir))
    # 6 steps, 3 per epoch; validation after steps 2 and 5; one unmapped tag
    for s in range(6):
        w.add_scalar("left/loss", 1.0 / (s + 1), s, walltime=1000.0 + s)
        w.add_scalar("train/right/loss", 2.0 - 0.1 * s, s, walltime=1000.0 + s)
        w.add_scalar("train/loss", 1.0 / (s + 1) + 2.0 - 0.1 * s, s, walltime=1000.0 + s)
        w.add_scalar("lr", 0.01, s, walltime=1000.0 + s)
        w.add_scalar("gpu/memory/used/mb", 5.0, s, walltime=1000.0 + s)
    for s, acc_left, mse in ((2, 0.5, 0.25), (5, 0.75, 0.125)):
        w.add_scalar("left/val/accuracy", acc_left, s, walltime=1000.5 + s)
        w.add_scalar("val/right/mse", mse, s, walltime=1000.5 + s, new_style=True)  # TF2-style
        w.add_scalar("val_loss/right", mse, s, walltime=1000.5 + s)
    w.close()
    (record,) = read_tensorboard(tmp_path / "other_tool")
    assert record.folder == logdir
    assert record.warnings == [f"{logdir}: scalar 'gpu/memory/used/mb' matches no tag rule; "
                               "skipped"]
    started = record.events[0]
    assert [t.name for t in started.tasks] == ["left", "right"]
    left, right = started.tasks
    assert (left.metric, left.higher_is_better) == ("accuracy", True)
    assert (right.metric, right.higher_is_better, right.type) == ("mse", False, "regression")
    assert record.config["name"] == "version_0"
    steps = [e for e in record.events if isinstance(e, StepsLogged)]
    assert [(e.steps, e.epoch) for e in steps] == [((0, 1, 2), 0), ((3, 4, 5), 1)]
    assert steps[1].losses["left"] == pytest.approx((1 / 4, 1 / 5, 1 / 6))
    assert steps[0].losses["right"] == pytest.approx((2.0, 1.9, 1.8))
    assert steps[0].total[2] == pytest.approx(1 / 3 + 1.8)
    assert steps[0].wall == pytest.approx((0.0, 1.0, 2.0))
    assert "left" not in steps[0].weights  # nothing logged: no series, not zeros
    epochs = [e for e in record.events if isinstance(e, EpochEnded)]
    # validation at step 2 is logged after step 2: an epoch ends there (step count 3 there
    # would need to know the other tool's convention; the step as logged is kept)
    assert [(e.epoch, e.step) for e in epochs] == [(1, 2), (2, 5)]
    assert epochs[1].val_metrics == {"left": {"accuracy": 0.75}, "right": {"mse": 0.125}}
    assert epochs[0].val_loss == {"right": 0.25} and epochs[0].score is None
    end = record.events[-1]
    assert isinstance(end, RunFinished) and end.step == 6 and end.epoch == 2
    assert end.final_metrics == epochs[-1].val_metrics


def test_folders_without_event_files_or_tags_are_refused(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="no such folder"):
        read_tensorboard(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(BundleError, match="no events.out.tfevents"):
        read_tensorboard(tmp_path / "empty")
    w = SummaryWriter(str(tmp_path / "gpu"))
    w.add_scalar("gpu/util", 0.5, 0)
    w.close()
    with pytest.raises(BundleError, match="no scalar tag names a task"):
        read_tensorboard(tmp_path / "gpu")
    with pytest.raises(BundleError, match="not a run folder"):
        write_tensorboard(tmp_path / "empty")
