"""Screenshots of the import dialog (``python -m mtl_gui.screenshots --only import``): a 14-label
table (an id, six measurements, a text column, 14 binary labels), its role guesses as the
defaults and three label rows selected, in the light and the dark theme."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path
from typing import Any

LABELS = [f"Class{k}" for k in range(1, 11)] + ["happy", "sad", "calm", "angry"]


def write_table(path: Path, n: int = 400) -> Path:
    rand = random.Random(0)
    header = ["id"] + [f"Att{k}" for k in range(1, 7)] + ["site", *LABELS]
    rows = [",".join(header)]
    for i in range(n):
        atts = [f"{rand.gauss(0, 1):.4f}" for _ in range(6)]
        ys = [str(int(rand.random() < 0.3)) for _ in LABELS]
        rows.append(",".join([str(i + 1), *atts, rand.choice(["north", "south", "east"]), *ys]))
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def shoot_import(shooter: Any) -> None:
    from ..plots.style import apply_app_theme
    from .import_dialog import ImportDialog

    path = write_table(Path(tempfile.mkdtemp(prefix="mtl-shots-import-")) / "emotions.csv")
    dialog = ImportDialog(None)
    dialog.move(0, 0)
    dialog.resize(900, 860)
    dialog.show()
    dialog.set_path(str(path))
    dialog.select_columns(["Class1", "Class2", "Class3"])
    for theme in ("light", "dark"):
        apply_app_theme(theme)
        shooter.shot(dialog, "import_dialog" + ("_dark" if theme == "dark" else ""))
    apply_app_theme("light")
    dialog.close()
