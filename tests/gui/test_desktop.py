"""The habits of a desktop app: undo/redo of setup edits, run shortcuts, Help, tooltips on every
control, a dark theme whose every text is readable (WCAG contrast, measured on the palette and on
the rendered pixels), light restored exactly, and strategy entries that cite their papers."""

from __future__ import annotations

import re
from collections import Counter
from importlib import metadata
from pathlib import Path

import pytest
from conftest import fake_events, replay
from PySide6.QtCore import QPoint, QRect, Qt, qVersion
from PySide6.QtGui import QColor, QImage, QKeySequence, QPalette
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLabel,
    QLineEdit,
    QSlider,
    QWidget,
)

import mtl_engine
import mtl_engine.presets as presets
from mtl_engine.config import to_dict
from mtl_gui.plots.style import THEMES, app_palette
from mtl_gui.undo import describe
from mtl_gui.widgets.message_bar import COLORS as MESSAGE_COLORS
from mtl_gui.widgets.param_form import BAD_STYLE

# ---------------------------------------------------------------------------- WCAG 2 contrast


def _channel(c: float) -> float:
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def luminance(color: QColor) -> float:
    return (0.2126 * _channel(color.redF()) + 0.7152 * _channel(color.greenF())
            + 0.0722 * _channel(color.blueF()))


def contrast(fg: QColor, bg: QColor) -> float:
    """WCAG 2 contrast ratio; a translucent foreground is composed over the background first."""
    a = fg.alphaF()
    fg = QColor.fromRgbF(fg.redF() * a + bg.redF() * (1 - a),
                         fg.greenF() * a + bg.greenF() * (1 - a),
                         fg.blueF() * a + bg.blueF() * (1 - a))
    hi, lo = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_the_contrast_formula_matches_published_values() -> None:
    assert contrast(QColor("#000000"), QColor("#ffffff")) == pytest.approx(21.0)
    assert contrast(QColor("#777777"), QColor("#ffffff")) == pytest.approx(4.48, abs=0.01)
    # the hint text: #181818 on #2b2b2b is unreadable
    assert contrast(QColor("#181818"), QColor("#2b2b2b")) == pytest.approx(1.25, abs=0.01)
    # Fusion's light placeholder text: black at alpha 128 over white is #7f7f7f, 4.0:1
    assert contrast(QColor(0, 0, 0, 128), QColor("#ffffff")) == pytest.approx(4.0, abs=0.01)


R, G = QPalette.ColorRole, QPalette.ColorGroup
TEXT_PAIRS = ((R.Text, R.Base), (R.Text, R.AlternateBase), (R.WindowText, R.Window),
              (R.ButtonText, R.Button), (R.PlaceholderText, R.Base),
              (R.PlaceholderText, R.Window),  # hint labels sit on the window
              (R.ToolTipText, R.ToolTipBase), (R.HighlightedText, R.Highlight),
              (R.Link, R.Base), (R.LinkVisited, R.Base))


@pytest.mark.parametrize("theme", sorted(THEMES))
def test_every_palette_text_role_reaches_4_5_to_1(qapp, theme: str) -> None:
    palette = app_palette(theme)
    bad = []
    for group in (G.Active, G.Inactive, G.Disabled):
        for fg, bg in TEXT_PAIRS:
            ratio = contrast(palette.color(group, fg), palette.color(group, bg))
            if ratio < 4.5:
                bad.append(f"{group.name} {fg.name}/{bg.name} "
                           f"{palette.color(group, fg).name()} on "
                           f"{palette.color(group, bg).name()}: {ratio:.2f}")
    assert not bad, bad
    # disabled text must still look disabled: dimmer than the normal text
    for role in (R.WindowText, R.Text, R.ButtonText):
        assert palette.color(G.Disabled, role) != palette.color(G.Active, role)


@pytest.mark.parametrize("theme", sorted(THEMES))
def test_text_tones_and_self_coloured_styles_reach_4_5_to_1(qapp, theme: str) -> None:
    palette = app_palette(theme)
    t = THEMES[theme]
    plot_bg = QColor("#ffffff" if t["background"] == "w" else t["background"])
    for tone in ("hint", "error"):
        for bg in (palette.color(R.Window), palette.color(R.Base), plot_bg):
            assert contrast(QColor(t[tone]), bg) >= 4.5, (tone, t[tone], bg.name())
    assert contrast(QColor(t["foreground"]), plot_bg) >= 4.5
    # Widgets that bring their own background bring their own text colour, in every theme.
    for bg, fg in MESSAGE_COLORS.values():
        assert contrast(QColor(fg), QColor(bg)) >= 4.5
    colours = dict(re.findall(r"(background|color): (#[0-9a-fA-F]{6})", BAD_STYLE))
    assert contrast(QColor(colours["color"]), QColor(colours["background"])) >= 4.5


def test_style_sheets_that_set_a_background_set_a_readable_text_colour(window) -> None:
    """Each rule of a widget's own style sheet that colours both text and background (the green
    Start button, its hover state included) reaches 4.5:1 whatever the theme."""
    checked = 0
    for w in window.findChildren(QWidget):
        colour = None
        for rule in re.findall(r"\{([^}]*)\}", w.styleSheet()):
            colour = re.search(r"(?<![-\w])color: *([#\w]+)", rule) or colour
            bg = re.search(r"background: *(#[0-9a-fA-F]{6})", rule)
            if colour and bg:
                ratio = contrast(QColor(colour.group(1)), QColor(bg.group(1)))
                assert ratio >= 4.5, (type(w).__name__, rule, ratio)
                checked += 1
    assert checked >= 2  # Start, and Start under the mouse


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_a_broken_layer_row_is_readable_in_each_theme(window, theme: str) -> None:
    trunk = window.model_panel.trunk
    window.session.edit(lambda d: d["trunk"].insert(0, {"type": "linear", "out_features": 4}))
    assert (window.session.check.problem_path or "").startswith("trunk[0]")
    window.set_theme("dark" if theme == "light" else "light")
    window.set_theme(theme)  # the row follows a switch, not only the next edit
    item = trunk.table.item(0, 0)
    fg = item.foreground().color()
    assert fg == QColor(THEMES[theme]["error"])
    assert contrast(fg, trunk.table.palette().color(R.Base)) >= 4.5


# ---------------------------------------------------------------------------- rendered text


def _text_contrast(label: QLabel, shot: QImage | None = None) -> float:
    """The contrast a reader sees, on the window as drawn (the label's parents' backgrounds
    included): the most frequent pixel of the label's area is its background, and the pixel
    farthest from it the core of a glyph."""
    window = label.window()
    shot = shot if shot is not None else window.grab().toImage()
    top_left = label.mapTo(window, QPoint(0, 0))
    image = shot.copy(QRect(top_left, label.size())).convertToFormat(QImage.Format.Format_RGB32)
    counts = Counter(image.pixel(x, y) for y in range(image.height())
                     for x in range(image.width()))
    bg = QColor.fromRgb(counts.most_common(1)[0][0])
    return max(contrast(QColor.fromRgb(p), bg) for p in counts)


def _visible_text_labels(window) -> list[QLabel]:  # noqa: ANN001
    return [w for w in window.findChildren(QLabel)
            if w.isVisible() and w.text().strip() and w.width() > 8 and w.height() > 8
            and w.pixmap().isNull()]


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_every_visible_label_renders_readable_in_each_theme(window, qtbot, theme: str) -> None:
    window.set_theme(theme)
    window.session.edit(lambda d: d["tasks"][0].update(weight=-1.0))  # an error label shows
    window.message_bar.show_message("warning", "a warning to read")
    bad = []
    for index in range(window.config_tabs.count()):
        window.config_tabs.setCurrentIndex(index)
        window.plots.tabs.setCurrentIndex(index % window.plots.tabs.count())
        QApplication.processEvents()
        shot = window.grab().toImage()
        for label in _visible_text_labels(window):
            ratio = _text_contrast(label, shot)
            if ratio < 4.5:
                bad.append(f"{label.text()[:40]!r} ({label.property('tone')}): {ratio:.2f}")
    assert not bad, bad


def test_hint_text_follows_the_theme_after_the_window_was_shown(window) -> None:
    """The issue's case: a hint drawn #181818 on #2b2b2b after switching to dark."""
    window.config_tabs.setCurrentIndex(3)
    hint = window.strategy_panel.paper
    assert hint.property("tone") == "hint" and hint.isVisible()
    window.set_theme("dark")
    QApplication.processEvents()
    assert hint.palette().color(hint.foregroundRole()) == QColor(THEMES["dark"]["hint"])
    assert _text_contrast(hint) >= 4.5
    window.set_theme("light")
    assert hint.palette().color(hint.foregroundRole()) == QColor(THEMES["light"]["hint"])


def _palettes(window) -> dict[str, list[str]]:  # noqa: ANN001
    out = {}
    for i, w in enumerate([window, *window.findChildren(QWidget)]):
        p = w.palette()
        out[f"{i}:{type(w).__name__}:{w.objectName()}"] = [
            p.color(g, r).name(QColor.NameFormat.HexArgb)
            for g in (G.Active, G.Inactive, G.Disabled)
            for r in (R.Window, R.WindowText, R.Base, R.Text, R.Button, R.ButtonText,
                      R.PlaceholderText, R.Highlight, R.HighlightedText, R.ToolTipBase,
                      R.ToolTipText, R.Link)]
    return out


def test_dark_then_light_restores_every_widget(window) -> None:
    QApplication.processEvents()
    before = _palettes(window)
    sheets = {id(w): w.styleSheet() for w in window.findChildren(QWidget)}
    image = window.config_tabs.grab().toImage()
    window.set_theme("dark")
    QApplication.processEvents()
    dark = _palettes(window)
    changed = [k for k in before if before[k] != dark.get(k)]
    assert len(changed) > len(before) // 2  # the switch really recolours the widgets
    assert window.config_tabs.grab().toImage() != image
    window.set_theme("light")
    QApplication.processEvents()
    after = _palettes(window)
    assert [k for k in before if before[k] != after.get(k)] == []
    assert {id(w): w.styleSheet() for w in window.findChildren(QWidget)} == sheets
    assert window.config_tabs.grab().toImage() == image
    assert window.theme_actions["light"].isChecked()


# ---------------------------------------------------------------------------- tooltips

CONTROLS = (QAbstractButton, QComboBox, QAbstractSpinBox, QLineEdit, QSlider)


def _missing_tooltips(window) -> list[str]:  # noqa: ANN001
    out = []
    for kind in CONTROLS:
        for w in window.findChildren(kind):
            if not w.isVisible() or w.objectName().startswith("qt_"):
                continue  # Qt's own parts of a control (a spin box's line edit, a table corner)
            if not w.toolTip().strip():
                text = w.text() if isinstance(w, QAbstractButton) else ""
                out.append(f"{type(w).__name__} {text!r} in {type(w.parent()).__name__}")
    return out


@pytest.mark.parametrize("preset", [presets.DEFAULT_PRESET, "penguins_mixed",
                                    "mmoe_low_relatedness"])
def test_every_visible_control_has_a_tooltip(window, preset: str) -> None:
    assert window.new_from(preset)
    window.message_bar.show_message("error", "a failure", "its traceback")  # Details… shows
    missing = []
    seen = 0
    for index in range(window.config_tabs.count()):
        window.config_tabs.setCurrentIndex(index)
        window.plots.tabs.setCurrentIndex(index % window.plots.tabs.count())
        QApplication.processEvents()
        seen += sum(1 for k in CONTROLS for w in window.findChildren(k) if w.isVisible())
        missing += _missing_tooltips(window)
    assert seen > 40  # the walk did reach the panels' controls
    assert sorted(set(missing)) == []


@pytest.mark.parametrize("strategy", ["cagrad", "nash_mtl", "equal"])
def test_every_control_of_the_toy_playground_has_a_tooltip(window, strategy: str) -> None:
    toy = window.open_toy()
    toy.select(strategy)  # the strategy's parameter form is part of the walk
    QApplication.processEvents()
    seen = sum(1 for k in CONTROLS for w in toy.findChildren(k) if w.isVisible())
    assert seen >= 9 + len(toy.form.editors)  # picker, 3 settings, scale, 2 presets, Run, Stop
    assert _missing_tooltips(toy) == []
    toy.close()


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_the_toy_playgrounds_error_takes_the_themes_error_tone(window, theme: str) -> None:
    """It was hard-coded #b52b27: 2.2:1 on the dark window."""
    window.set_theme("light" if theme == "dark" else "dark")
    toy = window.open_toy()
    toy.select("cagrad")
    toy.form._values["calpha"] = -1.0  # what a typed-in, unchecked value would be
    toy.start()
    assert toy.runner is None and "calpha" in toy.error
    assert toy.status.text() == toy.error  # plain text, no colour markup of its own
    window.set_theme(theme)  # a switch while the error shows recolours it
    QApplication.processEvents()
    status = toy.status
    assert status.palette().color(status.foregroundRole()) == QColor(THEMES[theme]["error"])
    assert _text_contrast(status) >= 4.5
    toy.close()


def test_param_fields_show_the_schema_help_and_errors_on_the_editing_widget(window) -> None:
    window.config_tabs.setCurrentIndex(4)
    editor = window.training_panel.train_form.editors["epochs"]
    assert editor.spin.toolTip() == "passes over the training data"
    lr = window.training_panel.lr_form.editors["lr"]
    lr.edit.setText("fast")
    lr.edit.editingFinished.emit()
    assert "number" in lr.edit.toolTip() or "float" in lr.edit.toolTip()
    lr.edit.setText("0.01")
    lr.edit.editingFinished.emit()
    assert lr.edit.toolTip() == lr.param.help


# ---------------------------------------------------------------------------- undo / redo


def _undo_text(window) -> str:  # noqa: ANN001
    return window.undo_action.text().replace("&", "")


def test_undo_and_redo_walk_every_setup_edit_back_and_forth(window) -> None:
    s = window.session
    assert not window.undo_action.isEnabled() and not window.redo_action.isEnabled()
    assert window.undo_action.shortcut() == QKeySequence(QKeySequence.StandardKey.Undo)
    assert window.redo_action.shortcut() == QKeySequence(QKeySequence.StandardKey.Redo)
    drafts = [to_dict(presets.load(presets.DEFAULT_PRESET))]
    assert s.draft == drafts[0]

    # edits the way a user makes them: through the panels' widgets
    combo = window.strategy_panel.combo
    combo.setCurrentIndex(combo.findData("dwa"))
    combo.activated.emit(combo.currentIndex())
    drafts.append(s.draft)
    assert s.draft["strategy"]["name"] == "dwa"
    assert _undo_text(window) == "Undo change strategy"
    window.training_panel.train_form.editors["epochs"].spin.setValue(7)
    drafts.append(s.draft)
    assert _undo_text(window) == "Undo change epochs"
    window.tasks_panel.weight_spin.setValue(2.5)
    drafts.append(s.draft)
    assert _undo_text(window) == f"Undo change weight of task {s.draft['tasks'][0]['name']}"
    window.model_panel.trunk.remove_btn.setEnabled(True)
    window.model_panel.trunk.table.selectRow(0)
    window.model_panel.trunk.remove_btn.click()
    drafts.append(s.draft)
    assert len(drafts[-1]["trunk"]) == len(drafts[-2]["trunk"]) - 1
    assert _undo_text(window) == "Undo remove trunk layer"
    assert len({repr(d) for d in drafts}) == len(drafts)  # five different setups

    for i in range(len(drafts) - 1, 0, -1):
        window.undo_action.trigger()
        assert s.draft == drafts[i - 1]
    assert not window.undo_action.isEnabled()
    assert window.redo_action.text().replace("&", "") == "Redo change strategy"
    # the panels show the undone setup, and it is the saved one again
    assert window.strategy_panel.combo.currentData() == drafts[0]["strategy"]["name"]
    assert window.training_panel.train_form.editors["epochs"].spin.value() == \
        drafts[0]["training"]["epochs"]
    assert not s.dirty and not window.isWindowModified()
    for i in range(1, len(drafts)):
        window.redo_action.trigger()
        assert s.draft == drafts[i]
    assert not window.redo_action.isEnabled()
    assert window.model_panel.trunk.layers() == drafts[-1]["trunk"]
    assert s.dirty

    # a new edit after an undo drops the redo branch
    window.undo_action.trigger()
    s.edit(lambda d: d["training"].update(batch_size=16))
    assert not window.redo_action.isEnabled()
    assert _undo_text(window) == "Undo change batch size"


def test_loading_a_setup_starts_a_fresh_undo_history(window) -> None:
    window.session.edit(lambda d: d["training"].update(epochs=9))
    assert window.undo_action.isEnabled()
    assert window.new_from("digits_cascade")
    assert not window.undo_action.isEnabled() and not window.redo_action.isEnabled()
    assert window.session.draft == to_dict(presets.load("digits_cascade"))


def test_undo_by_keyboard(window, qtbot) -> None:
    before = window.session.draft
    window.session.edit(lambda d: d["training"].update(epochs=11))
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    window.split.setFocus()
    qtbot.keySequence(window, QKeySequence(QKeySequence.StandardKey.Undo))
    assert window.session.draft == before
    qtbot.keySequence(window, QKeySequence(QKeySequence.StandardKey.Redo))
    assert window.session.draft["training"]["epochs"] == 11


def test_edit_names() -> None:
    base = to_dict(presets.load(presets.DEFAULT_PRESET))

    def changed(mutate) -> str:  # noqa: ANN001
        import copy

        d = copy.deepcopy(base)
        mutate(d)
        return describe(base, d)

    first = base["tasks"][0]["name"]
    assert changed(lambda d: d["strategy"].update(name="dwa")) == "change strategy"
    assert changed(lambda d: d["strategy"].update(grad_mode="representation")) == \
        "change gradient mode"
    assert changed(lambda d: d["data"].update(dataset="digits")) == "change dataset"
    assert changed(lambda d: d["data"].update(val_fraction=0.3)) == "change validation fraction"
    assert changed(lambda d: d["sharing"].update(scheme="mmoe")) == "change sharing scheme"
    assert changed(lambda d: d["optimizer"].update(lr=0.5)) == "change lr"
    assert changed(lambda d: d["training"].update(batch_size=8)) == "change batch size"
    assert changed(lambda d: d["tasks"][0].update(enabled=False)) == f"disable task {first}"
    assert changed(lambda d: d["tasks"][0].update(loss="mse")) == f"change loss of task {first}"
    assert changed(lambda d: d["tasks"].append(dict(d["tasks"][0]))) == "add task"
    assert changed(lambda d: d["trunk"].append({"type": "relu"})) == "add trunk layer"
    assert changed(lambda d: d.update(name="mine")) == "rename setup"


# ---------------------------------------------------------------------------- run shortcuts


def test_run_menu_shortcuts_drive_the_run_controls(window, qtbot) -> None:
    c = window.controls
    acts = window.run_actions.actions
    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Run")
    shown = [a.text() for a in menu.actions() if not a.isSeparator()]
    assert shown == ["&Start", "&Pause", "S&top", "Write &TensorBoard logs"]
    assert menu.actions()[-1].isCheckable()
    assert acts["start"].shortcut() == QKeySequence("Ctrl+Return")
    assert QKeySequence("F5") in acts["start"].shortcuts()
    assert acts["pause"].shortcut() == QKeySequence("Ctrl+P")
    assert acts["stop"].shortcut() == QKeySequence("Ctrl+.")
    for button, keys in ((c.start_btn, "Ctrl+Return, F5"), (c.pause_btn, "Ctrl+P, F6"),
                         (c.stop_btn, "Ctrl+., Shift+F5")):
        assert button.toolTip().endswith(f"({keys})"), button.toolTip()
    assert acts["start"].isEnabled() and not acts["pause"].isEnabled()
    assert not acts["stop"].isEnabled()

    events = fake_events(epochs=4, steps_per_epoch=50, log_every=1, grads_every=0)
    window.session.source_factory = lambda config, out: replay(events, delay=0.003)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    qtbot.keyClick(window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert window.session.state == "running"
    assert not acts["start"].isEnabled() and acts["pause"].isEnabled()
    qtbot.keyClick(window, Qt.Key.Key_F6)
    assert window.session.state == "paused"
    assert acts["pause"].text() == "&Resume"
    assert c.pause_btn.toolTip() == "go on with the paused run (Ctrl+P, F6)"
    qtbot.keyClick(window, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    assert window.session.state == "running"
    assert c.pause_btn.toolTip().startswith("pause the run")
    qtbot.keyClick(window, Qt.Key.Key_F5, Qt.KeyboardModifier.ShiftModifier)
    assert window.session.state in ("stopping", "idle")
    qtbot.waitUntil(lambda: window.session.state == "idle", timeout=10_000)
    assert window.session.runs[-1].history.status == "stopped"
    assert acts["start"].isEnabled() and not acts["stop"].isEnabled()
    # Start off (a broken setup): the shortcut does nothing, the tooltip still names it
    window.session.edit(lambda d: d["tasks"][0].update(weight=-1.0))
    assert not acts["start"].isEnabled()
    assert c.start_btn.toolTip().startswith("Start is disabled")
    assert c.start_btn.toolTip().endswith("(Ctrl+Return, F5)")
    runs = len(window.session.runs)
    qtbot.keyClick(window, Qt.Key.Key_F5)
    assert len(window.session.runs) == runs


# ---------------------------------------------------------------------------- help


def test_help_documentation_opens_the_local_guide(window, tmp_path: Path) -> None:
    opened = []
    window.open_url = lambda url: opened.append(url) or True
    window.docs_action.trigger()  # Help > Documentation (F1)
    assert window.docs_action.shortcut() == QKeySequence(QKeySequence.StandardKey.HelpContents)
    path = window.open_documentation()
    assert path is not None and path.name == "gui.md" and path.is_file()
    assert len(opened) == 2 and opened[0] == opened[1]
    opened.pop()
    assert opened[0].isLocalFile() and Path(opened[0].toLocalFile()) == path
    # a copy without docs says so, and opens nothing
    assert window.open_documentation(tmp_path) is None
    assert len(opened) == 1
    assert "documentation is not installed" in window.message_bar.text
    (tmp_path / "README.md").write_text("# readme\n")
    assert window.open_documentation(tmp_path) == tmp_path / "README.md"
    # no program to open it with: a warning, not silence
    window.open_url = lambda url: False
    window.open_documentation()
    assert window.message_bar.level == "warning" and "gui.md" in window.message_bar.text


def test_help_about_names_versions_and_device(window) -> None:
    box = window.show_about()
    text = box.text()
    assert f"MTL Explorer {metadata.version('mtl-explorer')}" in text
    assert metadata.version("mtl-explorer") == mtl_engine.__version__
    assert f"PyTorch {metadata.version('torch')}" in text
    assert f"Qt {qVersion()}" in text
    assert "Training device (auto): cpu" in text  # the test machine has no GPU
    help_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
    assert [a.text() for a in help_menu.actions()] == ["&Documentation", "&About MTL Explorer"]
    box.close()


# ---------------------------------------------------------------------------- papers

VENUES = ("ICML", "NeurIPS", "ICLR", "CVPR", "ECCV", "ICCV", "AAAI", "IJCAI", "TMLR", "JMLR",
          "TPAMI", "Machine Learning", "arXiv")


def test_every_strategy_cites_a_paper_with_venue_and_year() -> None:
    strategies = mtl_engine.registries()["strategies"]
    bad = []
    for e in strategies.entries():
        paper = e.paper
        ok = (re.search(r"\b(19|20)\d\d\b", paper) and any(v in paper for v in VENUES)
              and "seed" not in paper.lower() and "seed" not in e.summary.lower())
        if not ok:
            bad.append(f"{e.name}: {paper!r}")
    assert len(strategies.entries()) >= 20
    assert not bad, bad


def test_strategy_docstrings_cite_what_their_entries_cite() -> None:
    """A strategy module's docstring is where a reader of the code looks for the source: it
    names no internal note ("project seed 004") and cites the years its entry's paper cites."""
    import sys

    bad = []
    for e in mtl_engine.registries()["strategies"].entries():
        doc = sys.modules[e.obj.__module__].__doc__ or ""
        years = set(re.findall(r"\b(?:19|20)\d\d\b", e.paper))
        if re.search(r"\bseed\s+0\d\d\b|project seed", doc, re.IGNORECASE):
            bad.append(f"{e.name}: docstring cites a project seed")
        elif not years & set(re.findall(r"\b(?:19|20)\d\d\b", doc)):
            bad.append(f"{e.name}: docstring cites none of {sorted(years)}")
        elif "not from a paper" in e.paper and "no paper" not in doc.lower():
            bad.append(f"{e.name}: the entry says no paper, the docstring does not")
    assert not bad, bad


def test_changing_the_theme_keeps_the_application_style_object(window) -> None:
    # With the tone style sheet set, app.style() reports the name "": a check by name called
    # setStyle("Fusion") on every theme change, deleting the style every widget holds (a
    # segfault in Qt once enough windows had come and gone).
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    before = app.style()
    window.set_theme("dark")
    window.set_theme("light")
    assert app.style() is before
    assert app.style().metaObject().className() in ("QStyleSheetStyle", "QFusionStyle")
