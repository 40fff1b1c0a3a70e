"""``mtl-study STUDY.yaml [--out DIR] [--workers N] [--ray [ADDRESS]] [--epochs N]`` and
``mtl-study --summary DIR``.

STUDY is a study file or the name of a shipped one (presets/studies/). The study folder
(``--out``, default ``studies/<name>``) gets study.yaml, runs/<key>/ per run, summary.csv,
table.csv and table.md; running the same study into the same folder again resumes it. Runs go to
local worker processes (``--workers``, default one per core, or per GPU where there are GPUs;
0 trains in this process), or to Ray with ``--ray`` (a local instance) / ``--ray HOST:PORT``.

Ctrl-C (or SIGTERM) stops every run the way the window's Stop does (models saved, tables
written); a second one aborts at once. Exit codes: 0 every run completed, 1 some run failed,
2 refused (a study, preset or folder problem, named in one line), 130/143 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path
from typing import TextIO

from ..cli import TerminalLine
from ..control import RunControl
from ..errors import MTLError
from ..events import (
    RunFailed,
    RunFinished,
    RunStarted,
    RunStatus,
    StepsLogged,
    StudyFinished,
    StudyStarted,
)

STUDIES_DIR = Path(__file__).resolve().parent.parent.parent / "presets" / "studies"


def builtin_studies() -> dict[str, Path]:
    return {p.stem: p for p in sorted(STUDIES_DIR.glob("*.yaml"))}


def resolve_study(name: str) -> Path:
    p = Path(name)
    if p.exists():
        return p
    shipped = builtin_studies()
    if name in shipped:
        return shipped[name]
    from ..errors import UnknownNameError

    raise UnknownNameError("study (no such file, nor a shipped study)", name, shipped)


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:  # before the runs began: nothing to save
        print("mtl-study: interrupted", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mtl-study", description="Run a study (strategies / architectures x seeds, with "
        "single-task baselines) and print its table; run it again to resume.")
    p.add_argument("study", nargs="?", help="a study file, or the name of a shipped study")
    p.add_argument("--out", help="the study folder (default: studies/<name>); an existing one "
                   "is resumed")
    p.add_argument("--workers", type=int, help="local worker processes (default: one per core, "
                   "or per GPU; 0: in this process)")
    p.add_argument("--ray", nargs="?", const="local", metavar="ADDRESS",
                   help="run on Ray: a local instance, or the cluster at ADDRESS (HOST:6379)")
    p.add_argument("--epochs", type=int, help="override training.epochs in every run")
    p.add_argument("--summary", metavar="DIR", help="print (and rewrite) the table of an "
                   "existing study folder, training nothing")
    p.add_argument("--plan", action="store_true", help="list the runs the study expands to, "
                   "and which are already done, without training")
    p.add_argument("--list", action="store_true", help="list the shipped studies")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def _main(argv: list[str] | None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.list:
        for name, path in builtin_studies().items():
            print(f"{name}  ({path})")
        return 0
    if args.summary:
        return _print_summary(args.summary, sys.stdout)
    if not args.study:
        parser.print_usage(sys.stderr)
        print("mtl-study: error: name a study file (or a shipped study), or use --summary DIR",
              file=sys.stderr)
        return 2
    if args.workers is not None and args.workers < 0:
        parser.error("--workers must be 0 or more")
    if args.epochs is not None and args.epochs < 1:
        parser.error("--epochs must be 1 or more")
    if args.workers != 0 and args.ray is None and not args.plan:
        from .executors import prestart

        prestart()  # the workers' fork server loads torch while the study is validated
    from .runner import as_study, plan, with_epochs

    try:
        study = with_epochs(as_study(resolve_study(args.study)), args.epochs)
        out = Path(args.out) if args.out else Path("studies") / _slug(study.name)
        if args.plan:
            expansion, records = plan(study, out)
            return _print_plan(records, out, sys.stdout)
        return _run(study, out, args, sys.stderr)
    except MTLError as exc:
        print(f"mtl-study: {exc}", file=sys.stderr)
        return 2


def _slug(name: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in name).strip("-")
    return "-".join(filter(None, safe.split("-")))[:60] or "study"


def _print_plan(records: list[dict], out: Path, stream: TextIO) -> int:
    done = sum(r["status"] == RunStatus.COMPLETED for r in records)
    print(f"{len(records)} runs into {out} ({done} already done):", file=stream)
    for r in records:
        print(f"  {r['key']}  {r['status']:<9}  {r['variant']}  seed {r['seed']}", file=stream)
    return 0


def _print_summary(folder: str, stream: TextIO) -> int:
    from .report import text_table
    from .runner import summarize_folder

    try:
        results, rows, tasks = summarize_folder(folder)
    except MTLError as exc:
        print(f"mtl-study: {exc}", file=sys.stderr)
        return 2
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    print(f"{folder}: " + ", ".join(f"{n} {s}" for s, n in counts.items()), file=stream)
    print(text_table(rows, tasks), file=stream)
    return 0


def _run(study: object, out: Path, args: argparse.Namespace, stream: TextIO) -> int:
    from ..cli import _Abort, _Interrupts
    from .report import text_table
    from .runner import run_study, summarize_folder

    control = RunControl()
    bar = _Bar(stream, enabled=not args.quiet and stream.isatty())
    finished: StudyFinished | None = None
    with _Interrupts(control) as interrupts:
        events = run_study(study, out, workers=args.workers, ray=args.ray,  # type: ignore
                           control=control)
        try:
            for event in events:
                if isinstance(event, StudyStarted):
                    bar.start(event)
                    kept = sum(r["status"] == RunStatus.COMPLETED for r in event.runs)
                    print(f"mtl-study: {event.name} -> {out}: {len(event.runs)} runs"
                          + (f", {kept} already done (kept)" if kept else "")
                          + f"; {event.executor}", file=stream)
                elif isinstance(event, RunStarted):
                    bar.started(event)
                elif isinstance(event, StepsLogged):
                    bar.stepped(event)
                elif isinstance(event, (RunFinished, RunFailed)):
                    bar.closed(event)
                elif isinstance(event, StudyFinished):
                    finished = event
        except _Abort as abort:
            events.close()  # the workers are stopped at once; their folders stay incomplete
            bar.clear()
            print(f"mtl-study: aborted by a second {abort.name}; runs in progress are marked "
                  f"incomplete and run again next time", file=stream)
            with contextlib.suppress(MTLError):  # the tables of what did finish
                summarize_folder(out)
            return abort.code
        finally:
            events.close()
    bar.clear()
    assert finished is not None
    _, rows, tasks = summarize_folder(out)
    print(text_table(rows, tasks), file=sys.stdout)
    counts = ", ".join(f"{n} {s}" for s, n in finished.counts.items())
    print(f"mtl-study: {finished.status} in {finished.seconds:.1f} s ({counts}); tables in "
          f"{out}/table.csv and table.md", file=stream)
    if interrupts.name is not None:
        print(f"mtl-study: stopped by {interrupts.name}; what finished is kept, run the study "
              "again to finish it", file=stream)
        return interrupts.code
    return 0 if finished.status == RunStatus.COMPLETED else 1


class _Bar(TerminalLine):
    """One line: runs done / running / failed of the total, and an ETA; on a terminal only.
    Each closed run also gets a line of its own (kept in logs)."""

    def __init__(self, stream: TextIO, enabled: bool) -> None:
        super().__init__(stream, enabled)
        self.t0 = time.perf_counter()
        self.labels: dict[str, str] = {}
        self.todo = 0
        self.done = 0
        self.failed = 0
        self.running: dict[str, float] = {}  # key -> fraction of its steps done
        self.totals: dict[str, int] = {}

    def start(self, e: StudyStarted) -> None:
        self.labels = {r["key"]: f"{r['variant']} seed {r['seed']}" for r in e.runs}
        self.todo = sum(r["status"] == RunStatus.QUEUED for r in e.runs)
        self.t0 = time.perf_counter()
        self.draw()

    def started(self, e: RunStarted) -> None:
        self.running[e.run] = 0.0
        self.totals[e.run] = max(1, e.total_steps)
        self.draw()

    def stepped(self, e: StepsLogged) -> None:
        if e.run in self.running:
            self.running[e.run] = min(1.0, (e.steps[-1] + 1) / self.totals[e.run])
            self.draw()

    def closed(self, e: RunFinished | RunFailed) -> None:
        self.running.pop(e.run, None)
        self.clear()
        n = self.done + self.failed + 1
        name = self.labels.get(e.run, e.run)
        if isinstance(e, RunFailed):
            self.failed += 1
            print(f"  [{n}/{self.todo}] {name}: failed at step {e.step}: {e.message}",
                  file=self.stream)
        else:
            self.done += 1
            print(f"  [{n}/{self.todo}] {name}: {e.status} in {e.seconds:.1f} s",
                  file=self.stream)
        self.draw()

    def draw(self) -> None:
        if not self.enabled or not self.todo:
            return
        progress = self.done + self.failed + sum(self.running.values())
        elapsed = time.perf_counter() - self.t0
        eta = elapsed / progress * (self.todo - progress) if progress > 0 else None
        frac = progress / self.todo
        self.show(f"  [{'#' * int(frac * 30):<30}] {self.done} done, {len(self.running)} "
                  f"running, {self.failed} failed of {self.todo}"
                  + (f", {eta:.0f} s left " if eta is not None else " "))


if __name__ == "__main__":
    sys.exit(main())
