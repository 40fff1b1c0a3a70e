"""The toy playground: picker from the registry, parameter form, live trajectories, stop, close."""

from __future__ import annotations

import numpy as np
import pytest

from mtl_engine import toy2d
from mtl_engine.errors import SolverError
from mtl_engine.registry import STRATEGIES
from mtl_gui.toy import ToyPlayground
from mtl_gui.toy.__main__ import main as toy_main


@pytest.fixture
def playground(qtbot) -> ToyPlayground:  # type: ignore[no-untyped-def]
    w = ToyPlayground()
    qtbot.addWidget(w)
    yield w
    w.stop()


def test_picker_lists_what_the_toy_can_run_and_the_form_follows_the_schema(playground) -> None:
    names = [playground.combo.itemData(i) for i in range(playground.combo.count())]
    assert names == toy2d.toy_strategies()
    assert {"cagrad", "nash_mtl", "mgda", "pcgrad", "equal"} <= set(names)
    assert "max_entropy" not in names  # needs model outputs
    playground.select("cagrad")
    assert set(playground.form.editors) == {p.name for p in STRATEGIES.get("cagrad").params}
    assert playground.scale.value() == 1.0 and playground.settings()["scale_l1"] == 1.0
    playground.select("nash_mtl")
    assert "max_norm" in playground.form.editors
    assert playground.settings()["scale_l1"] == 0.1  # the Nash-MTL paper scales L1 by 0.1
    if "famo" in names:  # FAMO's toy runs without weight decay
        playground.select("famo")
        assert playground.form.values()["gamma"] == 0.0 and playground.scale.value() == 0.1
    for name in names:  # every entry's own toy settings, whatever was picked before
        entry = STRATEGIES.get(name)
        playground.select(name)
        assert playground.settings()["scale_l1"] == entry.meta["toy_scale_l1"], name
        assert playground.form.values() == {**entry.defaults(), **entry.meta["toy_params"]}, name


def test_a_short_run_draws_five_trajectories_from_the_starts(qtbot, playground) -> None:
    playground.select("mgda")
    playground.steps.setValue(300)
    with qtbot.waitSignal(playground.run_finished, timeout=60_000):
        playground.start()
    assert playground.error == ""
    for i, curve in enumerate(playground.curves):
        x, y = curve.getData()
        assert len(x) > 10
        assert (x[0], y[0]) == pytest.approx(toy2d.STARTS[i])
    assert playground.last_step == 300
    assert "done at step 300" in playground.status.text()
    assert playground.ends.text().count("Pareto set") + playground.ends.text().count("not on") \
        == 5
    assert playground.run_button.isEnabled() and not playground.stop_button.isEnabled()


def test_stop_ends_a_long_run_early_and_the_window_stays_usable(qtbot, playground) -> None:
    playground.select("equal")
    playground.steps.setValue(200_000)
    with qtbot.waitSignal(playground.run_finished, timeout=60_000):
        playground.start()
        qtbot.waitUntil(lambda: playground.last_step > 0, timeout=30_000)
        playground.stop()
    assert not playground.running
    assert 0 < playground.last_step < 200_000
    assert "stopped at step" in playground.status.text()


def test_a_bad_parameter_is_shown_and_nothing_starts(playground) -> None:
    playground.select("cagrad")
    playground.form._values["calpha"] = -1.0  # what a typed-in, unchecked value would be
    playground.start()
    assert playground.runner is None
    assert "calpha" in playground.error


def test_a_solver_failure_during_a_run_is_shown(qtbot, playground, monkeypatch) -> None:
    real_run = toy2d.run

    def failing_run(*args, **kwargs):  # type: ignore[no-untyped-def]
        for chunk in real_run(*args, **kwargs):
            yield chunk
            raise SolverError("nash_mtl: Newton's method stopped 0.5 away from K alpha = 1/alpha")

    monkeypatch.setattr(toy2d, "run", failing_run)
    playground.select("nash_mtl")
    playground.steps.setValue(2000)
    with qtbot.waitSignal(playground.run_finished, timeout=30_000):
        playground.start()
    assert "SolverError" in playground.error and "nash_mtl" in playground.error
    assert "SolverError" in playground.status.text()
    assert len(playground.curves[0].getData()[0]) > 0  # what was computed stays drawn


def test_closing_during_a_run_joins_the_worker(qtbot) -> None:
    w = ToyPlayground()
    w.select("cagrad")
    w.steps.setValue(200_000)
    w.start()
    qtbot.waitUntil(lambda: w.last_step > 0, timeout=30_000)
    runner = w.runner
    w.close()
    assert runner is not None and runner.isFinished()


def test_the_window_opens_on_its_own(qtbot, monkeypatch) -> None:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    shown: list[ToyPlayground] = []

    def quit_soon() -> None:
        tops = [w for w in QApplication.topLevelWidgets()
                if isinstance(w, ToyPlayground) and w.isVisible() and "toy" in w.windowTitle()]
        shown.extend(tops)
        for w in tops:
            w.close()
        QApplication.instance().quit()

    QTimer.singleShot(300, quit_soon)
    assert toy_main(["pcgrad"]) == 0
    assert shown and shown[0].strategy == "pcgrad"
    assert np.isfinite(shown[0].lr.value())


def test_the_plane_follows_the_app_theme(playground) -> None:
    # The main window's theme switch recolours an open toy window too (actions.set_theme).
    playground.set_theme("dark")
    assert playground.plot.backgroundBrush().color().name() == "#1e1e1e"
    assert playground.plot.getPlotItem().getAxis("left").textPen().color().name() == "#d8d8d8"
    playground.set_theme("light")
    assert playground.plot.backgroundBrush().color().name() == "#ffffff"


def test_the_main_windows_theme_switch_reaches_an_open_toy_window(window) -> None:
    toy_window = window.open_toy()
    window.set_theme("dark")
    assert toy_window.plot.backgroundBrush().color().name() == "#1e1e1e"
    window.set_theme("light")
    assert toy_window.plot.backgroundBrush().color().name() == "#ffffff"
