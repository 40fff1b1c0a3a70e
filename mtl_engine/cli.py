"""Headless runs: ``mtl-run PRESET [--epochs N] [--device D] [--out DIR | --into PARENT]`` and
``mtl-run --list``.

Every GUI run can be reproduced here: the GUI writes the same run folder, whose config.yaml is a
preset this command accepts.

Where a run goes: ``--out DIR`` names the run folder itself. It must be new, empty, or (with
``--overwrite``) hold a finished or abandoned run, which is then replaced whole; a folder another
live run is writing is always refused. ``--into PARENT`` (default ``runs/``) gives each run a
fresh subfolder ``<time>-<name>`` of PARENT, made exclusively, so any number of runs can be
started into one parent at once.

Ctrl-C (SIGINT) and SIGTERM stop a run the way the window's Stop does: the current step ends,
the closing event and model.pt are written, and the exit code is 130 (143 for SIGTERM). A second
one aborts at once: the folder keeps its INCOMPLETE marker. Exit codes: 0 done, 1 the run failed,
2 refused (a config, data or folder problem, named in one line), 130/143 interrupted.
"""

from __future__ import annotations

import argparse
import math
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import TextIO

from .config import ExperimentConfig
from .control import RunControl
from .errors import MTLError
from .events import EpochEnded, RunFailed, RunFinished, RunStarted, RunStatus, StepsLogged, Warned
from .registry import ALL

_SIGNALS = {signal.SIGINT: ("Ctrl-C", 130), signal.SIGTERM: ("SIGTERM", 143)}


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:  # before a run began: nothing to save
        print("mtl-run: interrupted", file=sys.stderr)
        return 130


def _main(argv: list[str] | None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.list is not None:
        return list_registries(args.list, sys.stdout)
    if not args.preset:
        parser.print_usage(sys.stderr)
        print("mtl-run: error: name a preset file (or a built-in preset), or use --list",
              file=sys.stderr)
        return 2
    if args.overwrite and not args.out:
        parser.error("--overwrite replaces the run in the folder --out names; give --out")
    try:
        from .extras import require

        for extra, wanted in (("tensorboard", args.tensorboard), ("mlflow", args.mlflow)):
            if wanted is not None:
                require(extra)  # refused before training, not after it
        config = _load(args)
        if args.out:
            out = Path(args.out)
        else:
            from . import new_run_dir

            out = new_run_dir(args.into or "runs", config.name, create=True)
    except MTLError as exc:
        print(f"mtl-run: {exc}", file=sys.stderr)
        return 2
    return train(config, out, quiet=args.quiet, overwrite=args.overwrite,
                 tensorboard=args.tensorboard, mlflow=args.mlflow)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mtl-run", description="Train a multi-task model from a "
                                "YAML preset, headless, and write a run folder.")
    p.add_argument("preset", nargs="?", help="a preset file, or the name of a built-in preset")
    p.add_argument("--epochs", type=int, help="override training.epochs")
    p.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"),
                   help="override training.device")
    p.add_argument("--seed", type=int, help="override training.seed")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--out", help="the run folder to write: new, empty, or with --overwrite "
                       "one holding a run to replace")
    where.add_argument("--into", metavar="PARENT",
                       help="write a fresh run folder <time>-<name> inside PARENT "
                       "(default: runs)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the run already in --out (never one still running)")
    p.add_argument("--quiet", action="store_true",
                   help="print only the results (no progress bar, no epoch lines)")
    p.add_argument("--tensorboard", nargs="?", const="", metavar="LOGDIR",
                   help="also write TensorBoard event files as the run goes (default LOGDIR: "
                   "the run folder's tensorboard/; needs the tensorboard extra)")
    p.add_argument("--mlflow", nargs="?", const="mlruns", metavar="STORE",
                   help="log the finished run to MLflow: a tracking URI or a folder used as a "
                   "local file store (default: mlruns); needs the mlflow extra")
    p.add_argument("--list", nargs="?", const="all", metavar="KIND",
                   help=f"list registered names: {', '.join(ALL)} (default: all)")
    return p


def _load(args: argparse.Namespace) -> ExperimentConfig:
    from . import config_from_dict as from_dict
    from . import load_preset as load

    config = load(args.preset)
    overrides = {k: v for k, v in (("epochs", args.epochs), ("device", args.device),
                                   ("seed", args.seed)) if v is not None}
    if overrides:  # re-validate through the schema so a bad override names its field
        d = config.to_dict()
        d["training"].update(overrides)
        config = from_dict(d)
    return config


def list_registries(kind: str, out: TextIO) -> int:
    # Names, summaries, papers and families only: a registry serves them from the catalogue
    # (catalogue.json) without importing its package, so listing imports no torch.
    kinds = list(ALL) if kind == "all" else [kind]
    if kind != "all" and kind not in ALL:
        from .errors import UnknownNameError

        print(f"mtl-run: {UnknownNameError('registry', kind, ALL)}", file=sys.stderr)
        return 2
    for k in kinds:
        reg = ALL[k]
        if kind == "all":
            print(f"{k}:", file=out)
        width = max((len(e.name) for e in reg), default=0)
        for e in sorted(reg, key=lambda e: e.name):
            family = e.meta.get("family")
            tag = f"[{family}] " if family else ""
            paper = f" ({e.paper})" if e.paper and e.paper not in e.summary else ""
            print(f"{'  ' if kind == 'all' else ''}{e.name:<{width}}  {tag}{e.summary}{paper}",
                  file=out)
    return 0


def train(config: ExperimentConfig, out: Path, quiet: bool = False,
          stream: TextIO | None = None, overwrite: bool = False,
          results: TextIO | None = None, tensorboard: str | None = None,
          mlflow: str | None = None) -> int:
    """Run `config` into `out`. Progress (the header, one line per epoch, warnings, the bar) and
    errors go to `stream` (stderr); the results (the final table, the run folder) to `results`
    (stdout), so `mtl-run ... > results.txt` keeps just them. `quiet`: no progress at all.
    `tensorboard`: a log dir to write event files into as the run goes ("": the run folder's
    tensorboard/); `mlflow`: a store to log the finished run to (cli_sinks.py)."""
    code = _train(config, out, quiet, stream, overwrite, results, tensorboard)
    if mlflow is not None and code in (0, 130, 143):
        from .cli_sinks import log_to_mlflow

        code = log_to_mlflow(out, mlflow, stream or sys.stderr) or code
    return code


def _train(config: ExperimentConfig, out: Path, quiet: bool, stream: TextIO | None,
           overwrite: bool, results: TextIO | None, tensorboard: str | None) -> int:
    from . import run  # the engine's front door, as every client uses it

    stream = stream or sys.stderr
    results = results or sys.stdout
    progress = _Silent() if quiet else stream
    bar = _Progress(stream, enabled=not quiet and stream.isatty())
    last: RunFinished | RunFailed | None = None
    started: RunStarted | None = None
    epochs: list[EpochEnded] = []
    warnings: list[Warned] = []
    step = 0
    control = RunControl()
    from .cli_sinks import LiveTensorBoard

    tb = LiveTensorBoard(tensorboard, out, stream)
    with _Interrupts(control) as interrupts, tb:
        events = run(config, control, out_dir=out, overwrite=overwrite)
        try:
            for event in events:
                tb.record(event)
                if isinstance(event, RunStarted):  # the folder is ours: a refusal is one line
                    started = event
                    print(f"mtl-run: {config.name} -> {out}", file=progress)
                    print(f"  device {event.device}, {event.train_size} training / "
                          f"{event.val_size} validation"
                          + (f" / {event.test_size} test" if event.test_size else "")
                          + " samples, "
                          f"{event.param_counts['total']:,} parameters", file=progress)
                    bar.total = event.total_steps
                elif isinstance(event, StepsLogged):
                    step = event.steps[-1] + 1
                    bar.update(step, event.epoch, event.samples_per_sec)
                elif isinstance(event, EpochEnded):
                    epochs.append(event)
                    bar.clear()
                    tasks = started.tasks if started else ()
                    print(_epoch_line(event, config.training.epochs,
                                      {t.name: t.metric for t in tasks},
                                      {t.name: t.higher_is_better for t in tasks}),
                          file=progress)
                elif isinstance(event, Warned):
                    warnings.append(event)
                    bar.clear()
                    print(f"  warning at step {event.step}: {event.message}", file=progress)
                elif isinstance(event, (RunFinished, RunFailed)):
                    last = event
        except _Abort as abort:
            events.close()  # releases the folder; INCOMPLETE stays
            bar.clear()
            from . import INCOMPLETE_FILE

            kept = (f"{out} is marked incomplete" if (out / INCOMPLETE_FILE).exists()
                    else f"{out} was already finished" if out.exists()
                    else "nothing was written")
            print(f"mtl-run: aborted by a second {abort.name} at step {step}; {kept}",
                  file=stream)
            return abort.code
        finally:
            events.close()
    bar.clear()
    if isinstance(last, RunFailed) and started is None:  # the setup was refused: one line
        print(f"mtl-run: {last.message}", file=stream)
        return 2 if last.error_type in _USER_ERRORS else 1
    if isinstance(last, RunFailed):
        if last.error_type == "FileWriteError":  # the folder, not the run, failed
            from . import INCOMPLETE_FILE

            kept = (f"{out} is marked incomplete" if (out / INCOMPLETE_FILE).exists()
                    else "nothing was kept")
            print(f"mtl-run: {last.message} (the run stopped at step {last.step}; {kept})",
                  file=stream)
            return 2
        print(f"mtl-run: run failed at step {last.step}: {last.message}", file=stream)
        from . import ERROR_FILE

        if last.details and (out / ERROR_FILE).exists():
            print(f"  details: {out / ERROR_FILE}", file=stream)
        return 1
    assert last is not None and started is not None
    print(_summary(started, epochs, last), file=results)
    if quiet and warnings:  # not shown as they came: say that there were some, and where
        from . import EVENTS_FILE

        print(f"  {len(warnings)} warning{'s' * (len(warnings) > 1)}, the first at step "
              f"{warnings[0].step}: {warnings[0].message} (all in {out / EVENTS_FILE})",
              file=results)
    if interrupts.name is not None and last.status == RunStatus.STOPPED:
        from . import MODEL_FILE

        results.flush()
        print(f"mtl-run: stopped by {interrupts.name} at step {last.step}; model saved to "
              f"{out / MODEL_FILE}", file=stream)
        return interrupts.code
    print(f"run folder: {out}", file=results)
    return 0


class _Silent:
    """Where --quiet sends progress lines: nowhere."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


class _Abort(BaseException):
    """A second interrupt: unwinds the run at once (BaseException, so no `except Exception` in
    the training loop turns it into a RunFailed)."""

    def __init__(self, name: str, code: int) -> None:
        super().__init__(name)
        self.name = name
        self.code = code


class _Interrupts:
    """SIGINT/SIGTERM during a run: the first asks the run to stop (RunControl.stop, the same
    path as the window's Stop); the second raises _Abort, and further ones are ignored so the
    abort itself cannot be cut short. A signal the parent set to be ignored (the shell does so
    for a script's background jobs) stays ignored. Off the main thread nothing is installed."""

    def __init__(self, control: RunControl) -> None:
        self.control = control
        self.name: str | None = None
        self.code = 0
        self._old: dict[int, object] = {}

    def __enter__(self) -> _Interrupts:
        import threading

        if threading.current_thread() is threading.main_thread():
            for sig in _SIGNALS:
                old = signal.getsignal(sig)
                if old is not signal.SIG_IGN:
                    # None: a handler set outside Python, which cannot be put back; the default
                    self._old[sig] = signal.SIG_DFL if old is None else old
                    signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, old in self._old.items():
            # once interrupted, the process is ending: a late second signal must not cut off
            # the last lines (or, for SIGTERM, the exit code)
            signal.signal(sig, old if self.name is None else signal.SIG_IGN)  # type: ignore

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        name, code = _SIGNALS[signal.Signals(signum)]
        if self.name is None:
            self.name, self.code = name, code
            self.control.stop()
            return
        for sig in self._old:
            signal.signal(sig, signal.SIG_IGN)
        raise _Abort(name, code)


_USER_ERRORS = ("ConfigError", "UnknownNameError", "ShapeError", "DataError", "DivergedError",
                "FileWriteError", "ArgumentError")


EPOCH_LINE_WIDTH = 120  # past this an epoch line summarises the tasks (all of them: epochs.csv)


def _epoch_line(e: EpochEnded, epochs: int, headline: dict[str, str],
                higher: dict[str, bool] | None = None) -> str:
    """One short line: each task's validation loss and headline metric when they fit in
    EPOCH_LINE_WIDTH characters, else the mean loss, the score and the lowest-scoring task."""
    head = f"  epoch {e.epoch}/{epochs}  "
    tail = f"  ({e.seconds:.1f} s, {e.samples_per_sec:,.0f} samples/s)"
    parts = []
    for task, ms in e.val_metrics.items():
        metric = headline.get(task)
        if metric in ms:
            parts.append(f"{task} {metric} {ms[metric]:.4g}")
    losses = " ".join(f"{t}={v:.4g}" for t, v in e.val_loss.items())
    full = f"{head}val loss {losses}  |  {', '.join(parts)}{tail}"
    if len(full) <= EPOCH_LINE_WIDTH or len(e.val_loss) <= 1:
        return full
    values = [v for v in e.val_loss.values() if math.isfinite(v)]
    mean = f"{sum(values) / len(values):.4g}" if values else "nan"
    brief = [f"val loss {mean} (mean of {len(e.val_loss)} tasks)"]
    if e.score is not None:
        brief.append(f"score {e.score:.4g}")
    worst = _weakest(e, headline, higher or {})
    if worst:
        brief.append(f"lowest {worst}")
    return head + ", ".join(brief) + tail


def _weakest(e: EpochEnded, headline: dict[str, str], higher: dict[str, bool]) -> str:
    """The task whose higher-is-better headline metric is lowest, as "task metric value"."""
    scored = []
    for task, ms in e.val_metrics.items():
        metric = headline.get(task)
        if metric in ms and math.isfinite(ms[metric]) and higher.get(task, False):
            scored.append((ms[metric], task, metric))
    if not scored:
        return ""
    value, task, metric = min(scored)
    return f"{task} {metric} {value:.4g}"


def _summary(started: RunStarted, epochs: list[EpochEnded], last: RunFinished) -> str:
    lines = [f"{last.status} after {last.step} steps in {last.seconds:.1f} s"]
    if not epochs:
        return lines[0]
    # the epoch whose weights the run kept (training.select): its metrics are the run's
    final = next((e for e in epochs if e.epoch == last.selected_epoch), epochs[-1])
    if final is not epochs[-1]:
        lines.append(f"  selected epoch {final.epoch} of {epochs[-1].epoch} (best validation "
                     "score); model.pt holds its weights")
    metric_names = sorted({m for ms in final.val_metrics.values() for m in ms})
    lines += _metrics_table("val", started, final.val_loss, final.val_metrics, metric_names)
    if final.score is not None:
        lines.append(f"  weighted score (headline metrics): {final.score:.4g}")
    if final.val_multilabel:  # the binary tasks read as one multi-label problem
        n_binary = sum(t.type == "binary" for t in started.tasks)
        lines.append(f"  across the {n_binary} binary tasks: " + ", ".join(
            f"{m} {v:.4g}" for m, v in final.val_multilabel.items()))
    if last.test_metrics:
        lines.append(f"  test, {started.test_size} rows, measured once with the selected weights:")
        lines += _metrics_table("test", started, last.test_loss, last.test_metrics, metric_names)
    return "\n".join(lines)


def _metrics_table(part: str, started: RunStarted, loss: dict[str, float],
                   metrics: dict[str, dict[str, float]], names: list[str]) -> list[str]:
    lines = [f"  {'task':<16}{part + ' loss':>10}" + "".join(f"{m:>10}" for m in names)]
    for info in started.tasks:
        ms = metrics.get(info.name, {})
        row = f"  {info.name:<16}{loss.get(info.name, float('nan')):>10.4g}"
        row += "".join(f"{ms[m]:>10.4g}" if m in ms else f"{'':>10}" for m in names)
        lines.append(row)
    return lines


class TerminalLine:
    """One line a terminal redraws in place (a progress bar); silent when output is not a
    terminal. `show` replaces the line, `clear` blanks it before an ordinary line is printed."""

    def __init__(self, stream: TextIO, enabled: bool) -> None:
        self.stream = stream
        self.enabled = enabled
        self.shown = False

    def show(self, text: str) -> None:
        self.stream.write("\r" + text)
        self.stream.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r" + " " * 100 + "\r")
            self.stream.flush()
            self.shown = False


class _Progress(TerminalLine):
    """A run's progress bar: steps done, epoch, samples/s and the time left."""

    def __init__(self, stream: TextIO, enabled: bool) -> None:
        super().__init__(stream, enabled)
        self.total = 0
        self.t0 = time.perf_counter()

    def update(self, done: int, epoch: int, rate: float) -> None:
        if not self.enabled or not self.total:
            return
        frac = min(done / self.total, 1.0)
        elapsed = time.perf_counter() - self.t0
        left = elapsed / frac - elapsed if frac > 0 else 0.0
        bar = "#" * int(frac * 30)
        self.show(f"  [{bar:<30}] step {done}/{self.total} epoch {epoch + 1} "
                  f"{rate:,.0f} samples/s, {left:.0f} s left ")


if __name__ == "__main__":
    sys.exit(main())
