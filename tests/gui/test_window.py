"""The main window as a user meets it: launch, presets in and out, dropping files, settings."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDropEvent

import mtl_engine.presets as presets
from mtl_engine.config import to_dict
from mtl_gui.app import create_window
from mtl_gui.settings import Settings


def test_launch_loads_the_default_preset_ready_to_start(window) -> None:
    assert window.session.draft["name"] == presets.load(presets.DEFAULT_PRESET).name
    assert window.session.problem is None
    assert window.controls.start_btn.isEnabled()
    assert window.dataset_panel.combo.currentText() == "multi_mnist"
    assert "5,000" in window.dataset_panel.info.text()


@pytest.mark.parametrize("name", sorted(presets.builtin_presets()))
def test_every_preset_loads_into_the_panels_and_saves_back_unchanged(window, tmp_path: Path,
                                                                    name: str) -> None:
    assert window.new_from(name)
    original = to_dict(presets.load(name))
    assert window.session.draft == original
    assert window.session.problem is None, window.session.problem
    # What the panels show is the preset: spot-check each panel against the file.
    assert window.dataset_panel.combo.currentText() == original["data"]["dataset"]
    assert window.model_panel.scheme_combo.currentText() == original["sharing"]["scheme"]
    assert window.model_panel.trunk.layers() == original["trunk"]
    assert window.strategy_panel.combo.currentData() == original["strategy"]["name"]
    assert window.tasks_panel.list.count() == len(original["tasks"])
    out = tmp_path / f"{name}.yaml"
    assert window._save(out)
    assert yaml.safe_load(out.read_text()) == original
    assert not window.session.dirty
    window.session.load_config(presets.load(presets.DEFAULT_PRESET), None)
    assert window.open_preset(out)
    assert window.session.draft == original


def test_broken_preset_shows_a_message_and_changes_nothing(window, tmp_path: Path) -> None:
    before = dict(window.session.draft)
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ndata: {dataset: multi_mnist}\ntasks:\n- {name: left, weight: -2}\n")
    assert not window.open_preset(bad)
    assert window.message_bar.isVisible()
    assert "tasks[0].weight" in window.message_bar.text
    assert window.session.draft == before
    assert window.session.path is None
    garbled = tmp_path / "garbled.yaml"
    garbled.write_text("name: [unclosed\n")
    assert not window.open_preset(garbled)
    assert "not valid YAML" in window.message_bar.text
    assert window.session.draft == before


def test_editing_marks_unsaved_and_the_prompt_can_cancel(window, tmp_path: Path) -> None:
    window.session.edit(lambda d: d["training"].update(epochs=3))
    assert window.session.dirty
    assert window.isWindowModified()
    window.ask_unsaved = lambda: "cancel"
    assert not window.new_from("digits_cascade")
    assert window.session.draft["training"]["epochs"] == 3
    saved = tmp_path / "mine.yaml"
    window.ask_save_path = lambda *a: saved
    window.ask_unsaved = lambda: "save"
    assert window.new_from("digits_cascade")
    assert presets.load(saved).training.epochs == 3
    assert window.session.draft["data"]["dataset"] == "digits"


def test_dropping_a_yaml_file_opens_it(window, tmp_path: Path) -> None:
    path = tmp_path / "dropped.yaml"
    presets.save(presets.load("penguins_mixed"), path)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(QPoint(10, 10), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    assert window.session.path == path
    assert window.session.draft["data"]["dataset"] == "penguins"


def test_geometry_last_preset_recent_files_and_theme_are_remembered(qtbot, tmp_path: Path
                                                                    ) -> None:
    path = tmp_path / "kept.yaml"
    presets.save(presets.load("digits_soft_sharing"), path)
    first = create_window(str(path))
    qtbot.addWidget(first)
    first.show()
    first.resize(1234, 777)
    first.set_theme("dark")
    first.plots.set_options("epoch", 0.3, True)
    first.close()
    settings = Settings()
    assert str(path.resolve()) in settings.recent()
    second = create_window()
    qtbot.addWidget(second)
    second.show()
    assert second.session.path == path
    assert (second.width(), second.height()) == (1234, 777)
    assert second.theme == "dark"
    o = second.plots.options
    assert (o.x_mode, o.smoothing, o.log_y) == ("epoch", 0.3, True)
    assert [a.text() for a in second.recent_menu.actions()] == [str(path.resolve())]


def test_the_toy_playground_opens_from_the_tools_menu_and_closes_with_the_window(window) -> None:
    assert window.toy_action.isEnabled()
    window.toy_action.trigger()
    toy = window.toy_window
    assert toy is not None and toy.isVisible()
    assert window.open_toy() is toy  # one at a time
    window.close()
    assert not toy.isVisible()


def test_command_line_preset_and_a_bad_name_falls_back_with_a_message(qtbot) -> None:
    w = create_window("penguins_mixed")
    qtbot.addWidget(w)
    assert w.session.draft["data"]["dataset"] == "penguins"
    bad = create_window("no_such_preset")
    qtbot.addWidget(bad)
    assert bad.session.draft["name"] == presets.load(presets.DEFAULT_PRESET).name
    assert "no_such_preset" in bad.message_bar.text
    assert "Choices:" in bad.message_bar.text


def test_an_unexpected_error_is_logged_and_shown_without_ending_the_app(qtbot, monkeypatch,
                                                                       _private_home) -> None:
    import sys

    from PySide6.QtWidgets import QMessageBox

    from mtl_gui.app import install_excepthook

    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "exec", lambda self: shown.append(self.text()) or 0)
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # restored after the test
    install_excepthook()
    try:
        raise RuntimeError("something nobody expected")
    except RuntimeError:
        sys.excepthook(*sys.exc_info())
    log = (_private_home / "errors.log").read_text()
    assert "RuntimeError: something nobody expected" in log and "Traceback" in log
    assert shown and "something nobody expected" in shown[0]
