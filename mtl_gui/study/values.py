"""Comma-separated values typed into a parameter row, as numbers, booleans or text. No Qt."""

from __future__ import annotations

from typing import Any


def parse_value(text: str) -> Any:
    t = text.strip()
    low = t.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("null", "none"):
        return None
    for kind in (int, float):
        try:
            return kind(t)
        except ValueError:
            pass
    return t.strip("'\"")


def parse_values(text: str) -> list[Any]:
    """"0.01, 0.001" -> [0.01, 0.001]; empty pieces are dropped."""
    return [parse_value(p) for p in text.split(",") if p.strip()]


def format_values(values: list[Any]) -> str:
    return ", ".join("true" if v is True else "false" if v is False else str(v) for v in values)
