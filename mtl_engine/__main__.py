"""``python -m mtl_engine [run] PRESET ...``: the headless runner (same as ``mtl-run``)."""

from __future__ import annotations

import sys

try:
    from .cli import main
except KeyboardInterrupt:  # Ctrl-C while the engine was still importing: nothing to save
    print("mtl-run: interrupted", file=sys.stderr)
    sys.exit(130)

args = sys.argv[1:]
if args and args[0] == "run":
    args = args[1:]
sys.exit(main(args))
