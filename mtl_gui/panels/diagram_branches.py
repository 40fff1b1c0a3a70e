"""The diagram's input stage for a model over named inputs: each branch a column of layer boxes
under its input's box, the columns joined by a bus that drops into the merge box.

Texts and broken places come from the engine's summary rows (`branches.<input>[i]`, `merge`);
the layout is plain geometry (no painting), so tests can read where every box went.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QPointF, QRectF

MAX_BRANCH_ROWS = 5  # layers shown per column; more are summarised as "+ N more"
STEP = 26  # vertical distance between the boxes of a column
BOX_H = 20
GAP = 8  # between columns
BUS = 10  # the join line's distance below the longest column
ARROW = "\u2192"
_WHERE = re.compile(r"branches\.(.+)\[(\d+)\]")


@dataclass(frozen=True)
class Box:
    rect: QRectF
    text: str
    kind: str  # input, layer, more, merge, trunk, head, note (text without a box)
    tip: str = ""
    broken: bool = False
    task: int = -1  # a head's task index
    enabled: bool = True
    keep: str = ""  # the end of `text` kept whole when the box elides it (the shape)


@dataclass
class Column:
    name: str
    title: str  # the input box: "history tokens 10"
    tip: str  # the input in full (its kind, shape, vocab)
    layers: list[tuple[str, str, bool]] = field(default_factory=list)  # text, tip, broken


def shape_part(text: str) -> str:
    """The " → shape" end of a box's text, which eliding keeps: "embed… → 10x16"."""
    at = text.rfind(f" {ARROW} ")
    return text[at:] if at >= 0 else ""


def _dims(shape: Any) -> str:
    return "x".join(str(d) for d in shape) if shape else "1"


def columns_of(draft: dict[str, Any], summary: Any, spec: Any) -> list[Column]:
    """One column per branch of the draft, in the dataset's input order."""
    branches = draft.get("branches")
    if not isinstance(branches, dict):
        return []
    inputs = {i.name: i for i in spec.inputs} if spec is not None else {}
    rows = {r.where: r for r in summary.layers} if summary is not None else {}
    order = [n for n in inputs if n in branches] + [n for n in branches if n not in inputs]
    out = []
    for name in order:
        given = inputs.get(name)
        if given is not None:
            shape = f" {_dims(given.shape)}" if given.shape else ""
            title = f"{name} {given.kind}{shape}"
            vocab = f", vocab {given.vocab:,}" if given.vocab else ""
            tip = f"input {name}: {given.kind}, shape ({', '.join(map(str, given.shape))})" \
                  f"{vocab}"
        else:
            title = f"{name} ?"
            tip = (f"{name} is not an input of this dataset" if spec is not None
                   else "the dataset could not be loaded")
        col = Column(str(name), title, tip)
        layers = branches[name] if isinstance(branches[name], list) else []
        for i, layer in enumerate(layers):
            kind = str(layer.get("type", "?")) if isinstance(layer, dict) else "?"
            row = rows.get(f"branches.{name}[{i}]")
            if row is not None and row.error:
                col.layers.append((f"{kind} does not fit", f"branches.{name}[{i}]: {row.error}",
                                   True))
                continue
            known = row is not None and row.out_shape is not None
            out_shape = _dims(row.out_shape) if known else "?"
            col.layers.append((f"{kind} {ARROW} {out_shape}", f"branches.{name}[{i}] {kind}",
                               False))
        out.append(col)
    return out


def merge_text(draft: dict[str, Any], summary: Any) -> tuple[str, str, bool]:
    """The merge box: text, tip, whether it (or the branches as a whole) does not fit."""
    merge = draft.get("merge") if isinstance(draft.get("merge"), dict) else {}
    name = str(merge.get("type") or "concat")
    row = next((r for r in summary.layers if r.where == "merge"), None) \
        if summary is not None else None
    where = (summary.error_path or "") if summary is not None and not summary.ok else ""
    if (row is not None and row.error) or where == "branches" or where.startswith("merge"):
        message = row.error if row is not None and row.error else summary.error
        return f"{name} does not fit", f"merge: {message}", True
    if row is None or row.out_shape is None:
        return f"{name} {ARROW} ?", f"merge {name}", False
    joined = " + ".join(f"{n} ({_dims(s)})" for n, s in row.in_shapes)
    return f"{name} {ARROW} {_dims(row.out_shape)}", f"merge {name}: {joined}", False


def band_height(columns: list[Column]) -> int:
    """The height the branch columns take above the merge's row (0 without branches)."""
    if not columns:
        return 0
    rows = max(1 + min(len(c.layers), MAX_BRANCH_ROWS + 1) for c in columns)
    return 4 + rows * STEP + BUS


def layout_band(columns: list[Column], width: float, merge_top: QPointF
                ) -> tuple[list[Box], list[tuple[QPointF, QPointF]]]:
    """Boxes and connector lines of the columns over `width`; the bus ends above `merge_top`
    (the merge box's top centre), from which a line drops into it."""
    boxes: list[Box] = []
    lines: list[tuple[QPointF, QPointF]] = []
    if not columns:
        return boxes, lines
    n = len(columns)
    col_w = (width - 8 - GAP * (n - 1)) / n
    bus_y = band_height(columns) - BUS / 2
    centres = []
    for k, col in enumerate(columns):
        x = 4 + k * (col_w + GAP)
        cx = x + col_w / 2
        centres.append(cx)
        shown = col.layers[:MAX_BRANCH_ROWS]
        items = [(col.title, "input", col.tip, False)]
        items += [(text, "layer", tip, broken) for text, tip, broken in shown]
        if len(col.layers) > MAX_BRANCH_ROWS:
            rest = len(col.layers) - MAX_BRANCH_ROWS
            items.append((f"+ {rest} more", "more", f"{rest} more layers in this branch",
                          False))
        y = 4.0
        for r, (text, kind, tip, broken) in enumerate(items):
            boxes.append(Box(QRectF(x, y, col_w, BOX_H), text, kind, tip, broken,
                             keep=shape_part(text)))
            if r:
                lines.append((QPointF(cx, y - (STEP - BOX_H)), QPointF(cx, y)))
            y += STEP
        lines.append((QPointF(cx, y - (STEP - BOX_H)), QPointF(cx, bus_y)))
    left = min(*centres, merge_top.x())
    right = max(*centres, merge_top.x())
    lines.append((QPointF(left, bus_y), QPointF(right, bus_y)))
    lines.append((QPointF(merge_top.x(), bus_y), merge_top))
    return boxes, lines
