"""What the app remembers between launches: window geometry, last preset, recent files, theme,
plot options. Stored in an INI file under the app's home folder ($MTL_EXPLORER_HOME if set, so
tests and portable installs keep their own)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings, QStandardPaths

MAX_RECENT = 8


def app_home() -> Path:
    env = os.environ.get("MTL_EXPLORER_HOME")
    if env:
        return Path(env)
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base or Path.home() / ".mtl-explorer")


class Settings:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or app_home() / "settings.ini"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.q = QSettings(str(self.path), QSettings.Format.IniFormat)

    def get(self, key: str, default: Any = None) -> Any:
        value = self.q.value(key, default)
        return default if value is None else value

    def set(self, key: str, value: Any) -> None:
        self.q.setValue(key, value)

    def sync(self) -> None:
        self.q.sync()

    # typed helpers: INI files give strings back
    def get_bytes(self, key: str) -> QByteArray | None:
        value = self.q.value(key)
        return value if isinstance(value, QByteArray) else None

    def get_float(self, key: str, default: float) -> float:
        try:
            return float(self.get(key, default))
        except (TypeError, ValueError):
            return default

    def get_bool(self, key: str, default: bool) -> bool:
        value = self.get(key, default)
        return value if isinstance(value, bool) else str(value).lower() == "true"

    def recent(self) -> list[str]:
        value = self.get("recent", [])
        items = [value] if isinstance(value, str) else list(value or [])
        return [p for p in items if p and Path(p).exists()]

    def add_recent(self, path: Path) -> list[str]:
        p = str(Path(path).resolve())
        items = [p] + [x for x in self.recent() if x != p]
        self.set("recent", items[:MAX_RECENT])
        return items[:MAX_RECENT]

    @property
    def runs_dir(self) -> Path:
        return Path(self.get("runs_dir", str(app_home() / "runs")))
