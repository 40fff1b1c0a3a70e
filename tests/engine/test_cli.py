"""The headless runner end to end, and its one-line errors."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from mtl_engine.cli import EPOCH_LINE_WIDTH, _epoch_line, main
from mtl_engine.events import EpochEnded
from mtl_engine.presets import save
from mtl_engine.runs import read_run

from .conftest import tiny


def test_runs_a_preset_and_writes_a_folder(tmp_path, capsys) -> None:
    preset = save(tiny(), tmp_path / "tiny.yaml")
    out = tmp_path / "out"
    assert main([str(preset), "--epochs", "1", "--out", str(out), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""  # --quiet: no progress at all, the results on stdout
    assert "completed after 10 steps" in captured.out
    assert "digit" in captured.out and "parity" in captured.out and "accuracy" in captured.out
    assert captured.out.strip().splitlines()[-1] == f"run folder: {out}"
    record = read_run(out)
    assert record.config["training"]["epochs"] == 1  # the override is in the resolved config
    assert (out / "model.pt").exists() and (out / "steps.csv").exists()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("data: [unclosed", "not valid YAML at line 1"),
        ("", "the file is empty"),
        ("data: {dataset: digits}\ntasks: [{name: digit}]\nstrategy: {name: uncertanty}",
         "strategy.name: unknown strategy 'uncertanty'. Did you mean 'uncertainty'?"),
        ("data: {dataset: digits}\ntasks: [{name: digit}]\ntraining: {epochs: -2}",
         "training.epochs: must be a positive integer, got -2"),
    ],
)
def test_broken_presets_give_one_line(tmp_path, capsys, text: str, expected: str) -> None:
    p = tmp_path / "broken.yaml"
    p.write_text(text)
    assert main([str(p), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert expected in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err


def test_shape_that_does_not_fit_is_one_line(tmp_path, capsys) -> None:
    d = tiny().to_dict()
    d["trunk"] = [{"type": "conv2d", "out_channels": 4, "kernel_size": 3}]
    p = tmp_path / "shape.yaml"
    from mtl_engine.config import from_dict

    save(from_dict(d), p)
    assert main([str(p), "--quiet", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("mtl-run: trunk[0]: conv2d cannot take input of shape (64)")
    assert not any("Traceback" in line for line in err)


@pytest.mark.parametrize(
    ("csv_text", "expected"),
    [
        ("a,b,y\n1,2,0\n3,x,1\n4,5,0\n", "column 'b', row 3"),
        ("a,b,y\n1,2,0\n3,4\n", "row 3"),
        ("a,b\n1,2\n", "'y'"),
    ],
)
def test_broken_csv_is_one_line_naming_file_column_row(tmp_path, capsys, csv_text: str,
                                                        expected: str) -> None:
    data = tmp_path / "mine.csv"
    data.write_text(csv_text)
    preset = tmp_path / "csv.yaml"
    preset.write_text(
        f"data: {{dataset: csv, params: {{path: '{data}', tasks: ['y:binary']}}}}\n"
        "tasks: [{name: y}]\ntraining: {epochs: 1, device: cpu}\n")
    assert main([str(preset), "--quiet", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("mtl-run: ") and "mine.csv" in err[-1] and expected in err[-1]
    assert not any("Traceback" in line for line in err)


def test_list_prints_every_registry(capsys) -> None:
    assert main(["--list"]) == 0
    out = capsys.readouterr().out
    for kind in ("strategies:", "datasets:", "layers:", "sharing:", "losses:", "metrics:",
                 "optimizers:"):
        assert kind in out
    assert main(["--list", "strategies"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("uncertainty ") and "Kendall" in line for line in lines)
    assert main(["--list", "strategy"]) == 2
    assert "Did you mean 'strategies'?" in capsys.readouterr().err


def test_console_script_entry_point_runs() -> None:
    res = subprocess.run([sys.executable, "-m", "mtl_engine", "--list", "sharing"],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and "hard" in res.stdout


def test_an_edited_csv_is_read_again(tmp_path) -> None:
    import os

    from mtl_engine.build import load_dataset

    data = tmp_path / "mine.csv"
    data.write_text("a,y\n1,0\n2,1\n3,0\n")
    params = {"path": str(data), "tasks": ["y:binary"], "inputs": [], "delimiter": ",",
              "standardize": False}
    assert load_dataset("csv", params).spec.n_samples == 3
    data.write_text("a,y\n1,0\n2,1\n3,0\n4,1\n")
    os.utime(data, (1e9, 1e9))  # a different mtime even on coarse file systems
    assert load_dataset("csv", params).spec.n_samples == 4


def test_where_a_run_goes_is_one_choice(tmp_path, capsys) -> None:
    preset = save(tiny(), tmp_path / "tiny.yaml")
    with pytest.raises(SystemExit) as exc:
        main([str(preset), "--overwrite", "--quiet"])
    assert exc.value.code == 2
    assert "--overwrite replaces the run in the folder --out names" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main([str(preset), "--out", str(tmp_path / "a"), "--into", str(tmp_path / "b")])
    assert exc.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_into_writes_a_fresh_subfolder(tmp_path, capsys) -> None:
    preset = save(tiny(training={"epochs": 1}), tmp_path / "tiny.yaml")
    parent = tmp_path / "runs"
    assert main([str(preset), "--into", str(parent), "--quiet"]) == 0
    assert main([str(preset), "--into", str(parent), "--quiet"]) == 0
    folders = sorted(parent.iterdir())
    assert len(folders) == 2
    assert all(re.fullmatch(r"\d{8}-\d{6}-tiny-digits(-2)?", f.name) for f in folders)
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1] == f"run folder: {folders[-1]}"  # the second: a later time, or the same and -2
    for f in folders:
        assert read_run(f).finished.status == "completed" and (f / "model.pt").exists()


def test_progress_goes_to_stderr_and_results_to_stdout(tmp_path, capsys) -> None:
    preset = save(tiny(training={"epochs": 2}), tmp_path / "tiny.yaml")
    out = tmp_path / "out"
    assert main([str(preset), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    err, res = captured.err.splitlines(), captured.out.splitlines()
    assert err[0] == f"mtl-run: tiny digits -> {out}"
    assert [line.split("  ")[1] for line in err if line.startswith("  epoch ")] == \
        ["epoch 1/2", "epoch 2/2"]
    assert res[0].startswith("completed after 20 steps") and res[-1] == f"run folder: {out}"
    assert not any(line.startswith("  epoch ") for line in res)


def _epoch(n_tasks: int) -> EpochEnded:
    names = [f"task{i:02d}" for i in range(n_tasks)]
    return EpochEnded(
        epoch=3, step=30, train_loss={n: 1.0 for n in names},
        val_loss={n: float(i + 1) for i, n in enumerate(names)},
        val_metrics={n: {"accuracy": 0.5 + 0.03 * i} for i, n in enumerate(names)},
        score=0.7, seconds=1.5, samples_per_sec=1234.0)


def test_an_epoch_line_stays_short_at_any_number_of_tasks() -> None:
    head = {f"task{i:02d}": "accuracy" for i in range(14)}
    higher = dict.fromkeys(head, True)
    two = _epoch_line(_epoch(2), 10, head, higher)
    assert two == ("  epoch 3/10  val loss task00=1 task01=2  |  task00 accuracy 0.5, "
                   "task01 accuracy 0.53  (1.5 s, 1,234 samples/s)")
    many = _epoch_line(_epoch(14), 10, head, higher)
    assert len(many) <= EPOCH_LINE_WIDTH
    # mean of 1..14 = 7.5; the lowest accuracy is task00's 0.5
    assert many == ("  epoch 3/10  val loss 7.5 (mean of 14 tasks), score 0.7, lowest task00 "
                    "accuracy 0.5  (1.5 s, 1,234 samples/s)")
