"""How much of the GUI thread the plots may use while a run trains.

Drawing a plot is done in Python and Qt's software rasteriser on the GUI thread, holding the GIL;
every millisecond there is a millisecond the training thread cannot run its Python. The plot area
therefore measures what each redraw really cost (its data update plus the paints that follow)
and waits long enough before the next one that plots take about `DUTY` of the wall time. While a
run is live the plots also draw without antialiasing (half the paint cost; the curves are
smoothed anyway). Idle, everything is drawn at full quality and at the fastest rate.
"""

from __future__ import annotations

import time

import pyqtgraph as pg
from PySide6.QtGui import QPaintEvent

# Fraction of wall time the plots may take during a run. The training thread loses about what
# the GUI thread holds of the GIL (issue 14: GUI attached >= 0.95x headless), so 2 %: with a
# redraw of the four training plots costing some 8-20 ms of CPU, that is one every 0.4-1 s.
DUTY = 0.02
# Redraw spacing bounds. A redraw is every visible plot at once (area.py), so the slowest rate,
# 1.6 s, is what each of the four plots got when one plot was redrawn per tick of at most 0.4 s.
MIN_MS, MAX_MS = 40, 1600


class Budget:
    """Busy time of the plots since the last redraw started, and the spacing it calls for."""

    def __init__(self) -> None:
        self.busy_ms = 0.0
        self.last_cost_ms = 0.0

    def add(self, ms: float) -> None:
        self.busy_ms += ms

    def next_interval_ms(self) -> int:
        """Close the books on the previous redraw; the wait that keeps plots within DUTY."""
        self.last_cost_ms, self.busy_ms = self.busy_ms, 0.0
        return int(min(MAX_MS, max(MIN_MS, self.last_cost_ms / DUTY)))


BUDGET = Budget()  # one budget for all plots: they share the one GUI thread


class TimedPlotWidget(pg.PlotWidget):
    """A PlotWidget that books the time each paint took."""

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        t0 = time.perf_counter()
        super().paintEvent(event)
        BUDGET.add((time.perf_counter() - t0) * 1000.0)


def set_quality(widget: pg.PlotWidget, full: bool) -> None:
    """Antialiasing on (idle, exports) or off (live run) for the view and its curves."""
    widget.setAntialiasing(full)
    for item in widget.getPlotItem().listDataItems():
        item.opts["antialias"] = full
        curve = getattr(item, "curve", None)  # scatter items (markers) have none
        if curve is not None:
            curve.opts["antialias"] = full
            curve.update()
