"""What the window tells the user: the Details… box in the app's own colours, a title that follows
the setup's name, skipped lines of a replayed run folder, metrics labelled by how final they are,
and disabled buttons that look disabled in the dark theme."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import fake_events
from PySide6.QtGui import QColor, QImage, QPalette
from PySide6.QtWidgets import QApplication, QLabel, QMessageBox, QPushButton
from test_desktop import contrast

import mtl_engine.events as ev
from mtl_engine.control import RunControl
from mtl_engine.runs import EVENTS_FILE
from mtl_gui.widgets.message_bar import COLORS

R, G = QPalette.ColorRole, QPalette.ColorGroup


# ---------------------------------------------------------------------------- Details…
@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_details_box_of_a_failure_is_not_painted_in_the_bars_colour(window, qtbot,
                                                                        theme: str) -> None:
    window.set_theme(theme)
    bar = window.message_bar
    bar.show_message("error", "Run 1 failed at step 3", "Traceback (most recent call last): ...")
    assert bar.label.palette().color(R.WindowText) == QColor(COLORS["error"][1])  # still red
    bar.details_btn.click()
    box = bar.findChild(QMessageBox)
    assert box is not None
    qtbot.waitExposed(box)
    text = box.findChild(QLabel, "qt_msgbox_label")
    assert text is not None and text.text() == "Run 1 failed at step 3"
    app_text = QApplication.palette().color(R.WindowText)
    assert text.palette().color(R.WindowText) == app_text
    for label in box.findChildren(QLabel):  # the informative and detailed parts too
        assert label.palette().color(R.WindowText) != QColor(COLORS["error"][1])
    box.done(0)


# ---------------------------------------------------------------------------- title
def test_the_title_follows_every_rename_of_the_setup(window) -> None:
    panel = window.dataset_panel
    window.config_tabs.setCurrentIndex(0)
    panel.name_edit.setFocus()
    panel.name_edit.selectAll()
    panel.name_edit.textEdited.emit("first name")  # what typing does: textEdited, not setText
    assert window.session.draft["name"] == "first name"
    assert window.windowTitle().startswith("first name[*]")
    window.session.rename("second name")  # already unsaved: the unsaved state does not flip
    assert window.windowTitle().startswith("second name[*]")
    assert window.isWindowModified()
    window.setup_undo.stack.undo()
    assert window.windowTitle().startswith("first name[*]")


# ---------------------------------------------------------------------------- replay warnings
def _folder_with_bad_lines(tmp_path: Path, bad: dict[int, bytes]) -> tuple[Path, int]:
    """A run folder whose events.jsonl has the lines `bad` (1-based numbers) unreadable."""
    events = fake_events(epochs=2, steps_per_epoch=10, log_every=5, grads_every=0)
    lines = [ev.to_json(e).encode() for e in events]
    for number, blob in sorted(bad.items()):
        lines.insert(number - 1, blob)
    folder = tmp_path / "run-with-bad-lines"
    folder.mkdir()
    (folder / EVENTS_FILE).write_bytes(b"\n".join(lines) + b"\n")
    return folder, len(events)


def test_skipped_lines_of_a_run_folder_are_told_and_the_rest_replays(window, tmp_path: Path
                                                                      ) -> None:
    folder, n_events = _folder_with_bad_lines(
        tmp_path, {3: b"\xff\xfe not utf-8", 7: b"{not json", 9: b'{"kind": "NoSuchEvent"}'})
    entry = window.open_run_folder(folder)
    assert entry is not None and entry.status == "completed"
    assert entry.history.n_steps == 20  # every readable step was replayed
    bar = window.message_bar
    assert bar.level == "warning" and not bar.isHidden()
    assert bar.text == (f"3 unreadable lines skipped in \u2026/run-with-bad-lines/{EVENTS_FILE} "
                        "(lines 3, 7, 9); the rest of run 1 was replayed")
    assert "\n" not in bar.text
    details = bar.details.splitlines()
    assert len(details) == 3 and details[0].endswith("line 3: not UTF-8 text; skipped")
    assert not bar.details_btn.isHidden()
    assert len(entry.read_warnings) == 3 and n_events == 1 + 4 + 2 + 1


def test_many_skipped_lines_stay_one_short_line(window, tmp_path: Path) -> None:
    folder, _ = _folder_with_bad_lines(tmp_path, {n: b"garbage" for n in (2, 4, 6, 8, 10)})
    window.open_run_folder(folder)
    assert window.message_bar.text == (
        f"5 unreadable lines skipped in \u2026/run-with-bad-lines/{EVENTS_FILE} "
        "(lines 2, 4, 6, \u2026); the rest of run 1 was replayed")


def test_a_clean_run_folder_opens_without_a_warning(window, tmp_path: Path) -> None:
    folder, _ = _folder_with_bad_lines(tmp_path, {})
    entry = window.open_run_folder(folder)
    assert entry is not None and entry.read_warnings == []
    assert window.message_bar.isHidden()


# ---------------------------------------------------------------------------- metrics column
def _held(events: list[ev.Event], gate: threading.Event):  # noqa: ANN202
    """Replays up to the first epoch's end, then waits for `gate` (or Stop)."""

    def source(control: RunControl) -> Iterator[ev.Event]:
        for e in events:
            yield e
            if isinstance(e, ev.EpochEnded) and e.epoch == 1:
                while not gate.wait(0.01):
                    if control.stop_requested:
                        yield ev.RunFinished("stopped", e.step, 1, 0.1, {})
                        return

    return source


def test_a_running_rows_metrics_say_they_are_the_latest(qtbot, window) -> None:
    events = fake_events(epochs=2, steps_per_epoch=10, log_every=5, grads_every=0)
    gate = threading.Event()
    s, table = window.session, window.runs_panel.table
    s.source_factory = lambda config, out: _held(events, gate)
    header = table.horizontalHeaderItem(7)
    assert header.text() == "metrics (validation)"  # not "final" while a row is running
    assert "latest" in header.toolTip()
    entry = s.start()
    qtbot.waitUntil(lambda: len(entry.history.ep_index) == 1, timeout=10_000)
    qtbot.waitUntil(lambda: table.item(0, 7).text() != "", timeout=10_000)
    # epoch 1 of the fake run: accuracy 0.6 for left, 0.55 for right
    assert table.item(0, 6).text() == "running"
    assert table.item(0, 7).text() == "latest: left accuracy 0.600, right accuracy 0.550"
    gate.set()
    qtbot.waitUntil(lambda: s.state == "idle", timeout=10_000)
    # RunFinished's final metrics: 0.5 + 0.1 * 2 - 0.05 k
    assert table.item(0, 6).text() == "completed"
    assert table.item(0, 7).text() == "left accuracy 0.700, right accuracy 0.650"


def test_a_stopped_rows_metrics_say_they_are_the_last_epochs(qtbot, window) -> None:
    events = fake_events(epochs=2, steps_per_epoch=10, log_every=5, grads_every=0)
    s, table = window.session, window.runs_panel.table
    s.source_factory = lambda config, out: _held(events, threading.Event())
    entry = s.start()
    qtbot.waitUntil(lambda: len(entry.history.ep_index) == 1, timeout=10_000)
    s.stop()
    qtbot.waitUntil(lambda: s.state == "idle", timeout=10_000)
    assert table.item(0, 6).text() == "stopped"
    assert table.item(0, 7).text() == "last epoch: left accuracy 0.600, right accuracy 0.550"


# ---------------------------------------------------------------------------- disabled buttons
def _pixels(button: QPushButton) -> tuple[QColor, float]:
    """A button as drawn inside its frame: its background (the most frequent pixel) and the
    contrast of its text (the pixel farthest from it) on that background."""
    image = button.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    inner = image.copy(3, 3, image.width() - 6, image.height() - 6)
    counts = Counter(inner.pixel(x, y) for y in range(inner.height())
                     for x in range(inner.width()))
    bg = QColor.fromRgb(counts.most_common(1)[0][0])
    return bg, max(contrast(QColor.fromRgb(p), bg) for p in counts)


@pytest.mark.parametrize(("theme", "switch"), [("dark", False), ("dark", True), ("light", False),
                                               ("light", True)])
def test_disabled_buttons_take_the_themes_disabled_colours(qtbot, window, theme: str,
                                                           switch: bool) -> None:
    """The issue's screenshot: Start stood out during a dark run. `switch`: the run started in
    the other theme and the user switched while it ran."""
    other = "light" if theme == "dark" else "dark"
    events = fake_events(epochs=2, steps_per_epoch=10, log_every=5, grads_every=0)
    gate = threading.Event()
    s = window.session
    s.source_factory = lambda config, out: _held(events, gate)
    window.set_theme(other if switch else theme)
    s.start()
    qtbot.waitUntil(lambda: s.current.history.n_steps > 0, timeout=10_000)
    if switch:
        window.set_theme(theme)
    QApplication.processEvents()
    c, runs = window.controls, window.runs_panel
    runs.table.clearSelection()
    disabled = [c.start_btn, runs.setup_btn, runs.export_btn, runs.remove_btn]
    assert not any(b.isEnabled() for b in disabled) and c.pause_btn.isEnabled()
    palette = QApplication.palette()
    window_bg = palette.color(G.Active, R.Window)
    enabled_bg, enabled_text = _pixels(c.pause_btn)
    for b in disabled:
        bg, text = _pixels(b)
        assert text >= 4.5, (b.text(), bg.name(), text)
        # drawn in the theme's button colours: close to an enabled button's, on the window's
        assert contrast(bg, enabled_bg) < 1.2, (b.text(), bg.name(), enabled_bg.name())
        assert contrast(bg, window_bg) < 1.5, (b.text(), bg.name(), window_bg.name())
        assert text < enabled_text  # and still dimmer than the enabled one's text
    gate.set()
    qtbot.waitUntil(lambda: s.state == "idle", timeout=10_000)
    assert c.start_btn.isEnabled()
    assert _pixels(c.start_btn)[0] == QColor("#2e7d32")  # green again once it can be pressed
