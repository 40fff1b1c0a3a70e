"""What `mtl-run --tensorboard` and `--mlflow` add to a run: TensorBoard event files written as
the events come, and the finished folder logged to MLflow. A failure of either is one line on
stderr; the run itself and its folder are never affected."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TextIO

from .errors import MTLError
from .events import Event, RunStarted


class LiveTensorBoard:
    """Feeds a run's events to a TensorBoardLog opened at RunStarted (the folder is the run's
    by then; a run refused before it starts leaves no log dir). `logdir` None: does nothing;
    "": the run folder's tensorboard/."""

    def __init__(self, logdir: str | None, out: Path, stream: TextIO) -> None:
        self.logdir = logdir
        self.out = out
        self.stream = stream
        self.log: Any = None

    def record(self, event: Event) -> None:
        if self.logdir is None:
            return
        try:
            if self.log is None and isinstance(event, RunStarted):
                from .tensorboard_log import TB_DIR, TensorBoardLog

                self.log = TensorBoardLog(Path(self.logdir) if self.logdir
                                          else self.out / TB_DIR)
            if self.log is not None:
                self.log.record(event)
        except (MTLError, OSError) as exc:
            print(f"mtl-run: TensorBoard log stopped: {exc}", file=self.stream)
            self.logdir = None
            self._close()

    def __enter__(self) -> LiveTensorBoard:
        return self

    def __exit__(self, *exc: object) -> None:
        self._close()

    def _close(self) -> None:
        log, self.log = self.log, None
        if log is not None:
            try:
                log.close()
            except OSError as exc:
                print(f"mtl-run: TensorBoard log: {exc}", file=self.stream)


def log_to_mlflow(out: Path, store: str, stream: TextIO) -> int:
    """Log the run folder `out` to the MLflow `store`; 0, or 2 after one line on `stream`."""
    from .mlflow_log import log_mlflow, store_uri

    try:
        ids = log_mlflow(out, store)
    except MTLError as exc:
        print(f"mtl-run: MLflow logging failed: {exc}", file=stream)
        return 2
    print(f"mlflow: run {ids[0]} logged to {store_uri(store)}", file=stream)
    return 0
