"""The Study window: building a study in the form, running it, and reading a study folder
(table, sorting, Pareto view, banded curves) against hand computations from its files."""

from __future__ import annotations

import copy
import csv
import math
import statistics
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QStandardItem, QStandardItemModel

from mtl_engine import (
    config_from_dict,
    config_to_dict,
    load_preset,
    load_study,
    run_study,
    save_preset,
    study_from_dict,
)
from tests.engine.conftest import TINY

BASE: dict[str, Any] = copy.deepcopy(TINY)
BASE["tasks"] = TINY["tasks"][:2]  # digit, parity: two tasks, so there is a front
BASE["training"] = {**TINY["training"], "epochs": 2, "max_steps_per_epoch": 2, "log_every": 1}
STRATEGIES = ["equal", "uncertainty"]


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _f(text: str) -> float | None:
    return float(text) if text else None


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2 strategies x 2 seeds + single-task baselines, 2 epochs of 2 steps, run in-process."""
    root = tmp_path_factory.mktemp("study")
    save_preset(BASE, root / "tiny.yaml")
    study = study_from_dict({"name": "tiny", "base": "tiny.yaml", "seeds": 2,
                             "grid": {"strategy.name": STRATEGIES}}, root)
    events = list(run_study(study, root / "out", workers=0))
    assert events[-1].status == "completed", events[-1]
    return root / "out"


@pytest.fixture
def study_window(window, qtbot):  # noqa: ANN001, ANN201 - conftest's main window
    sw = window.open_study()
    qtbot.addWidget(sw)
    return sw


# ---------------------------------------------------------------- building
def test_form_counts_runs_and_saves_the_study(study_window, window, tmp_path: Path) -> None:
    sw = study_window
    n_tasks = sum(1 for t in window.session.draft["tasks"] if t.get("enabled", True))
    sw.build.strategies.set_checked(["equal", "mgda"])
    sw.build.seeds.setValue(2)
    sw.build.baselines.setChecked(True)
    sw.recount()
    assert sw.n_runs == 2 * 2 + n_tasks * 2
    assert sw.build.count_label.text().startswith(f"Runs: {2 * 2 + n_tasks * 2} ")
    sw.build.params.add_row("optimizer.lr", [0.01, 0.001])
    sw.recount()
    assert sw.n_runs == 2 * 2 * 2 + n_tasks * 2
    assert "unknown" in sw.build.time_label.text()  # no run of this setup in the session

    path = sw.save_study(tmp_path / "cmp.yaml")
    loaded = load_study(path)
    assert loaded.grid == {"strategy.name": ("equal", "mgda"), "optimizer.lr": (0.01, 0.001)}
    assert loaded.seeds == (0, 1) and loaded.baselines == "single_task"
    form = sw.form_study().to_dict()
    assert {k: v for k, v in loaded.to_dict().items() if k != "base"} == \
        {k: v for k, v in form.items() if k != "base"}
    assert loaded.base_path == (tmp_path / "cmp.base.yaml").resolve()
    saved_base = config_to_dict(load_preset(loaded.base_path))
    assert saved_base == config_to_dict(config_from_dict(window.session.draft))

    # opening it again fills the form with the same study
    sw.build.params.clear()
    sw.build.strategies.set_checked([])
    sw.open_study(path)
    assert sw.build.strategies.checked() == ["equal", "mgda"]
    assert sw.form_study().to_dict() == loaded.to_dict()


def test_form_names_the_bad_field(study_window) -> None:
    sw = study_window
    sw.build.params.add_row("training.lrr", [0.1])
    sw.recount()
    assert sw.study is None and not sw.build.run_btn.isEnabled()
    text = sw.build.error_label.text()
    assert "training.lrr" in text and "\n" not in text


def test_estimate_from_a_measured_run(study_window, window) -> None:
    from mtl_gui.study.estimate import estimate, measured_rate

    class H:
        samples_per_sec, total_steps = 6400.0, 300

    class E:
        config = copy.deepcopy(window.session.draft)
        history = H()
        label = "run 1"

    E.config["training"] = {**E.config["training"], "seed": 7}  # another seed: same setup
    batch = window.session.draft["training"]["batch_size"]
    rate = measured_rate(window.session.draft, [E()])
    assert rate is not None and rate[0] == pytest.approx(6400.0 / batch) and rate[1] == 300
    text = estimate(10, 2, rate)
    seconds = 10 * 300 / (6400.0 / batch) / 2
    assert f"{seconds:.0f} s" in text or f"{seconds / 60:.0f} min" in text


# ---------------------------------------------------------------- reading a folder
def test_not_a_study_folder_is_one_line(window, tmp_path: Path, qtbot) -> None:
    window.open_study_folder(tmp_path)
    sw = window.study_window
    qtbot.addWidget(sw)
    qtbot.waitUntil(lambda: not sw.loading and sw.message_bar.isVisible(), timeout=20_000)
    text = sw.message_bar.text
    assert str(tmp_path) in text and "study.yaml" in text and "\n" not in text
    assert sw.results is None


def test_open_study_folder_from_the_file_menu(window, study_dir: Path, qtbot) -> None:
    window.ask_open_path = lambda *a, **k: study_dir  # type: ignore[method-assign]
    action = next(a for a in window.menuBar().actions()[0].menu().actions()
                  if a.text().startswith("Open stud"))
    action.trigger()
    sw = window.study_window
    qtbot.addWidget(sw)
    assert sw.isVisible()
    qtbot.waitUntil(lambda: sw.results is not None, timeout=20_000)  # read on a thread
    assert not sw.loading
    assert sw.tabs.currentWidget() is sw.table
    assert sw.table.model.rowCount() == 4  # 2 variants + 2 baselines


def test_table_equals_table_csv(study_window, study_dir: Path) -> None:
    sw = study_window
    sw.open_folder(study_dir)
    text = (study_dir / "table.csv").read_text(encoding="utf-8")
    assert sw.table.text("csv") == text
    rows = read_csv(study_dir / "table.csv")
    model = sw.table.model
    from mtl_gui.study.table_model import SORT_ROLE, STD_ROLE

    assert model.rowCount() == len(rows)
    for i, row in enumerate(rows):
        for j, col in enumerate(model.cols):
            shown = model.index(i, j)
            value = shown.data(SORT_ROLE)
            if col.mean in ("variant", "baseline", "pareto") or col.mean == "strategy.name":
                assert (value or "") == row[col.mean]
                continue
            assert value == _f(row[col.mean]), (col.title, i)
            if col.std:
                assert shown.data(STD_ROLE) == _f(row[col.std])
    # baselines are rows of their own
    assert [r["baseline"] for r in rows].count("") == 2
    # exports
    assert sw.table.text("md").startswith("| variant |")
    assert "\\toprule" in sw.table.text("tex")
    out = sw.table.export("csv", study_dir.parent / "exported.csv")
    assert out.read_text(encoding="utf-8") == text


def test_best_value_per_column_is_bold(study_window, study_dir: Path) -> None:
    sw = study_window
    sw.open_folder(study_dir)
    rows = read_csv(study_dir / "table.csv")
    model = sw.table.model
    j = next(i for i, c in enumerate(model.cols) if c.mean == "val/digit/accuracy_mean")
    multi = [i for i, r in enumerate(rows) if not r["baseline"]]
    best = max(float(rows[i]["val/digit/accuracy_mean"]) for i in multi)
    for i, r in enumerate(rows):
        bold = model.is_bold(i, j)
        assert bold == (not r["baseline"] and float(r["val/digit/accuracy_mean"]) == best)
    dm = next(i for i, c in enumerate(model.cols) if c.mean == "delta_m_mean")
    best_dm = min(float(rows[i]["delta_m_mean"]) for i in multi)
    assert [model.is_bold(i, dm) for i in range(len(rows))] == \
        [bool(r["delta_m_mean"]) and float(r["delta_m_mean"]) == best_dm for r in rows]


def test_sorting_by_a_numeric_column(study_window, study_dir: Path) -> None:
    sw = study_window
    sw.open_folder(study_dir)
    rows = read_csv(study_dir / "table.csv")
    j = next(i for i, c in enumerate(sw.table.model.cols)
             if c.mean == "val/parity/accuracy_mean")
    for order, rev in ((Qt.SortOrder.AscendingOrder, False), (Qt.SortOrder.DescendingOrder,
                                                               True)):
        sw.table.view.sortByColumn(j, order)
        got = [r.variant for r in sw.table.shown_rows()]
        with_value = sorted((r for r in rows if r["val/parity/accuracy_mean"]),
                            key=lambda r: float(r["val/parity/accuracy_mean"]), reverse=rev)
        empty = [r["variant"] for r in rows if not r["val/parity/accuracy_mean"]]
        assert got == [r["variant"] for r in with_value] + empty  # empty cells last


def test_numeric_sort_is_by_number_not_text(qtbot) -> None:  # noqa: ARG001 - Qt app
    from mtl_gui.study.table_model import SORT_ROLE
    from mtl_gui.study.table_view import NumericSort

    src = QStandardItemModel()
    for v in (10.0, 9.0, 100.0, None, -2.5):
        item = QStandardItem("" if v is None else str(v))
        item.setData(v, SORT_ROLE)
        src.appendRow(item)
    proxy = NumericSort()
    proxy.setSourceModel(src)
    proxy.sort(0, Qt.SortOrder.AscendingOrder)
    assert [proxy.index(i, 0).data(SORT_ROLE) for i in range(5)] == [-2.5, 9.0, 10.0, 100.0,
                                                                     None]
    proxy.sort(0, Qt.SortOrder.DescendingOrder)
    assert [proxy.index(i, 0).data(SORT_ROLE) for i in range(5)] == [100.0, 10.0, 9.0, -2.5,
                                                                     None]


def test_pareto_points_and_front_match_the_table(study_window, study_dir: Path) -> None:
    sw = study_window
    sw.open_folder(study_dir)
    sw.pareto.x_box.setCurrentText("digit")
    sw.pareto.y_box.setCurrentText("parity")
    rows = [r for r in read_csv(study_dir / "table.csv") if not r["baseline"]]
    pts = [(r["variant"], float(r["val/digit/accuracy_mean"]),
            float(r["val/parity/accuracy_mean"]), float(r["val/digit/accuracy_std"]),
            float(r["val/parity/accuracy_std"])) for r in rows]
    front = [p for p in pts if not any(q[1] >= p[1] and q[2] >= p[2] and q[1:3] != p[1:3]
                                       for q in pts)]
    assert [(p.variant, p.x, p.y, p.x_std, p.y_std) for p in sw.pareto.pts] == pts
    assert {p.variant for p in sw.pareto.pts if p.on_front} == {p[0] for p in front}
    assert {r["variant"] for r in rows if r["pareto"] == "yes"} == {p[0] for p in front}
    front.sort(key=lambda p: p[1])  # accuracy: higher is better on both axes
    xs, ys = [], []
    for i, p in enumerate(front):
        if i:
            xs.append(front[i - 1][1])
            ys.append(p[2])
        xs.append(p[1])
        ys.append(p[2])
    assert sw.pareto.front == (xs, ys)
    spots = sw.pareto.scatter.points()
    assert sorted((s.pos().x(), s.pos().y(), s.data()) for s in spots) == \
        sorted((p[1], p[2], p[0]) for p in pts)
    assert sw.pareto._tip(0, 0, pts[0][0]).startswith(pts[0][0])  # hover names the variant


def test_front_steps_for_mixed_directions() -> None:
    from mtl_gui.study.pareto import Point, front_steps

    # x higher is better, y lower is better: the front runs from (1, 1) to (3, 2)
    pts = [Point("a", 1.0, 1.0, 0, 0, True), Point("b", 3.0, 2.0, 0, 0, True),
           Point("c", 2.0, 3.0, 0, 0, False)]
    assert front_steps(pts, x_higher=True) == ([1.0, 1.0, 3.0], [1.0, 2.0, 2.0])


def test_band_values_match_the_run_folders(study_window, study_dir: Path) -> None:
    sw = study_window
    sw.open_folder(study_dir)
    variant_of = {r["key"]: r["variant"] for r in read_csv(study_dir / "summary.csv")}
    per: dict[tuple[str, str, int], list[float]] = {}
    for key, variant in variant_of.items():
        for row in read_csv(study_dir / "runs" / key / "epochs.csv"):
            for col in ("val/digit/accuracy", "train_loss/digit"):
                if row.get(col):
                    per.setdefault((col, variant, int(row["epoch"])), []).append(float(row[col]))
    sw.curves.task_box.setCurrentText("digit")
    checked = 0
    for (col, variant, epoch), vals in per.items():
        b = sw.curves.bands[(col, variant)]
        i = list(b.epochs).index(epoch)
        mean = statistics.fmean(vals)
        std = statistics.stdev(vals) if len(vals) > 1 else 0.0
        assert b.mean[i] == pytest.approx(mean, rel=1e-12)
        assert b.mean[i] - b.std[i] == pytest.approx(mean - std, rel=1e-12)
        assert b.mean[i] + b.std[i] == pytest.approx(mean + std, rel=1e-12)
        checked += 1
    # 2 variants + the digit baseline, 2 epochs, 2 curves each; parity's baseline has no digit
    assert checked == 3 * 2 * 2
    assert ("val/digit/accuracy", "single_task:parity") not in sw.curves.bands
    assert math.isfinite(float(b.std[0]))


# ---------------------------------------------------------------- running
def test_run_a_study_from_the_window(study_window, window, tmp_path: Path, qtbot) -> None:
    sw = study_window
    window.session.load_config(config_from_dict(BASE), None)
    sw.use_setup()
    sw.build.strategies.set_checked(["equal"])
    sw.build.seeds.setValue(1)
    sw.build.workers.setValue(0)  # in this process: no worker pool in GUI tests
    sw.recount()
    assert sw.n_runs == 1 + 2
    assert sw.run_study(tmp_path / "live")
    assert not sw.build.run_btn.isEnabled() and sw.build.stop_btn.isEnabled()
    qtbot.waitUntil(lambda: not sw.runner.running, timeout=60_000)
    keys = list(sw.runner.runs)
    assert len(keys) == 3
    assert [sw.status.status_text(k) for k in keys] == ["completed"] * 3
    assert (tmp_path / "live" / "base.yaml").is_file()
    qtbot.waitUntil(lambda: sw.results is not None and not sw.loading, timeout=20_000)
    assert sw.results is not None and sw.results.folder == tmp_path / "live"
    assert sw.table.text("csv") == (tmp_path / "live" / "table.csv").read_text(encoding="utf-8")
    assert sw.build.run_btn.isEnabled()
    # one mechanism: the study's runs are the main window's run book entries, keyed by run key
    entries = window.session.book.study_entries(tmp_path / "live")
    assert [e.key for e in entries] == keys
    assert all(e.history is sw.runner.runs[e.key].history for e in entries)


def test_run_without_a_run_book(qtbot, tmp_path: Path) -> None:
    """A Study window over a bare setup (no run book: the benchmark's case) runs the study on a
    worker of its own, each run's events in its own history."""
    from mtl_gui.study import StudyWindow

    class Bare:
        draft = copy.deepcopy(BASE)
        runs: list[Any] = []

    sw = StudyWindow(Bare())
    qtbot.addWidget(sw)
    sw.build.strategies.set_checked(["equal"])
    sw.build.seeds.setValue(1)
    sw.build.baselines.setChecked(False)
    sw.build.workers.setValue(0)
    sw.recount()
    assert sw.n_runs == 1
    assert sw.run_study(tmp_path / "bare")
    qtbot.waitUntil(lambda: not sw.runner.running, timeout=60_000)
    (state,) = sw.runner.runs.values()
    assert sw.status.status_text(state.key) == "completed"
    assert state.history.total_steps == state.step == 2 * 2  # 2 epochs of 2 steps
    assert len(state.history.ep_index) == 2


def test_status_cell_texts() -> None:
    from mtl_gui.study.runner import RunState

    s = RunState("k", "v", 0, "")
    assert s.text() == "queued"
    s.status, s.step, s.total_steps = "running", 3, 8
    assert s.text() == "running: step 3 of 8"
    s.status, s.message = "failed", "loss of task 'a' became nan"
    assert s.text() == "failed: loss of task 'a' became nan"


def test_command_line_study_folder(study_dir: Path, tmp_path: Path, qtbot) -> None:
    from mtl_gui.app import show_windows
    from mtl_gui.study import is_study_folder

    window = show_windows(str(study_dir))  # what `mtl-explorer STUDY_DIR` shows
    qtbot.addWidget(window)
    sw = window.study_window
    qtbot.addWidget(sw)
    qtbot.waitUntil(lambda: sw.results is not None, timeout=20_000)
    assert sw.isVisible() and sw.results.folder == study_dir
    assert sw.table.text("csv") == (study_dir / "table.csv").read_text(encoding="utf-8")
    assert window.session.draft  # the main window has a setup (the last one used)

    assert is_study_folder(study_dir)
    assert not is_study_folder(tmp_path)
    assert not is_study_folder(study_dir / "table.csv")
