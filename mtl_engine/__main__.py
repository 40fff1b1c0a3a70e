"""``python -m mtl_engine [run] PRESET ...``: the headless runner (same as ``mtl-run``)."""

from __future__ import annotations

import sys

from .cli import main

args = sys.argv[1:]
if args and args[0] == "run":
    args = args[1:]
sys.exit(main(args))
