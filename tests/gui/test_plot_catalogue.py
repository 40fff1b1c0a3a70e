"""The plot catalogue: every declared plot honours the Plot protocol, redraws from a replayed run,
clears, and exports to PNG and SVG with the run in the picture; the area is built from the
catalogue alone, so a new declaration is a new plot everywhere without touching the area."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from conftest import fake_events
from PySide6.QtGui import QImage

from mtl_gui.history import history_from_events
from mtl_gui.plots import area as area_module
from mtl_gui.plots.area import PlotArea
from mtl_gui.plots.base import Curve, CurvePlot, step_x
from mtl_gui.plots.catalogue import PLOTS, Plot, PlotSpec, tabs
from mtl_gui.plots.export import export_plot
from mtl_gui.plots.style import THEMES
from mtl_gui.run_entry import RunEntry

SVG = "{http://www.w3.org/2000/svg}"


def _area(qtbot, runs: list[RunEntry]) -> PlotArea:  # noqa: ANN001
    area = PlotArea(lambda: runs)
    area.timer.stop()  # the test drives the redraws
    qtbot.addWidget(area)
    area.resize(1000, 700)
    area.show()
    return area


@pytest.fixture
def replayed(qtbot):  # noqa: ANN001, ANN201
    """A plot area showing one run replayed from its events (gradients measured too)."""
    runs = [RunEntry(1, {}, history_from_events(fake_events()))]
    area = _area(qtbot, runs)
    area.runs = runs
    area.refresh_all()
    return area


def _pixels(path: Path) -> np.ndarray:
    image = QImage(str(path)).convertToFormat(QImage.Format.Format_RGB888)
    raw = np.frombuffer(image.constBits(), np.uint8, image.sizeInBytes())
    rows = raw.reshape(image.height(), image.bytesPerLine())[:, : image.width() * 3]
    return rows.reshape(image.height(), image.width(), 3).astype(int)


def _colored(rgb: np.ndarray) -> int:
    """Pixels with a clear colour (curves, fills, heat-map cells; not the grey grid or text)."""
    return int(((rgb.max(axis=2) - rgb.min(axis=2)) > 60).sum())


def test_the_catalogue_names_each_plot_once_and_fills_each_cell_once() -> None:
    names = [s.name for s in PLOTS]
    assert len(set(names)) == len(names)
    for title in tabs():  # no two plots of a tab share a grid cell
        cells = [(s.cell.row + r, s.cell.col + c) for s in PLOTS if s.tab == title
                 for r in range(s.cell.rows) for c in range(s.cell.cols)]
        assert len(set(cells)) == len(cells), title


def test_the_area_builds_every_tab_and_export_name_from_the_catalogue(qtbot) -> None:  # noqa: ANN001
    area = _area(qtbot, [])
    assert [area.tabs.tabText(i) for i in range(area.tabs.count())] == tabs()
    exported = list(area.plots())
    assert len(set(exported)) == len(exported)
    for spec in PLOTS:
        plot = area.plot(spec.name)
        assert isinstance(plot, Plot), spec.name
        if spec.attr:
            assert getattr(area, spec.attr) is plot
        for part in plot.views():
            assert area.tab_of(spec.export_name(part)) == tabs().index(spec.tab)
    with pytest.raises(KeyError, match="'nope': no such plot"):
        area.plot("nope")


@pytest.mark.parametrize("spec", PLOTS, ids=[s.name for s in PLOTS])
def test_each_plot_redraws_from_a_replayed_run_and_exports_it(replayed, spec: PlotSpec,
                                                              tmp_path: Path) -> None:
    plot = replayed.plot(spec.name)
    assert plot.refresh(replayed.frame(), True)  # forced: it redraws
    assert not plot.refresh(replayed.frame())  # nothing new: it skips the work
    full = {}
    for part, view in plot.views().items():
        name = spec.export_name(part)
        png = export_plot(view, tmp_path / f"{name}.png")
        svg = export_plot(view, tmp_path / f"{name}.svg")
        rgb = _pixels(png)
        assert rgb.shape[0] > 100 and rgb.shape[1] > 100, name
        full[name] = (_colored(rgb), svg.read_text(encoding="utf-8"))
        root = ET.parse(svg).getroot()
        assert root.tag == f"{SVG}svg" and root.find(f".//{SVG}path") is not None, name
    # With no run shown the plot clears: the run's colours leave the picture.
    replayed.runs.clear()
    assert plot.refresh([], True)
    for part, view in plot.views().items():
        name = spec.export_name(part)
        png = export_plot(view, tmp_path / f"{name}.empty.png")
        svg = export_plot(view, tmp_path / f"{name}.empty.svg")
        colored, text = full[name]
        assert _colored(_pixels(png)) < colored / 4, f"{name}: the run is not in the picture"
        assert svg.read_text(encoding="utf-8") != text, name


@pytest.mark.parametrize("theme", list(THEMES))
def test_every_plot_takes_the_theme(replayed, theme: str) -> None:
    replayed.set_theme(theme)
    background = THEMES[theme]["background"]
    for name, view in replayed.plots().items():
        want = "#ffffff" if background == "w" else background
        assert view.widget.backgroundBrush().color().name() == want, name


class TotalPlot(CurvePlot):
    """A throwaway plot: the back-propagated total loss of each run."""

    title = "Total loss"
    y_label = "loss"

    def curves(self, entry: RunEntry, slot: int, many: bool) -> list[Curve]:
        x = step_x(entry, self.options.x_mode)
        return [Curve(f"{entry.uid}/total", "total", x, entry.history.total.view, 0, slot)]


def test_a_new_declaration_is_a_new_plot_in_tabs_export_and_redraws(qtbot, monkeypatch,
                                                                   tmp_path: Path) -> None:
    extra = PlotSpec("total", "Totals", TotalPlot)
    monkeypatch.setattr(area_module, "PLOTS", (*PLOTS, extra))
    runs = [RunEntry(1, {}, history_from_events(fake_events()))]
    area = _area(qtbot, runs)
    assert area.tabs.tabText(area.tabs.count() - 1) == "Totals"
    assert list(area.plots())[-1] == "total" and area.tab_of("total") == area.tabs.count() - 1
    area.tabs.setCurrentIndex(area.tab_of("total"))  # its tab shown: the area redraws it
    total = area.plot("total")
    assert np.allclose(total._items[f"{runs[0].uid}/total"].getOriginalDataset()[1],
                       runs[0].history.total.view)
    # zooms with the others: one x-range group
    assert total.shared_x.group is area.plot("loss").x_holders()[0].group
    area.set_theme("dark")
    assert total.widget.backgroundBrush().color().name() == THEMES["dark"]["background"]
    assert _colored(_pixels(export_plot(total, tmp_path / "total.png"))) > 0
