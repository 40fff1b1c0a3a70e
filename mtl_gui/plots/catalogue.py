"""Every plot of the plot area, declared once: its name, tab, grid cell and factory.

The plot area builds its tabs, their grids, the shared x range, the bar's controls, theming,
export names and both redraw paths by walking `PLOTS`; tests parametrise over it. A new plot is
its class (honouring `Plot`) and one `PlotSpec` line here, nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from PySide6.QtWidgets import QWidget

from ..run_entry import RunEntry
from .base import PlotOptions, SharedX
from .curves import LossPlot, MetricPlot, WeightPlot
from .gradients import GradientPanel
from .shares import SharePlot

TRAINING = "Training curves"
GRADIENTS = "Gradient conflict"


@runtime_checkable
class Plot(Protocol):
    """What the plot area asks of a plot (CurvePlot and its subclasses, SharePlot, the
    gradient panel)."""

    def refresh(self, runs: list[RunEntry], force: bool = False) -> bool:
        """Redraw from these runs (snapshots) if anything changed, or always when `force`;
        no runs clears the plot. True when it redrew."""
        ...

    def views(self) -> dict[str, QWidget]:
        """What is exported and themed, by part name ("" for the plot as a whole): widgets
        whose `.widget` is the pyqtgraph view (export.plot_view)."""
        ...

    def restyle(self, theme: str) -> None:
        """Recolour for a theme of style.THEMES."""
        ...

    def x_holders(self) -> list[SharedX]:
        """The x ranges that zoom with every other plot's (none for a heat map)."""
        ...

    def controls(self) -> list[tuple[str, QWidget]]:
        """(label, widget) pairs the plot puts in the area's shared bar (a metric picker)."""
        ...


@dataclass(frozen=True)
class Cell:
    """A place in a tab's grid (QGridLayout row, column and spans)."""

    row: int = 0
    col: int = 0
    rows: int = 1
    cols: int = 1


@dataclass(frozen=True)
class PlotSpec:
    name: str  # file-friendly: export names are `name`, or `name_part` for a plot's parts
    tab: str  # tabs appear in the order the catalogue first names them
    make: Callable[[PlotOptions, QWidget], Plot]
    cell: Cell = field(default_factory=Cell)
    attr: str = ""  # also PlotArea.<attr> (code and tests written before the catalogue)

    def export_name(self, part: str) -> str:
        return f"{self.name}_{part}" if part else self.name


PLOTS: tuple[PlotSpec, ...] = (
    PlotSpec("loss", TRAINING, LossPlot, Cell(0, 0), attr="loss_plot"),
    PlotSpec("metric", TRAINING, MetricPlot, Cell(0, 1), attr="metric_plot"),
    PlotSpec("weights", TRAINING, WeightPlot, Cell(1, 0), attr="weight_plot"),
    PlotSpec("loss_shares", TRAINING, SharePlot, Cell(1, 1), attr="share_plot"),
    PlotSpec("gradient", GRADIENTS, GradientPanel, attr="grad_panel"),
)


def tabs(specs: tuple[PlotSpec, ...] = PLOTS) -> list[str]:
    """The tab titles, in order."""
    return list(dict.fromkeys(s.tab for s in specs))
