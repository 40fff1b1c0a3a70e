"""Comparing many runs: colour means run, line style means split, a legend outside the data with
one entry per run (plus the style key), shares of a picked run, and a runs table that sorts by
any metric numerically, groups by a config field, shows each run's colour and the newest run."""

from __future__ import annotations

import dataclasses

import pytest
from conftest import fake_events
from PySide6.QtCore import QPointF, Qt

import mtl_engine.events as ev
from mtl_gui.history import history_from_events
from mtl_gui.plots.style import RUN_COLORS, RunColors
from mtl_gui.run_entry import RunEntry

STRATEGIES = ("equal", "uncertainty", "pcgrad", "mgda", "equal", "pcgrad", "cagrad")
# Final "left" values whose text order (0.25, 1, 100, 12, 3.5, 45, 7) is not their number order.
LEFT = (12.0, 3.5, 100.0, 0.25, 7.0, 45.0, 1.0)


def _entry(number: int, tasks: tuple[str, ...] = ("left", "right")) -> RunEntry:
    events = fake_events(tasks=tasks, epochs=2, steps_per_epoch=20)
    last = events[-1]
    assert isinstance(last, ev.RunFinished)
    final = {t: {"accuracy": LEFT[number - 1] if k == 0 else 0.5} for k, t in enumerate(tasks)}
    events[-1] = dataclasses.replace(last, final_metrics=final)
    config = {"name": f"setup {number}", "strategy": {"name": STRATEGIES[number - 1]},
              "sharing": {"scheme": "hard"}, "data": {"dataset": "fake"}}
    return RunEntry(number, config, history_from_events(events))


def _seven(qtbot, window) -> list[RunEntry]:  # noqa: ANN001
    s = window.session
    for n in range(1, 8):
        s.runs.append(_entry(n))
    s.runs_changed.emit()
    window.plots.refresh(force=True)
    qtbot.wait(20)
    return s.runs


def _pens(plot, entry: RunEntry) -> list:  # noqa: ANN001
    return [item.opts["pen"] for key, item in plot._items.items()
            if key.split("/", 1)[1].startswith(f"{entry.uid}/")]


def test_seven_runs_get_one_colour_each_and_dashed_validation(qtbot, window) -> None:
    runs = _seven(qtbot, window)
    loss = window.plots.loss_plot
    colours = []
    for r in runs:
        pens = _pens(loss, r)
        assert len(pens) == 2, r.label  # the picked task's train and validation curves
        assert len({p.color().name() for p in pens}) == 1, r.label
        styles = sorted(p.style().value for p in pens)
        assert styles == [Qt.PenStyle.SolidLine.value, Qt.PenStyle.DashLine.value], r.label
        colours.append(pens[0].color().name())
    assert len(set(colours)) == 7
    assert loss.compared_task == "left"
    assert "task left" in loss.plot.titleLabel.text
    # the other task, picked in the bar
    window.plots.task_combo.setCurrentText("right")
    assert loss.compared_task == "right"
    assert all(f"/{r.uid}/train/right" in "".join(loss._items) for r in runs)
    assert [p.color().name() for r in runs for p in _pens(loss, r)][::2] == colours


@pytest.mark.parametrize("name", ["loss_plot", "metric_plot", "weight_plot"])
def test_the_legend_lists_each_run_once_beside_the_data(qtbot, window, name: str) -> None:
    runs = _seven(qtbot, window)
    plot = getattr(window.plots, name)
    labels = [label.text for _, label in plot.legend.items]
    key = {"loss_plot": ["train", "validation"], "metric_plot": ["validation"],
           "weight_plot": []}[name]
    assert labels == key + [f"run {r.number} {r.strategy}" for r in runs]
    legend = plot.legend.sceneBoundingRect()
    assert legend.height() > 0
    assert not legend.intersects(plot.plot.getViewBox().sceneBoundingRect())
    assert all(label.isVisible() for _, label in plot.legend.items)  # no "+N more" for 7
    # each sample draws its curve's pen: the run's colour, the key's dash
    for sample, label in plot.legend.items:
        p = sample.item.opts["pen"]
        if label.text == "validation":
            assert p.style() == Qt.PenStyle.DashLine
        elif label.text.startswith("run "):
            run = runs[int(label.text.split()[1]) - 1]
            assert p.color().name() == _pens(plot, run)[0].color().name()


def test_one_run_keeps_colour_by_task(qtbot, window) -> None:
    s = window.session
    s.runs.append(_entry(1))
    s.runs_changed.emit()
    window.plots.refresh(force=True)
    loss = window.plots.loss_plot
    assert [label.text for _, label in loss.legend.items] == ["left", "right"]
    left = loss._items[f"{s.runs[0].uid}/train/left"].opts["pen"].color().name()
    right = loss._items[f"{s.runs[0].uid}/train/right"].opts["pen"].color().name()
    assert left.upper() == "#0072B2" and right.upper() == "#E69F00"
    assert not window.plots.task_combo.isVisible()
    assert window.runs_panel.swatch(s.runs[0]) is None  # no run colour to show


def test_the_share_plot_shows_the_picked_run(qtbot, window) -> None:
    runs = _seven(qtbot, window)
    share = window.plots.share_plot
    assert share.run_combo.isVisible() and share.run_combo.count() == 7
    assert share.plot.titleLabel.text.endswith(": run 7")  # the newest shown run first
    share.run_combo.setCurrentIndex(2)
    share.run_combo.activated.emit(2)
    assert share.plot.titleLabel.text.endswith(": run 3")
    assert share.note.text().startswith("run 3")
    runs[2].visible = False  # the picked run hidden: back to the newest
    window.session.runs_changed.emit()
    window.plots.refresh(force=True)
    assert share.plot.titleLabel.text.endswith(": run 7")


def test_swatches_match_the_curves(qtbot, window) -> None:
    runs = _seven(qtbot, window)
    panel = window.runs_panel
    for r in runs:
        swatch = panel.swatch(r)
        assert swatch is not None
        assert swatch.name() == _pens(window.plots.loss_plot, r)[0].color().name(), r.label
    window.session.set_visible(runs[0], False)
    assert panel.swatch(runs[0]) is None  # hidden: no curve, no colour
    # the other runs keep theirs
    window.plots.refresh(force=True)
    assert panel.swatch(runs[1]).name() == _pens(window.plots.loss_plot, runs[1])[0].color(
    ).name()


def test_run_colours_are_sticky() -> None:
    c = RunColors()
    assert c.assign([1, 2, 3]) == {1: 0, 2: 1, 3: 2}
    assert c.assign([1, 3, 4]) == {1: 0, 3: 2, 4: 1}  # 4 takes the slot 2 left free
    assert c.assign([1, 3, 4, 2]) == {1: 0, 3: 2, 4: 1, 2: 3}  # 2's old slot is taken
    assert c.assign([3, 4]) == c.assign([3, 4])  # the same shown runs: the same answer
    assert c.assign([2, 3, 4]) == {2: 3, 3: 2, 4: 1}  # 2 gets back its last slot
    assert RUN_COLORS is not c


def test_sorting_by_a_metric_is_numeric(qtbot, window) -> None:
    _seven(qtbot, window)
    panel, table = window.runs_panel, window.runs_panel.table
    cols = panel.columns()
    assert "left accuracy" in cols and "right accuracy" in cols
    j = cols.index("left accuracy")
    table.horizontalHeader().sectionClicked.emit(j)  # as a click on the header
    values = [float(table.item(i, j).text()) for i in range(table.rowCount())]
    assert values == sorted(LEFT)  # 0.25, 1, 3.5, 7, 12, 45, 100: numbers, not text
    table.horizontalHeader().sectionClicked.emit(j)  # again: descending
    assert [float(table.item(i, j).text()) for i in range(7)] == sorted(LEFT, reverse=True)
    assert table.horizontalHeader().sortIndicatorSection() == j
    # the rows still act on their own runs
    table.selectRow(0)
    assert panel.selected().number == LEFT.index(100.0) + 1
    assert table.item(0, 1).text() == f"run {LEFT.index(100.0) + 1}"


def test_grouping_by_strategy(qtbot, window) -> None:
    runs = _seven(qtbot, window)
    panel, table = window.runs_panel, window.runs_panel.table
    fields = [panel.group_combo.itemText(i) for i in range(panel.group_combo.count())]
    assert "strategy.name" in fields
    panel.group_combo.setCurrentText("strategy.name")
    heads = [table.item(i, 1).text() for i in range(table.rowCount())
             if panel.row_uids[i] is None]
    assert [h.split("  ")[0] for h in heads] == [
        "strategy.name = cagrad", "strategy.name = equal", "strategy.name = mgda",
        "strategy.name = pcgrad", "strategy.name = uncertainty"]
    assert "2 runs" in heads[1]
    assert table.rowCount() == 7 + 5
    # under each header its runs, by run number
    order = [panel.entry_at(i).number if panel.row_uids[i] else None
             for i in range(table.rowCount())]
    assert order == [None, 7, None, 1, 5, None, 4, None, 3, 6, None, 2]
    # ticking a header hides its whole group
    equal_head = order.index(1) - 1
    table.item(equal_head, 0).setCheckState(Qt.CheckState.Unchecked)
    assert not runs[0].visible and not runs[4].visible and runs[1].visible
    assert len(window.session.shown_runs()) == 5
    panel.group_combo.setCurrentText("(no grouping)")
    assert table.rowCount() == 7


def test_the_newest_run_is_scrolled_into_view(qtbot, window) -> None:
    s = window.session
    for n in range(1, 8):
        s.runs.append(_entry(n))
    for n in range(8, 41):
        entry = _entry(1)
        entry.number = n
        s.runs.append(entry)
    s.runs_changed.emit()
    table = window.runs_panel.table
    table.scrollToTop()
    newest = _entry(2)
    newest.number = 41
    s.runs.append(newest)
    s.runs_changed.emit()
    qtbot.wait(10)
    row = window.runs_panel.row_of(newest)
    rect = table.visualItemRect(table.item(row, 1))
    assert table.viewport().rect().contains(QPointF(rect.center()).toPoint())
    assert table.rowAt(rect.center().y()) == row


def test_the_metrics_summary_is_never_cut(qtbot, window) -> None:
    s = window.session
    entry = _entry(1, tuple(f"task_{k}" for k in range(14)))
    s.runs.append(entry)
    s.runs_changed.emit()
    table = window.runs_panel.table
    assert table.textElideMode() == Qt.TextElideMode.ElideNone and table.wordWrap()
    item = table.item(0, 7)
    assert item.text().count("accuracy") == 14
    # wrapped onto as many lines as it needs: the row is as tall as the wrapped text
    width = table.columnWidth(7)
    fm = table.fontMetrics()
    need = fm.boundingRect(0, 0, width - 8, 10_000, Qt.TextFlag.TextWordWrap,
                           item.text()).height()
    assert table.rowHeight(0) >= need
    assert item.toolTip() == item.text()
