"""Screenshots of the Study window (``python -m mtl_gui.screenshots --only study``): the table,
the Pareto view and the banded curves of a 2-task study (tiny digits) and of a 14-task one
(``gradnorm_toy_14_tasks``, plus its parallel coordinates), light and dark, each study run
in-process first (2 strategies x 2 seeds + baselines, 1 epoch of 2 steps)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from mtl_engine import load_preset, run_study, save_preset, study_from_dict

TWO_TASKS: dict[str, Any] = {
    "name": "tiny digits",
    "data": {"dataset": "digits", "val_fraction": 0.25},
    "trunk": [{"type": "linear", "out_features": 24}, {"type": "relu"}],
    "tasks": [{"name": "digit"}, {"name": "parity"}],
    "strategy": {"name": "equal"}, "optimizer": {"name": "adam", "lr": 0.01},
    "training": {"epochs": 3, "batch_size": 64, "seed": 0, "device": "cpu", "log_every": 1,
                 "max_steps_per_epoch": 4},
}
STUDIES = (("study", "two"), ("study_14_tasks", "many"))


def make_study(kind: str, root: Path) -> Path:
    if kind == "two":
        base, strategies = TWO_TASKS, ["equal", "uncertainty"]
    else:
        base = load_preset("gradnorm_toy_14_tasks").to_dict()
        base["training"].update(epochs=1, max_steps_per_epoch=2, device="cpu")
        strategies = ["equal", "gradnorm"]
    save_preset(base, root / "base.yaml")
    study = study_from_dict({"name": kind, "base": "base.yaml", "seeds": 2,
                             "grid": {"strategy.name": strategies}}, root)
    for _ in run_study(study, root / "out", workers=0):
        pass
    return root / "out"


def set_app_theme(window: Any, name: str) -> None:
    from ..plots.style import apply_app_theme

    apply_app_theme(name)
    window.set_theme(name)


def shoot_studies(shooter: Any) -> None:
    from .window import StudyWindow

    for prefix, kind in STUDIES:
        folder = make_study(kind, Path(tempfile.mkdtemp(prefix=f"mtl-shots-{prefix}-")))
        w = StudyWindow(None)
        w.move(0, 0)
        w.resize(1400, 900)
        w.show()
        w.open_folder(folder)
        views = [("table", w.table), ("pareto", w.pareto), ("curves", w.curves)]
        if kind == "many":
            views.append(("parallel", w.parallel))
        for theme in ("light", "dark"):
            set_app_theme(w, theme)
            for name, view in views:
                w.tabs.setCurrentWidget(view)
                shooter.shot(w, f"{prefix}_{name}" + ("_dark" if theme == "dark" else ""))
        set_app_theme(w, "light")
        w.close()
