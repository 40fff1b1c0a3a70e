"""Entry point: ``python -m mtl_gui [PRESET | STUDY_DIR]`` or the ``mtl-explorer`` script."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mtl-explorer",
                                     description="MTL Explorer: build, train and compare "
                                                 "multi-task models")
    parser.add_argument("preset", nargs="?", help="a preset file or a built-in preset name "
                        "(default: the last one used), or a study folder written by mtl-study "
                        "(its table, Pareto view and curves open in the Study window)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    from .app import run_app  # Qt loads only once the arguments are fine

    return run_app(args.preset)


if __name__ == "__main__":
    sys.exit(main())
