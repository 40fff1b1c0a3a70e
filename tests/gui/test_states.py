"""States the user can trust: what the top bar, the plots, the model builder and the runs table
say about a run and a setup at each moment (issue 7, item 4)."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import fake_events, replay, tiny_run

import mtl_engine.events as ev
import mtl_engine.presets as presets
from mtl_engine.config import to_dict
from mtl_engine.control import RunControl
from mtl_engine.runs import RunRecorder

PRESET_NAME = "MultiMNIST with uncertainty weighting"  # the default preset's own name


def _idle(qtbot, window, timeout: int = 20_000) -> None:  # noqa: ANN001
    qtbot.waitUntil(lambda: window.session.state == "idle", timeout=timeout)


Source = Callable[[RunControl], Iterator[ev.Event]]


def _held(events: list[ev.Event], gate: threading.Event, after: int, delay: float = 0.0
          ) -> Source:
    """A source that yields `events[:after]` (`delay` seconds apart), waits for `gate` (or a
    stop), then the rest; on a stop it ends as the engine does: RunFinished("stopped") with the
    epoch it was in (0-based)."""

    def source(control: RunControl) -> Iterator[ev.Event]:
        step, epoch = 0, 0
        for i, e in enumerate(events):
            if i == after:
                while not gate.wait(0.01) and not control.stop_requested:
                    pass
            elif delay and i < after:
                time.sleep(delay)
            control.wait_while_paused(0.01)
            if control.stop_requested:
                yield ev.RunFinished("stopped", step, epoch, 1.0, {})
                return
            if isinstance(e, ev.StepsLogged):
                step, epoch = e.steps[-1] + 1, e.epoch
            yield e

    return source


def _epochs(window, n: int) -> None:  # noqa: ANN001
    """Plan as many epochs as the fake stream has, so the config and the events agree."""
    window.session.edit(lambda d: d["training"].__setitem__("epochs", n))


def _first_after(events: list[ev.Event], kind: type, steps_at_least: int = 0) -> int:
    """Index just after the first `kind` event once `steps_at_least` steps were logged."""
    done = 0
    for i, e in enumerate(events):
        if isinstance(e, ev.StepsLogged):
            done = e.steps[-1] + 1
        if isinstance(e, kind) and done >= steps_at_least:
            return i + 1
    raise AssertionError(f"no {kind.__name__} after {steps_at_least} steps")


# ---------------------------------------------------------------------- run controls
def test_paused_is_shown_while_paused_and_goes_away_on_resume(qtbot, window) -> None:
    events = fake_events(epochs=2, steps_per_epoch=20, log_every=1, grads_every=0)
    gate = threading.Event()
    s, c = window.session, window.controls
    # 10 steps 30 ms apart (the bar shows some of them), then the stream waits
    s.source_factory = lambda config, out: _held(events, gate, after=11, delay=0.03)
    _epochs(window, 2)
    s.start()
    qtbot.waitUntil(lambda: s.current.history.n_steps == 10, timeout=10_000)
    assert "epoch 1/2 \u00b7 step" in c.progress.format()
    assert "Paused" not in c.progress.format() + c.status.text()
    c.pause_btn.click()
    # No event arrives while paused; the bar and the status must say so on their own.
    assert c.status.text() == "Paused"
    assert c.progress.format() == "Paused \u00b7 epoch 1/2 \u00b7 step 10/40"
    assert c.pause_btn.text() == "Resume"
    c.pause_btn.click()
    assert "Paused" not in c.progress.format() + c.status.text()
    gate.set()
    _idle(qtbot, window)
    assert c.status.text().startswith("run 1 completed")


def test_the_epoch_counter_never_goes_back_after_stop(qtbot, window) -> None:
    events = fake_events(epochs=4, steps_per_epoch=20, log_every=1, grads_every=0)
    # 59 steps 20 ms apart, then hold: the bar shows epoch 3 (steps 40..58) for some 0.4 s.
    after = _first_after(events, ev.StepsLogged, steps_at_least=59)
    gate = threading.Event()
    s, c = window.session, window.controls
    s.source_factory = lambda config, out: _held(events, gate, after, delay=0.02)
    _epochs(window, 4)
    seen: list[str] = []
    c.progress.valueChanged.connect(lambda _: seen.append(c.progress.format()))
    s.start()
    qtbot.waitUntil(lambda: s.current.history.n_steps == 59, timeout=20_000)
    # the bar is rate-limited: its last update may land up to one interval after the steps
    qtbot.waitUntil(lambda: any(f.startswith("epoch 3/4") for f in seen), timeout=5_000)
    c.stop_btn.click()
    _idle(qtbot, window)
    assert s.current.history.status == "stopped"
    assert c.progress.format() == "epoch 3/4 \u00b7 step 59/80"  # stopped in epoch 3
    assert c.status.text().startswith("run 1 stopped")
    shown = [int(f.split("epoch ")[1].split("/")[0]) for f in seen + [c.progress.format()]
             if f.startswith("epoch ")]
    assert shown == sorted(shown) and shown[-1] == 3, shown


def test_a_shown_value_is_not_left_behind_by_the_rate_limit(qtbot, window) -> None:
    """The last batch before a quiet spell (here: the stream waits) reaches the bar."""
    events = fake_events(epochs=1, steps_per_epoch=40, log_every=1, grads_every=0)
    gate = threading.Event()
    s, c = window.session, window.controls
    s.source_factory = lambda config, out: _held(events, gate, after=31)  # 30 steps
    s.start()
    qtbot.waitUntil(lambda: s.current.history.n_steps == 30, timeout=10_000)
    qtbot.waitUntil(lambda: "step 30/40" in c.progress.format(), timeout=5_000)
    gate.set()
    _idle(qtbot, window)


def test_preparing_data_is_shown_from_start_until_the_run_starts(qtbot, window) -> None:
    events = fake_events(epochs=1, steps_per_epoch=10, log_every=5, grads_every=0)
    gate = threading.Event()
    s, c = window.session, window.controls
    s.source_factory = lambda config, out: _held(events, gate, after=0)  # before RunStarted
    s.start()
    assert c.progress.format() == "preparing data\u2026"
    assert c.status.text() == "loading data, building model"
    qtbot.wait(150)  # a couple of worker ticks: still nothing from the engine
    assert c.progress.format() == "preparing data\u2026"
    gate.set()
    _idle(qtbot, window)
    assert c.progress.format() == "epoch 1/1 \u00b7 step 10/10"


def test_a_real_run_shows_preparing_data_until_its_run_started(qtbot, window) -> None:
    window.session.edit(tiny_run)
    c = window.controls
    formats: list[str] = []
    window.session.run_updated.connect(
        lambda e: formats.append(f"{len(e.history.step)}:{c.progress.format()}"))
    window.session.start()
    assert c.progress.format() == "preparing data\u2026"
    _idle(qtbot, window, 60_000)
    assert window.session.current.history.status == "completed"
    assert c.progress.format() == "epoch 2/2 \u00b7 step 12/12"
    assert all("preparing" not in f for f in formats if not f.startswith("0:"))


# ---------------------------------------------------------------------- failures
def test_a_diverged_run_offers_details_even_without_a_traceback(qtbot, window) -> None:
    # The engine's divergence check sends RunFailed with details "" (no exception raised).
    events = fake_events(epochs=2, steps_per_epoch=20, fail_at=25)
    failed = events[-1]
    events[-1] = dataclasses.replace(failed, details="")
    window.session.source_factory = lambda config, out: replay(events)
    window.session.start()
    _idle(qtbot, window)
    bar = window.message_bar
    assert bar.level == "error" and not bar.isHidden()
    assert not bar.details_btn.isHidden()
    lines = bar.details.splitlines()
    assert lines[0] == "DivergedError: loss of task 'left' became nan"
    assert "run 1, failed at step 25, task left" in lines
    assert any(line.startswith("the model from step 24 was kept") for line in lines)
    h = window.session.current.history
    assert f"last logged losses (step 24): left {h.loss['left'].view[-1]:.4g}, " \
           f"right {h.loss['right'].view[-1]:.4g}" in lines
    assert window.controls.status.text().startswith("run 1 failed at step 25")


def test_a_real_diverged_run_offers_details(qtbot, window) -> None:
    def explode(d: dict) -> None:
        tiny_run(d)
        d["optimizer"] = {"name": "sgd", "lr": 1e30}

    window.session.edit(explode)
    entry = window.session.start()
    _idle(qtbot, window, 60_000)
    bar = window.message_bar
    assert entry.status == "failed" and not bar.details_btn.isHidden()
    assert bar.details.startswith("DivergedError: ")
    assert f"the model from step {entry.history.failure.restored_step} was kept in " \
           f"{entry.folder}" in bar.details
    assert bar.details.endswith("(no traceback: the engine ended the run itself rather than "
                                "through an exception)")


def test_an_exception_s_traceback_is_in_the_details(qtbot, window) -> None:
    def broken(control):  # noqa: ANN001, ANN202
        yield fake_events()[0]
        raise MemoryError("CUDA out of memory (simulated)")

    window.session.source_factory = lambda config, out: broken
    window.session.start()
    _idle(qtbot, window)
    bar = window.message_bar
    assert not bar.details_btn.isHidden()
    assert bar.details.startswith("MemoryError: CUDA out of memory (simulated)")
    assert "Traceback (most recent call last)" in bar.details
    assert "no training step was logged" in bar.details


def test_a_failed_run_clears_the_previous_runs_axes(qtbot, window) -> None:
    s, plots = window.session, window.plots
    s.source_factory = lambda config, out: replay(fake_events(epochs=3, steps_per_epoch=20))
    s.start()
    _idle(qtbot, window)
    plots.refresh_all()
    assert plots.loss_plot._items and plots.weight_plot._items
    assert plots.grad_panel.heat.matrix.shape == (2, 2)

    def fails_at_once(control):  # noqa: ANN001, ANN202
        raise RuntimeError("no memory for the data")
        yield  # a generator, like the engine's run()

    s.source_factory = lambda config, out: fails_at_once
    s.start()
    _idle(qtbot, window)
    assert s.shown_runs() == [s.runs[-1]]  # the failed run alone is shown
    plots.refresh_all()
    for plot in (plots.loss_plot, plots.metric_plot, plots.weight_plot):
        assert not plot._items, type(plot).__name__
        assert not plot.placeholder.isHidden(), type(plot).__name__
        assert plot.placeholder.text() == ("run 2 failed while preparing data (RuntimeError): "
                                           "nothing to draw")
        # run 1's axes went with its curves (60 steps; weights 1.0..1.6)
        (x0, x1), (y0, y1) = plot.plot.getViewBox().viewRange()
        assert x1 - x0 < 2 and y1 - y0 < 2, (type(plot).__name__, x0, x1, y0, y1)
    (x0, x1), _ = plots.share_plot.plot.getViewBox().viewRange()
    assert x1 - x0 < 2
    assert plots.grad_panel.heat.matrix.size == 0
    assert plots.grad_panel.heat.caption.text().strip() == ""
    assert window.controls.progress.format() == "no step taken"
    assert window.controls.status.text() == "run 2 failed while preparing data"


# ---------------------------------------------------------------------- replayed runs
def _run_folder(tmp_path: Path, window) -> Path:  # noqa: ANN001
    """A run folder as the engine writes it, from a fake stream with a valid config."""
    d = to_dict(presets.load(presets.DEFAULT_PRESET))
    tiny_run(d)
    events = fake_events(tasks=("digit", "parity"), epochs=2, steps_per_epoch=10)
    events[0] = dataclasses.replace(events[0], config=d)
    folder = tmp_path / "past_run"
    recorder = RunRecorder(folder)
    for e in events[:-1]:
        recorder.record(e)
    recorder.finish(events[-1], None)  # the closing event; no model in a fake stream
    return folder


def test_a_replayed_run_does_not_take_over_the_live_progress(qtbot, window, tmp_path: Path
                                                             ) -> None:
    folder = _run_folder(tmp_path, window)
    events = fake_events(epochs=2, steps_per_epoch=20, log_every=5, grads_every=0)
    gate = threading.Event()
    s, c = window.session, window.controls
    s.source_factory = lambda config, out: _held(events, gate, after=3, delay=0.1)  # 10 steps
    _epochs(window, 2)
    live = s.start()
    qtbot.waitUntil(lambda: live.history.n_steps == 10, timeout=10_000)
    qtbot.waitUntil(lambda: c.progress.format().startswith("epoch 1/2"), timeout=10_000)
    bar, status, value = c.progress.format(), c.status.text(), c.progress.value()
    opened = window.open_run_folder(folder)
    assert opened is not None and opened.status == "completed"
    assert (c.progress.format(), c.status.text(), c.progress.value()) == (bar, status, value)
    assert s.current is live and s.state == "running"
    assert s.shown_runs() == [live, opened]  # overlaid: the live run stays in view
    assert window.runs_panel.table.item(1, 6).text() == "completed"
    gate.set()
    _idle(qtbot, window)
    assert c.status.text().startswith("run 1 completed")
    # idle now: a replay still leaves the last live run's result in the bar
    again = window.open_run_folder(folder)
    assert again is not None and again.number == 3
    assert c.progress.format() == "epoch 2/2 \u00b7 step 40/40"
    assert c.status.text().startswith("run 1 completed")
    assert window.statusBar().currentMessage() != "run 3 completed"


# ---------------------------------------------------------------------- model builder
def _break_trunk(window) -> None:  # noqa: ANN001
    trunk = window.model_panel.trunk
    trunk.select(8)  # flatten -> linear: move the linear above the flatten
    trunk._move(-1)
    assert window.session.problem is not None


def test_a_layer_is_numbered_the_same_in_the_list_the_top_bar_and_the_diagram(window) -> None:
    _break_trunk(window)
    trunk = window.model_panel.trunk
    reason = window.controls.reason.text()
    assert reason.startswith("Start is disabled: trunk[7]: linear cannot take input")
    assert trunk.table.verticalHeaderItem(7).text() == "trunk[7]"
    assert trunk.table.item(7, 0).text() == "linear"
    assert trunk.error_label.text().startswith("trunk[7]: linear cannot take input")
    assert reason == f"Start is disabled: {trunk.error_label.text()}"
    assert [trunk.table.verticalHeaderItem(i).text() for i in (0, 9)] == ["trunk[0]", "trunk[9]"]
    assert window.model_panel.diagram.trunk_text == "trunk[7] does not fit (hard, 10 layers)"


def test_a_head_layer_is_numbered_as_the_engine_names_it(window) -> None:
    tasks = window.tasks_panel
    tasks.list.setCurrentRow(1)
    window.session.edit(lambda d: d["tasks"][1]["head"].insert(
        0, {"type": "conv2d", "out_channels": 4, "kernel_size": 3}))
    problem = window.session.problem or ""
    assert problem.startswith("tasks[1].head[0]"), problem
    head = tasks.head
    assert head.table.verticalHeaderItem(0).text() == "head[0]"
    assert head.error_label.text().startswith("tasks[1].head[0]: ")
    assert window.controls.reason.text() == f"Start is disabled: {head.error_label.text()}"
    diagram = window.model_panel.diagram
    assert diagram.broken_head == 1 and diagram.heads[1][1] == "right: head[0] does not fit"


def test_parameter_counts_of_a_model_that_does_not_fit_say_so(window) -> None:
    counts = window.model_panel.counts
    # conv2d 1->10 k5: 260, conv2d 10->20 k5: 5020, linear 320->50: 16050 (shared 21330);
    # per task linear 50->50: 2550 + output 50->10: 510 = 3060; all: 21330 + 2 * 3060 = 27450
    assert counts.text() == ("parameters: <b>27.4k</b> in all; shared 21.3k; per task: "
                             "left 3060, right 3060")
    _break_trunk(window)
    # conv2d 1->10 k5: 260, conv2d 10->20 k5: 5020; nothing after trunk[7] is known
    assert counts.text() == ("parameters: <b>not known</b>: the model does not fit at trunk[7] "
                             "(the layers before it hold 5280)")
    rows = window.model_panel.trunk.table
    assert [rows.item(i, 3).text() for i in range(10)] == ["260", "0", "0", "5020", "0", "0",
                                                          "0", "", "", ""]


# ---------------------------------------------------------------------- run names
def _strategy(name: str) -> Callable[[dict], None]:
    return lambda d: d.__setitem__("strategy", {"name": name})


def test_the_run_name_follows_the_setup_unless_the_user_names_it(qtbot, window) -> None:
    s = window.session
    s.source_factory = lambda config, out: replay(fake_events(epochs=1, steps_per_epoch=5))
    assert s.run_name() == PRESET_NAME  # the preset's name describes its own setup
    s.edit(_strategy("pcgrad"))
    assert s.run_name() == "MultiMNIST with PCGrad"
    assert window.dataset_panel.run_name.text().startswith(
        "runs are filed as \u201cMultiMNIST with PCGrad\u201d: the name above describes")
    entry = s.start()
    _idle(qtbot, window)
    assert entry.name == "MultiMNIST with PCGrad" == entry.config["name"]
    assert entry.folder is not None and entry.folder.name.endswith("MultiMNIST-with-PCGrad")
    assert window.runs_panel.table.item(0, 2).text() == "MultiMNIST with PCGrad"
    s.edit(lambda d: d.__setitem__("sharing", {"scheme": "soft", "params": {}}))
    assert s.run_name() == "MultiMNIST with PCGrad (soft sharing)"
    s.edit(lambda d: d.__setitem__("sharing", {"scheme": "hard", "params": {}}))
    s.edit(_strategy("uncertainty"))
    assert s.run_name() == PRESET_NAME  # back to the preset's own setup
    # a name the user types is theirs, whatever the setup
    field = window.dataset_panel.name_edit
    field.selectAll()
    qtbot.keyClicks(field, "my ablation")
    assert s.draft["name"] == "my ablation"
    s.edit(_strategy("dwa"))
    assert s.run_name() == "my ablation"
    entry = s.start()
    _idle(qtbot, window)
    assert entry.name == "my ablation"
    # an emptied name falls back to the setup's
    field.clear()
    qtbot.keyClicks(field, " ")
    assert s.run_name() == "MultiMNIST with Dynamic Weight Average"


def test_name_and_description_are_edited_in_the_data_panel_and_saved(qtbot, window,
                                                                     tmp_path: Path) -> None:
    panel = window.dataset_panel
    assert panel.name_edit.text() == PRESET_NAME
    assert panel.description_edit.toPlainText() == presets.load(presets.DEFAULT_PRESET).description
    panel.name_edit.selectAll()
    qtbot.keyClicks(panel.name_edit, "Left and right digits")
    panel.description_edit.selectAll()
    qtbot.keyClicks(panel.description_edit, "first try")
    assert panel.name_edit.text() == "Left and right digits"  # typing was not interrupted
    assert window.session.draft["description"] == "first try"
    path = tmp_path / "mine.yaml"
    assert window._save(path)
    back = presets.load(path)
    assert (back.name, back.description) == ("Left and right digits", "first try")
    assert window.session.run_name() == "Left and right digits"
    # another preset brings its own name and description into the fields
    assert window.new_from("digits_soft_sharing")
    other = presets.load("digits_soft_sharing")
    assert panel.name_edit.text() == other.name
    assert panel.description_edit.toPlainText() == other.description
    assert window.session.run_name() == other.name


@pytest.mark.parametrize("name", ["multimnist_pcgrad", "penguins_mixed", "mmoe_low_relatedness"])
def test_every_builtin_preset_is_filed_under_its_own_name(window, name: str) -> None:
    assert window.new_from(name)
    assert window.session.run_name() == presets.load(name).name
