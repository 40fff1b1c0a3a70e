"""Reading a study folder off the GUI thread: summarize_study re-reads every run folder and the
curves read them again, which for a study of dozens of runs takes seconds the window must not
freeze for. The thread only reads files and builds plain data; the window draws on `done`."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QThread, Signal

from mtl_engine.errors import MTLError

from .bands import EpochSeries, series_from_folder
from .results import StudyResults, load_results


def read_study(folder: Path) -> tuple[StudyResults, dict[str, list[EpochSeries]]]:
    """The folder's results and each variant's runs' epochs (MTLError: not a study folder)."""
    res = load_results(folder)
    series: dict[str, list[EpochSeries]] = {}
    for r in res.runs:
        s = series_from_folder(res.folder / "runs" / r.key)
        if s is not None and s.epochs:
            series.setdefault(r.variant, []).append(s)
    return res, series


class StudyLoader(QThread):
    done = Signal(object, object)  # StudyResults, series
    failed = Signal(str)  # one line

    def __init__(self, folder: Path, parent: object = None) -> None:
        super().__init__(parent)  # type: ignore[arg-type]
        self.folder = folder

    def run(self) -> None:  # on the loader thread
        try:
            res, series = read_study(self.folder)
        except (MTLError, OSError) as exc:
            self.failed.emit(f"Could not open study folder: {exc}")
            return
        self.done.emit(res, series)
