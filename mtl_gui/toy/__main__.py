"""``python -m mtl_gui.toy [STRATEGY] [--run]``: the toy playground in a window of its own."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mtl_gui.toy",
                                     description="Watch a multi-task strategy optimise the 2-D "
                                                 "two-objective toy from five starts")
    parser.add_argument("strategy", nargs="?", default="cagrad", help="strategy to select")
    parser.add_argument("--run", action="store_true", help="start optimising at once")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)

    from PySide6.QtWidgets import QApplication

    from .. import qt_version
    from ..plots.style import apply_theme
    from .playground import ToyPlayground

    problem = qt_version.installed_problem()
    if problem:  # the binding release the app refuses (see qt_version)
        print(problem, file=sys.stderr)
        return 1
    app = QApplication.instance() or QApplication(sys.argv[:1])
    apply_theme("light")
    window = ToyPlayground()
    window.setWindowTitle("MTL Explorer: two-objective toy")
    window.select(args.strategy)
    window.resize(1100, 700)
    window.show()
    if args.run:
        window.start()
    return int(app.exec())


if __name__ == "__main__":
    sys.exit(main())
