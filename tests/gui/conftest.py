"""GUI test setup: offscreen Qt, private settings and run folders, and fake event streams."""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import mtl_engine.events as ev
from mtl_engine.control import RunControl

# Before anything imports Qt: offscreen, on a 1920 x 1200 screen (the plugin's default screen is
# 800 x 800, which clamps every window we would measure).
_SCREEN = os.path.join(tempfile.mkdtemp(prefix="mtl-qpa-"), "offscreen.json")
with open(_SCREEN, "w", encoding="utf-8") as _f:
    json.dump({"screens": [{"name": "test", "x": 0, "y": 0, "width": 1920, "height": 1200,
                            "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]}, _f)
if os.environ.get("QT_QPA_PLATFORM", "offscreen") == "offscreen":
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={_SCREEN}"


def pytest_report_header() -> str:
    # test_qt_platform.py checks that Qt really runs on this plugin
    return f"Qt platform plugin: {os.environ['QT_QPA_PLATFORM'].split(':')[0]}"


@pytest.fixture(autouse=True)
def _no_leftover_quit(qapp):  # noqa: ANN001, ANN202 - pytest-qt's application fixture
    """A test that ran app.exec() and closed its last window can leave a Quit event queued; the
    next test's first event loop would receive it and end at once. Tests start without one."""
    from PySide6.QtCore import QCoreApplication, QEvent

    qapp.setQuitOnLastWindowClosed(False)
    QCoreApplication.removePostedEvents(qapp, QEvent.Type.Quit)
    yield
    # pytest-qt closes each test's widgets with deleteLater(), but outside app.exec() Qt never
    # runs those deletions: every window of the session stayed alive, and each new window's
    # theme repolished all of them (window set-up grew from 0.3 s to 7 s over the suite).
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


@pytest.fixture(scope="session", autouse=True)
def _torch_loaded() -> None:
    """A window checks a setup in two steps until torch is loaded (its first seconds after
    launch: document.py); the tests of that are in test_startup.py. Every other test gets the
    whole check at once, whichever test happens to run first."""
    from mtl_engine import warm_up

    warm_up()


@pytest.fixture(autouse=True)
def _private_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
                  ) -> Path:
    """Settings and run folders of the app under test never touch the user's own."""
    home = tmp_path_factory.mktemp("mtl-home")
    monkeypatch.setenv("MTL_EXPLORER_HOME", str(home))
    return home


def fake_events(tasks: tuple[str, ...] = ("left", "right"), epochs: int = 3,
                steps_per_epoch: int = 20, log_every: int = 5, grads_every: int = 10,
                fail_at: int | None = None, seconds_per_step: float = 0.01
                ) -> list[ev.Event]:
    """A realistic run: losses decaying at different rates, weights drifting, val metrics rising,
    and the two tasks' gradients turning conflicting (cosine < 0) from step 30 on."""
    infos = tuple(ev.TaskInfo(t, "classification", 10, "cross_entropy", "accuracy", True,
                              ("accuracy", "f1")) for t in tasks)
    total_steps = epochs * steps_per_epoch
    out: list[ev.Event] = [ev.RunStarted(
        config={"name": "fake"}, tasks=infos, param_counts={"shared": 100, "total": 130},
        device="cpu", steps_per_epoch=steps_per_epoch, total_steps=total_steps,
        train_size=steps_per_epoch * 32, val_size=64, started_at=time.time())]

    def loss(k: int, s: int) -> float:
        return 2.3 * math.exp(-s / (15.0 * (k + 1))) + 0.1

    step = 0  # steps done; step indices are 0-based like the engine's
    for epoch in range(epochs):
        while step < (epoch + 1) * steps_per_epoch:
            block = list(range(step, min(step + log_every, (epoch + 1) * steps_per_epoch)))
            if fail_at is not None and block[-1] >= fail_at:
                out.append(ev.RunFailed("DivergedError", f"loss of task {tasks[0]!r} became nan",
                                        "details of the failure", fail_at, epoch, tasks[0],
                                        fail_at - 1))
                return out
            losses = {t: tuple(loss(k, s) for s in block) for k, t in enumerate(tasks)}
            weights = {t: tuple(1.0 + 0.01 * k * s for s in block) for k, t in enumerate(tasks)}
            weighted = {t: tuple(w * x for w, x in zip(weights[t], losses[t])) for t in tasks}
            out.append(ev.StepsLogged(
                steps=tuple(block), epoch=epoch,
                wall=tuple((s + 1) * seconds_per_step for s in block),
                losses=losses, weights=weights, weighted=weighted,
                total=tuple(sum(weighted[t][i] for t in tasks) for i in range(len(block))),
                lr=tuple(1e-3 for _ in block), samples_per_sec=3200.0))
            step = block[-1] + 1
            if grads_every and step % grads_every == 0:
                c = max(-1.0, 0.5 - step / 40.0)
                cos = tuple(tuple(1.0 if i == j else c for j in range(len(tasks)))
                            for i in range(len(tasks)))
                out.append(ev.GradientsMeasured(step - 1, epoch, "shared",
                                                {t: 1.0 / (k + 1) for k, t in enumerate(tasks)},
                                                cos, {t: 0.5 for t in tasks}, tuple(tasks)))
        acc = {t: 0.5 + 0.1 * (epoch + 1) - 0.05 * k for k, t in enumerate(tasks)}
        out.append(ev.EpochEnded(
            epoch=epoch + 1, step=step, train_loss={t: loss(k, step) for k, t in enumerate(tasks)},
            val_loss={t: loss(k, step) + 0.05 for k, t in enumerate(tasks)},
            val_metrics={t: {"accuracy": acc[t], "f1": acc[t] - 0.02} for t in tasks},
            score=sum(acc.values()) / len(tasks), seconds=steps_per_epoch * seconds_per_step,
            samples_per_sec=3200.0))
    out.append(ev.RunFinished("completed", step, epochs, total_steps * seconds_per_step,
                              {t: {"accuracy": 0.5 + 0.1 * epochs - 0.05 * k}
                               for k, t in enumerate(tasks)}))
    return out


def replay(events: list[ev.Event], delay: float = 0.0
           ) -> Callable[[RunControl], Iterator[ev.Event]]:
    """An event source that honours pause and stop like the engine's loop does."""

    def source(control: RunControl) -> Iterator[ev.Event]:
        step = 0
        for e in events:
            control.wait_while_paused(0.01)
            if control.stop_requested:
                yield ev.RunFinished("stopped", step, 0, 0.0, {})
                return
            if delay:
                time.sleep(delay)
            if isinstance(e, ev.StepsLogged):
                step = e.steps[-1]
            yield e

    return source


@pytest.fixture
def window(qtbot, tmp_path: Path):  # noqa: ANN001 - pytest-qt's fixture
    """The real main window on the default preset, with prompts that never block."""
    from mtl_gui.app import create_window

    w = create_window()
    w.ask_unsaved = lambda: "discard"  # type: ignore[method-assign]
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    yield w
    w.session.shutdown(10)


def tiny_run(d: dict) -> None:
    """Shrink a preset so a real run takes about a second on two CPU cores."""
    d["data"] = {"dataset": "digits", "params": {"image": False}, "val_fraction": 0.25}
    d["trunk"] = [{"type": "linear", "out_features": 16}, {"type": "relu"}]
    d["sharing"] = {"scheme": "hard", "params": {}}
    d["tasks"] = [{"name": "digit", "head": []}, {"name": "parity", "head": []}]
    d["strategy"] = {"name": "equal"}
    d["training"] = {"epochs": 2, "batch_size": 32, "log_every": 1, "max_steps_per_epoch": 6,
                     "diagnostics_every": 2, "seed": 0, "device": "cpu"}
