"""Entry point: ``python -m mtl_gui [PRESET]`` or the ``mtl-explorer`` script."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    print("The MTL Explorer window is not built yet; use `mtl-run` for headless runs.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
