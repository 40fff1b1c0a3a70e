"""Exported plots against the screen: every plot of a replayed run, visible tab or hidden, as
PNG (screen size, 2x, 300 dpi), SVG (QSvgRenderer, librsvg, Chromium) and PDF (poppler).

Each file is compared with the plot's own on-screen rendering (QWidget.grab()): both are
shrunk to the same small size and must correlate pixel by pixel (a quarter crop, a blank image
or a shifted layout does not), and the pixels of the plot's main colour (its first curve, fill
or heat-map cell) must sit in the same places (a displaced curve does not).
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import fake_events, replay
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

from mtl_gui.plots import export, export_ui
from mtl_gui.plots.export import PngOptions

# Both images are shrunk to COMPARE (about 4 screen pixels a cell): renderers that place a
# 1 px line half a pixel apart agree there, a crop or a shifted layout does not.
COMPARE = QSize(120, 75)
MIN_CORRELATION = 0.85  # grey levels, export vs screen (measured >= 0.90; quarter crop: -0.05)
MAX_MEAN_DIFF = 0.03  # mean absolute grey difference, 0..1 (measured <= 0.007)
MIN_OVERLAP = 0.6  # intersection over union of the main colour's cells
MAX_SHIFT = 0.03  # of the width / height: distance between the main colour's centroids
GRID = (48, 30)  # cells for the colour overlap


# ---------------------------------------------------------------------- image measures
def pixels(image: QImage) -> np.ndarray:
    """H x W x 3 float RGB in 0..1."""
    im = image.convertToFormat(QImage.Format.Format_RGB888)
    raw = np.frombuffer(im.constBits(), np.uint8, im.sizeInBytes())
    rows = raw.reshape(im.height(), im.bytesPerLine())[:, : im.width() * 3]
    return rows.reshape(im.height(), im.width(), 3).astype(np.float64) / 255.0


def shrunk(image: QImage, size: QSize | None = None) -> np.ndarray:
    return pixels(image.scaled(size or COMPARE, Qt.AspectRatioMode.IgnoreAspectRatio,
                               Qt.TransformationMode.SmoothTransformation))


def main_color(rgb: np.ndarray) -> np.ndarray:
    """The most frequent clearly coloured (not grey) colour of an image."""
    flat = rgb.reshape(-1, 3)
    # Strong colours only: a faint line's antialiased shades differ between renderers.
    colored = flat[(flat.max(axis=1) - flat.min(axis=1)) > 0.4]
    assert colored.size, "the screen shows no coloured pixel: nothing to locate"
    bins = np.round(colored * 15).astype(int)
    keys, counts = np.unique(bins, axis=0, return_counts=True)
    top = keys[np.argmax(counts)]
    return colored[np.all(bins == top, axis=1)].mean(axis=0)


def color_cells(rgb: np.ndarray, color: np.ndarray) -> np.ndarray:
    near = np.abs(rgb - color).sum(axis=2) < 0.25
    h, w = near.shape
    gy, gx = GRID[1], GRID[0]
    ys, xs = np.nonzero(near)
    cells = np.zeros((gy, gx), dtype=bool)
    cells[(ys * gy) // h, (xs * gx) // w] = True
    return cells


def compare(exported: QImage, screen: QImage) -> dict[str, float]:
    """How alike two renderings are, at the screen's size for the colours."""
    a, b = shrunk(exported), shrunk(screen)
    ga, gb = a.mean(axis=2).ravel(), b.mean(axis=2).ravel()
    corr = float(np.corrcoef(ga, gb)[0, 1]) if ga.std() > 0 and gb.std() > 0 else 0.0
    size = screen.size()
    full_a, full_b = shrunk(exported, size), pixels(screen)
    color = main_color(full_b)
    ca, cb = color_cells(full_a, color), color_cells(full_b, color)
    union = (ca | cb).sum()
    overlap = float((ca & cb).sum() / union) if union else 0.0
    if ca.any():
        pa, pb = np.argwhere(ca).mean(axis=0), np.argwhere(cb).mean(axis=0)
        shift = float(np.max(np.abs(pa - pb) / np.array([GRID[1], GRID[0]])))
    else:
        shift = 1.0
    return {"corr": corr, "diff": float(np.abs(ga - gb).mean()), "overlap": overlap,
            "shift": shift}


def assert_like_screen(exported: QImage, screen: QImage, what: str) -> None:
    assert not exported.isNull(), f"{what}: not an image"
    keep = os.environ.get("MTL_TEST_KEEP_IMAGES")  # a folder: both images land there to look at
    if keep:
        stem = re.sub(r"[^A-Za-z0-9.]+", "_", what)
        exported.save(os.path.join(keep, f"{stem}.export.png"))
        screen.save(os.path.join(keep, f"{stem}.screen.png"))
    m = compare(exported, screen)
    assert m["corr"] >= MIN_CORRELATION, f"{what}: unlike the screen {m}"
    assert m["diff"] <= MAX_MEAN_DIFF, f"{what}: unlike the screen {m}"
    assert m["overlap"] >= MIN_OVERLAP, f"{what}: main colour elsewhere {m}"
    assert m["shift"] <= MAX_SHIFT, f"{what}: main colour displaced {m}"


def svg_by_qt(path: Path) -> QImage:
    renderer = QSvgRenderer(str(path))
    assert renderer.isValid(), f"{path}: QSvgRenderer cannot read it"
    image = QImage(renderer.defaultSize(), QImage.Format.Format_ARGB32)
    image.fill(0xFFFFFFFF)
    painter = QPainter(image)
    renderer.render(painter)
    painter.end()
    return image


# ---------------------------------------------------------------------- fixtures
TASKS_14 = tuple(f"task{k}" for k in range(14))


def replay_run(window, qtbot, tasks: tuple[str, ...] = ("left", "right")):  # noqa: ANN001, ANN201
    """The window after a replayed run of `tasks`, the training tab in front."""
    s = window.session
    s.source_factory = lambda config, out: replay(fake_events(tasks=tasks))
    s.start()
    qtbot.waitUntil(lambda: s.state == "idle", timeout=20_000)
    qtbot.waitExposed(window)
    window.plots.tabs.setCurrentIndex(0)
    window.plots.refresh(force=True)
    qtbot.wait(300)  # full-quality repaint after the run (one plot per tick)
    return window


@pytest.fixture
def replayed(qtbot, window):  # noqa: ANN001, ANN201
    return replay_run(window, qtbot)


def on_first_tab(window) -> tuple[str, ...]:  # noqa: ANN001
    """The plots shown at start (the catalogue's first tab)."""
    return tuple(window.plots.tab_plots(0))


def on_other_tabs(window) -> tuple[str, ...]:  # noqa: ANN001
    """The plots hidden at start (every other tab of the catalogue)."""
    return tuple(n for i in range(1, window.plots.tabs.count()) for n in window.plots.tab_plots(i))


def screens(window, names: tuple[str, ...], qtbot) -> dict[str, QImage]:  # noqa: ANN001
    plots = window.plots.plots()
    out = {}
    shown_tab = None
    for name in names:
        tab = window.plots.tab_of(name)
        if tab != shown_tab:
            window.plots.tabs.setCurrentIndex(tab)
            qtbot.wait(200)
            shown_tab = tab
        view = plots[name].widget
        assert view.isVisible() and view.width() > 100, f"{name} is not on screen"
        out[name] = view.grab().toImage()
    return out


# ---------------------------------------------------------------------- PNG
@pytest.mark.parametrize("scale", [1.0, 2.0])
def test_every_visible_plot_exports_to_png_as_on_screen(replayed, qtbot, tmp_path: Path,
                                                        scale: float) -> None:
    shown = screens(replayed, on_first_tab(replayed), qtbot)
    files = replayed.export_plots(tmp_path, formats=("png",), png=PngOptions(scale=scale))
    assert sorted(p.name for p in files) == sorted(f"{n}.png" for n in export_names(replayed))
    for name, screen in shown.items():
        image = QImage(str(tmp_path / f"{name}.png"))
        assert image.size() == screen.size() * scale, name
        assert_like_screen(image, screen, f"{name}.png at {scale}x")


def export_names(window) -> list[str]:  # noqa: ANN001
    return list(window.plots.plots())


def test_png_for_print_has_300_dpi_written_in_it(replayed, qtbot, tmp_path: Path) -> None:
    screen = screens(replayed, ("loss",), qtbot)["loss"]
    path = export.export_plot(replayed.plots.loss_plot, tmp_path / "loss.png",
                              PngOptions(dpi=300))
    image = QImage(str(path))
    dpi = replayed.plots.loss_plot.widget.logicalDpiX()
    assert image.width() == round(screen.width() * 300 / dpi)
    assert abs(image.dotsPerMeterX() * 0.0254 - 300) < 0.5
    assert abs(image.dotsPerMeterY() * 0.0254 - 300) < 0.5
    assert_like_screen(image, screen, "loss.png at 300 dpi")


def test_plots_on_the_hidden_tab_export_as_they_look_when_shown(replayed, qtbot,
                                                                 monkeypatch, tmp_path: Path
                                                                 ) -> None:
    shown = screens(replayed, on_other_tabs(replayed), qtbot)
    sizes = {n: replayed.plots.plots()[n].widget.size() for n in on_other_tabs(replayed)}
    replayed.plots.tabs.setCurrentIndex(0)
    qtbot.wait(100)
    for name in on_other_tabs(replayed):
        view = replayed.plots.plots()[name].widget
        assert not view.isVisible()
        # Laid out at the size it has on screen, a hidden plot must look the same.
        monkeypatch.setattr(export, "EXPORT_SIZE", sizes[name])
        for ext, scale in (("png", 1.0), ("png", 2.0), ("svg", 1.0)):
            path = export.export_plot(replayed.plots.plots()[name],
                                      tmp_path / f"{name}_{scale:g}.{ext}", PngOptions(scale))
            image = QImage(str(path)) if ext == "png" else svg_by_qt(path)
            assert image.size() == sizes[name] * scale, f"{name}.{ext}"
            assert_like_screen(image, shown[name], f"hidden {name}.{ext} at {scale:g}x")
        assert not view.isVisible()  # nothing was shown for the export
        assert view.size() == sizes[name]  # and the plot is as it was
    monkeypatch.undo()
    # At the default export size (another shape than on screen) the curve is there too.
    path = export.export_plot(replayed.plots.grad_panel.cosine, tmp_path / "default.png")
    image = QImage(str(path))
    assert image.size() == export.EXPORT_SIZE
    rgb = pixels(image)
    curve = color_cells(rgb, main_color(pixels(shown["gradient_cosine"])))
    assert curve.sum() >= GRID[0] // 2, "no curve in the hidden plot's export"
    inked = np.abs(rgb - rgb[2, 2]).sum(axis=2) > 0.5  # unlike the background (any theme)
    assert inked.sum() > 2000, "no axes or text in the hidden plot's export"


def svg_text_positions(path: Path) -> dict[str, tuple[float, float]]:
    """Where each <text> of an SVG starts, in the SVG's pixels."""
    out = {}
    pattern = (r'<text x="([-0-9.]+)" y="([-0-9.]+)" transform="matrix\(([-0-9. ]+)\)"'
               r'[^>]*>([^<]*)</text>')
    for x, y, m, text in re.findall(pattern, path.read_text(encoding="utf-8")):
        a, b, c, d, e, f = (float(v) for v in m.split())
        px, py = float(x), float(y)
        out[text.strip()] = (a * px + c * py + e, b * px + d * py + f)
    return out


def test_a_plot_never_shown_exports_drawn_and_laid_out(window, qtbot, tmp_path: Path) -> None:
    """The gradient tab was never opened: its plots never drew the run nor laid themselves
    out (a legend of 14 entries included); the export does both, from the code path alone."""
    replayed = replay_run(window, qtbot, TASKS_14)
    norms = replayed.plots.grad_panel.norms
    assert replayed.plots.tabs.currentIndex() == 0 and not norms.widget.isVisible()
    assert norms.legend.items == []  # it has not drawn the run
    path = export.export_plot(norms, tmp_path / "norms.svg")
    at = svg_text_positions(path)
    assert {*TASKS_14, "Gradient norm per task", "step"} <= set(at), sorted(at)
    # Legend entries in rows under the x axis label, each in a place of its own.
    spots = {(round(at[t][0]), round(at[t][1])) for t in TASKS_14}
    assert len(spots) == len(TASKS_14), spots
    rows = sorted({y for _, y in spots})
    assert 1 < len(rows) <= 3 and rows[0] > at["step"][1], rows
    width = export.EXPORT_SIZE.width()
    assert abs(at["Gradient norm per task"][0] + 70 - width / 2) < width / 4, at
    image = svg_by_qt(path)
    assert image.size() == export.EXPORT_SIZE
    assert color_cells(pixels(image), main_color(pixels(image))).sum() >= GRID[0] // 2


# ---------------------------------------------------------------------- SVG
def _svgs(window, tmp_path: Path) -> dict[str, Path]:  # noqa: ANN001
    window.export_plots(tmp_path, formats=("svg",))
    return {n: tmp_path / f"{n}.svg" for n in export_names(window)}


def test_svg_has_plain_strokes_text_and_sane_numbers(replayed, tmp_path: Path) -> None:
    for name, path in _svgs(replayed, tmp_path).items():
        text = path.read_text(encoding="utf-8")
        assert "vector-effect" not in text, name  # librsvg and ImageMagick ignore it
        assert "nan" not in text.lower().replace("nanum", ""), name
        assert re.search(r'<path d="M[-0-9.]+,[-0-9.]+ L', text), f"{name}: no line in it"
    loss = (tmp_path / "loss.svg").read_text(encoding="utf-8")
    assert "Loss per task" in loss  # titles stay text
    assert "<text" in (tmp_path / "gradient_conflict.svg").read_text(encoding="utf-8")


def test_svg_in_qt_svg_renderer_looks_like_the_screen(replayed, qtbot, tmp_path: Path) -> None:
    shown = screens(replayed, on_first_tab(replayed), qtbot)
    shown.update(screens(replayed, on_other_tabs(replayed), qtbot))
    replayed.plots.tabs.setCurrentIndex(0)  # the gradient plots hidden again: exported anyway
    svgs = _svgs(replayed, tmp_path)
    for name in on_first_tab(replayed):  # hidden, the other tabs' sizes differ from the screen's
        assert_like_screen(svg_by_qt(svgs[name]), shown[name], f"{name}.svg in QSvgRenderer")
    for tab in range(1, replayed.plots.tabs.count()):
        replayed.plots.tabs.setCurrentIndex(tab)
        qtbot.wait(100)
        svgs = _svgs(replayed, tmp_path)
        for name in replayed.plots.tab_plots(tab):
            assert_like_screen(svg_by_qt(svgs[name]), shown[name], f"{name}.svg in QSvgRenderer")


@pytest.mark.skipif(shutil.which("rsvg-convert") is None,
                    reason="rsvg-convert (Debian: librsvg2-bin) is not installed")
def test_svg_in_librsvg_looks_like_the_screen(replayed, qtbot, tmp_path: Path) -> None:
    for tab in (on_first_tab(replayed), on_other_tabs(replayed)):
        shown = screens(replayed, tab, qtbot)
        svgs = _svgs(replayed, tmp_path)
        for name in tab:
            png = tmp_path / f"{name}.rsvg.png"
            subprocess.run(["rsvg-convert", str(svgs[name]), "-o", str(png)], check=True,
                           timeout=60)
            image = QImage(str(png))
            assert image.size() == shown[name].size(), name
            assert_like_screen(image, shown[name], f"{name}.svg in librsvg")


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(_chromium() is None, reason="chromium is not installed")
def test_svg_in_chromium_looks_like_the_screen(replayed, qtbot, tmp_path: Path) -> None:
    names = ("loss", "loss_shares")
    shown = screens(replayed, names, qtbot)
    svgs = _svgs(replayed, tmp_path)
    for name in names:
        size = shown[name].size()
        png = tmp_path / f"{name}.chrome.png"
        with tempfile.TemporaryDirectory() as profile:
            subprocess.run([_chromium(), "--headless", "--no-sandbox", "--disable-gpu",
                            "--no-first-run", "--disable-background-networking",
                            "--disable-component-update", "--disable-sync",
                            f"--user-data-dir={profile}", "--hide-scrollbars",
                            f"--window-size={size.width()},{size.height()}",
                            f"--screenshot={png}", svgs[name].as_uri()],
                           check=True, timeout=120, capture_output=True)
        assert_like_screen(QImage(str(png)), shown[name], f"{name}.svg in Chromium")


# ---------------------------------------------------------------------- PDF
def test_pdf_is_one_vector_page_the_size_of_the_plot(replayed, qtbot, tmp_path: Path) -> None:
    screen = screens(replayed, ("weights",), qtbot)["weights"]
    path = export.export_plot(replayed.plots.weight_plot, tmp_path / "weights.pdf")
    data = path.read_bytes()
    assert data.startswith(b"%PDF-")
    boxes = re.findall(rb"/MediaBox\s*\[\s*([-0-9. ]+)\]", data)
    assert len(boxes) == 1, "one page"
    x0, y0, x1, y1 = (float(v) for v in boxes[0].split())
    dpi = replayed.plots.weight_plot.widget.logicalDpiX()
    assert abs((x1 - x0) - screen.width() * 72 / dpi) < 1.0
    assert abs((y1 - y0) - screen.height() * 72 / dpi) < 1.0
    assert b"/Font" in data  # text as text
    assert b"/Subtype /Image" not in data  # lines as vectors: no picture of the plot inside
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (Debian: poppler-utils) is not installed: PDF not rendered")
    subprocess.run(["pdftoppm", "-png", "-r", str(dpi), "-singlefile", str(path),
                    str(tmp_path / "weights_pdf")], check=True, timeout=60)
    image = QImage(str(tmp_path / "weights_pdf.png"))
    assert abs(image.width() - screen.width()) <= 1 and abs(image.height() - screen.height()) <= 1
    assert_like_screen(image, screen, "weights.pdf in poppler")


# ---------------------------------------------------------------------- where users ask
def _menu_texts(plot) -> list[str]:  # noqa: ANN001
    vb = plot.plot.getViewBox()
    scene = plot.widget.scene()
    menu = scene.addParentContextMenus(vb, vb.getMenu(None), SimpleNamespace(acceptedItem=vb))
    return [a.text() for a in menu.actions()]


def test_each_plot_exports_from_its_own_context_menu(replayed, qtbot, monkeypatch,
                                                     tmp_path: Path) -> None:
    plots = replayed.plots.plots()
    for tab in range(replayed.plots.tabs.count()):
        names = tuple(replayed.plots.tab_plots(tab))
        shown = screens(replayed, names, qtbot)
        assert replayed.plots.tabs.currentIndex() == tab
        for name in names:
            plot = plots[name]
            texts = _menu_texts(plot)
            assert "Export plot\u2026" in texts, name
            assert "Export..." not in texts, name  # pyqtgraph's own, which writes broken SVG
            for ext, png in (("png", PngOptions(scale=2.0)), ("svg", PngOptions())):
                target = tmp_path / f"menu_{name}.{ext}"
                asked: list[str] = []
                monkeypatch.setattr(export_ui, "ask_plot_path",
                                    lambda parent, suggested, t=target, p=png, a=asked: (
                                        a.append(suggested) or (t, p)))
                plot.export_action.trigger()
                assert asked == [f"{name}.png"]  # suggested after the plot
                image = QImage(str(target)) if ext == "png" else svg_by_qt(target)
                assert_like_screen(image, shown[name], f"{name}.{ext} from its menu")


def test_all_plots_dialog_picks_formats_and_resolution(replayed, tmp_path: Path) -> None:
    dialog = export_ui.ExportAllDialog(replayed, "")
    save = dialog.buttons.button(dialog.buttons.StandardButton.Save)
    assert not save.isEnabled()  # no folder yet
    dialog.folder.setText(str(tmp_path))
    dialog.boxes["svg"].setChecked(False)
    dialog.boxes["pdf"].setChecked(True)
    dialog.resolution.setCurrentText("300 dpi (print)")
    choice = dialog.choice()
    assert choice.formats == ("png", "pdf") and choice.png == PngOptions(dpi=300.0)
    for box in dialog.boxes.values():
        box.setChecked(False)
    assert not save.isEnabled()  # nothing to write

    replayed.ask_plot_export = lambda: choice
    umask = os.umask(0o022)
    os.umask(umask)
    files = replayed.export_plots()
    assert sorted(p.name for p in files) == sorted(
        f"{n}.{e}" for n in export_names(replayed) for e in ("png", "pdf"))
    for p in files:
        assert stat.S_IMODE(p.stat().st_mode) == 0o666 & ~umask, p  # 0644 under umask 022
    assert abs(QImage(str(tmp_path / "loss.png")).dotsPerMeterX() * 0.0254 - 300) < 0.5
    assert replayed.settings.get("plot_export_dir") == str(tmp_path)
    replayed.ask_plot_export = lambda: None  # cancelled: nothing written
    assert replayed.export_plots() == []


def test_an_unknown_format_is_refused_by_name(replayed, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"x\.gif: choose a \.png, \.svg or \.pdf"):
        export.export_plot(replayed.plots.loss_plot, tmp_path / "x.gif")
    assert replayed.export_plots(tmp_path, formats=("tiff",)) == []
    assert "formats: 'tiff'" in replayed.message_bar.text


def test_the_hover_cursor_is_not_exported(replayed, qtbot) -> None:  # noqa: ANN001
    plot = replayed.plots.loss_plot
    screens(replayed, ("loss",), qtbot)
    plain = export.record(plot)
    plot.show_values_at(30.0)
    assert plot.vline.isVisible()
    hovered = export.record(plot)
    assert len(hovered.ops) == len(plain.ops)  # no extra line
    assert plot.vline.isVisible()  # and the screen keeps its cursor
