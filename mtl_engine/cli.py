"""Headless runs: ``mtl-run PRESET [--epochs N] [--device D] [--out DIR]`` and ``mtl-run --list``.

Every GUI run can be reproduced here: the GUI writes the same run folder, whose config.yaml is a
preset this command accepts.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TextIO

from . import catalog
from .config import ExperimentConfig
from .errors import MTLError
from .events import EpochEnded, RunFailed, RunFinished, RunStarted, StepsLogged, Warned
from .registry import ALL


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.list is not None:
        return list_registries(args.list, sys.stdout)
    if not args.preset:
        _parser().print_usage(sys.stderr)
        print("mtl-run: error: name a preset file (or a built-in preset), or use --list",
              file=sys.stderr)
        return 2
    try:
        config = _load(args)
    except MTLError as exc:
        print(f"mtl-run: {exc}", file=sys.stderr)
        return 2
    from .runs import new_run_dir

    out = Path(args.out) if args.out else new_run_dir("runs", config.name)
    return train(config, out, quiet=args.quiet)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mtl-run", description="Train a multi-task model from a "
                                "YAML preset, headless, and write a run folder.")
    p.add_argument("preset", nargs="?", help="a preset file, or the name of a built-in preset")
    p.add_argument("--epochs", type=int, help="override training.epochs")
    p.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"),
                   help="override training.device")
    p.add_argument("--seed", type=int, help="override training.seed")
    p.add_argument("--out", help="run folder to write (default: runs/<time>-<name>)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--list", nargs="?", const="all", metavar="KIND",
                   help=f"list registered names: {', '.join(ALL)} (default: all)")
    return p


def _load(args: argparse.Namespace) -> ExperimentConfig:
    from .config import from_dict
    from .presets import load

    config = load(args.preset)
    overrides = {k: v for k, v in (("epochs", args.epochs), ("device", args.device),
                                   ("seed", args.seed)) if v is not None}
    if overrides:  # re-validate through the schema so a bad override names its field
        d = config.to_dict()
        d["training"].update(overrides)
        config = from_dict(d)
    return config


def list_registries(kind: str, out: TextIO) -> int:
    catalog.load_all()
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
          stream: TextIO | None = None) -> int:
    from .training import run

    stream = stream or sys.stderr
    bar = _Progress(stream, enabled=not quiet and stream.isatty())
    print(f"mtl-run: {config.name} -> {out}", file=stream)
    last: RunFinished | RunFailed | None = None
    started: RunStarted | None = None
    epochs: list[EpochEnded] = []
    for event in run(config, out_dir=out):
        if isinstance(event, RunStarted):
            started = event
            print(f"  device {event.device}, {event.train_size} training / {event.val_size} "
                  f"validation samples, {event.param_counts['total']:,} parameters", file=stream)
            bar.total = event.total_steps
        elif isinstance(event, StepsLogged):
            bar.update(event.steps[-1] + 1, event.epoch, event.samples_per_sec)
        elif isinstance(event, EpochEnded):
            epochs.append(event)
            bar.clear()
            headline = {t.name: t.metric for t in started.tasks} if started else {}
            print(_epoch_line(event, config.training.epochs, headline), file=stream)
        elif isinstance(event, Warned):
            bar.clear()
            print(f"  warning at step {event.step}: {event.message}", file=stream)
        elif isinstance(event, (RunFinished, RunFailed)):
            last = event
    bar.clear()
    if isinstance(last, RunFailed) and started is None:  # the setup was refused: one line
        print(f"mtl-run: {last.message}", file=stream)
        return 2 if last.error_type in _USER_ERRORS else 1
    if isinstance(last, RunFailed):
        print(f"mtl-run: run failed at step {last.step}: {last.message}", file=stream)
        if last.details and last.error_type not in _USER_ERRORS:
            (out / "error.txt").write_text(last.details, encoding="utf-8")
            print(f"  details: {out / 'error.txt'}", file=stream)
        return 1
    assert last is not None and started is not None
    print(_summary(started, epochs, last), file=stream)
    print(f"run folder: {out}", file=stream)
    return 0


_USER_ERRORS = ("ConfigError", "UnknownNameError", "ShapeError", "DataError", "DivergedError")


def _epoch_line(e: EpochEnded, epochs: int, headline: dict[str, str]) -> str:
    parts = []
    for task, ms in e.val_metrics.items():
        metric = headline.get(task)
        if metric in ms:
            parts.append(f"{task} {metric} {ms[metric]:.4g}")
    losses = " ".join(f"{t}={v:.4g}" for t, v in e.val_loss.items())
    return (f"  epoch {e.epoch}/{epochs}  val loss {losses}  |  {', '.join(parts)}  "
            f"({e.seconds:.1f} s, {e.samples_per_sec:,.0f} samples/s)")


def _summary(started: RunStarted, epochs: list[EpochEnded], last: RunFinished) -> str:
    lines = [f"{last.status} after {last.step} steps in {last.seconds:.1f} s"]
    final = epochs[-1] if epochs else None
    if final is None:
        return lines[0]
    metric_names = sorted({m for ms in final.val_metrics.values() for m in ms})
    head = f"  {'task':<16}{'val loss':>10}" + "".join(f"{m:>10}" for m in metric_names)
    lines.append(head)
    for info in started.tasks:
        ms = final.val_metrics.get(info.name, {})
        row = f"  {info.name:<16}{final.val_loss.get(info.name, float('nan')):>10.4g}"
        row += "".join(f"{ms[m]:>10.4g}" if m in ms else f"{'':>10}" for m in metric_names)
        lines.append(row)
    if final.score is not None:
        lines.append(f"  weighted score (headline metrics): {final.score:.4g}")
    return "\n".join(lines)


class _Progress:
    """A one-line progress bar on a terminal; silent when output is not a terminal."""

    def __init__(self, stream: TextIO, enabled: bool) -> None:
        self.stream = stream
        self.enabled = enabled
        self.total = 0
        self.t0 = time.perf_counter()
        self.shown = False

    def update(self, done: int, epoch: int, rate: float) -> None:
        if not self.enabled or not self.total:
            return
        frac = min(done / self.total, 1.0)
        elapsed = time.perf_counter() - self.t0
        left = elapsed / frac - elapsed if frac > 0 else 0.0
        bar = "#" * int(frac * 30)
        self.stream.write(f"\r  [{bar:<30}] step {done}/{self.total} epoch {epoch + 1} "
                          f"{rate:,.0f} samples/s, {left:.0f} s left ")
        self.stream.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r" + " " * 100 + "\r")
            self.stream.flush()
            self.shown = False


if __name__ == "__main__":
    sys.exit(main())
