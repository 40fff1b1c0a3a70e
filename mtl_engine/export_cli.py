"""``mtl-export``: a finished run (or study) in the formats other tools read.

    mtl-export onnx RUN_OR_BUNDLE DEST.onnx
    mtl-export tensorboard RUN_OR_STUDY [--logdir DIR]
    mtl-export mlflow RUN_OR_STUDY [--store URI_OR_FOLDER] [--experiment NAME]

A run folder stands for its model.pt where a bundle is wanted. Exit codes: 0 done, 2 refused (a
folder, bundle or missing extra, named in one line).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from .errors import MTLError


def _onnx(args: argparse.Namespace) -> str:
    from .onnx_export import export_onnx
    from .runs import MODEL_FILE

    src = Path(args.source)
    bundle = src / MODEL_FILE if src.is_dir() else src
    return f"wrote {export_onnx(bundle, args.dest)}"


def _tensorboard(args: argparse.Namespace) -> str:
    from .tensorboard_log import write_tensorboard

    out = write_tensorboard(args.source, args.logdir)
    return f"wrote {out} (open it with: tensorboard --logdir {out})"


def _mlflow(args: argparse.Namespace) -> str:
    from .mlflow_log import log_mlflow, store_uri

    ids = log_mlflow(args.source, args.store, args.experiment)
    return f"logged {len(ids)} run{'s' * (len(ids) != 1)} to {store_uri(args.store)}"


COMMANDS: dict[str, Callable[[argparse.Namespace], str]] = {
    "onnx": _onnx, "tensorboard": _tensorboard, "mlflow": _mlflow}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mtl-export", description="Export a run folder's model, or "
                                "a run or study folder's curves, for other tools.")
    sub = p.add_subparsers(dest="command", required=True)
    onnx = sub.add_parser("onnx", help="the model as ONNX (needs the onnx extra)")
    onnx.add_argument("source", help="a run folder or a model bundle (.pt)")
    onnx.add_argument("dest", help="the .onnx file to write")
    tb = sub.add_parser("tensorboard", help="TensorBoard event files (needs the tensorboard "
                        "extra)")
    tb.add_argument("source", help="a run folder or a study folder")
    tb.add_argument("--logdir", help="where to write (default: SOURCE/tensorboard)")
    ml = sub.add_parser("mlflow", help="log to MLflow (needs the mlflow extra)")
    ml.add_argument("source", help="a run folder or a study folder")
    ml.add_argument("--store", help="a tracking URI or a local store folder (default: mlruns)")
    ml.add_argument("--experiment", help="the MLflow experiment (default: the study's or the "
                    "run's name)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        print(f"mtl-export: {COMMANDS[args.command](args)}")
    except MTLError as exc:
        print(f"mtl-export: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
