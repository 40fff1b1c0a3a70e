"""Recorded primitives (export_record.Op) as plain SVG 1.1.

Every coordinate is in the plot's own pixels and every stroke width is explicit, so browsers,
librsvg, ImageMagick and Qt's QSvgRenderer draw the same picture: no non-scaling strokes, no
data-space transforms (only text and images keep a transform, which every renderer supports).
Text stays text (searchable, editable in Inkscape).
"""

from __future__ import annotations

import base64
from html import escape as _html_escape

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontInfo, QImage, QPainterPath, QPen, QTransform

from .export_record import Op


def escape(text: str) -> str:
    """Text for an XML element (not xml.sax.saxutils: it imports urllib and http at start-up)."""
    return _html_escape(text, quote=False)


def quoteattr(text: str) -> str:
    """A quoted XML attribute value."""
    return '"' + _html_escape(text, quote=True) + '"'

CAPS = {Qt.PenCapStyle.FlatCap: "butt", Qt.PenCapStyle.SquareCap: "square",
        Qt.PenCapStyle.RoundCap: "round"}
JOINS = {Qt.PenJoinStyle.MiterJoin: "miter", Qt.PenJoinStyle.SvgMiterJoin: "miter",
         Qt.PenJoinStyle.BevelJoin: "bevel", Qt.PenJoinStyle.RoundJoin: "round"}
MAX_IMAGE_SIDE = 2400  # device pixels an upscaled (blocky) image may reach in the file


def num(v: float) -> str:
    """A coordinate with 3 decimals (a thousandth of a pixel), no trailing zeros."""
    s = f"{v:.3f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def path_data(path: QPainterPath) -> str:
    out: list[str] = []
    e_type = QPainterPath.ElementType
    i, n = 0, path.elementCount()
    while i < n:
        e = path.elementAt(i)
        if e.type == e_type.MoveToElement:
            out.append(f"M{num(e.x)},{num(e.y)}")
        elif e.type == e_type.LineToElement:
            out.append(f"L{num(e.x)},{num(e.y)}")
        else:  # CurveToElement, then its two CurveToDataElements
            c2, end = path.elementAt(i + 1), path.elementAt(i + 2)
            out.append(f"C{num(e.x)},{num(e.y)} {num(c2.x)},{num(c2.y)} "
                       f"{num(end.x)},{num(end.y)}")
            i += 2
        i += 1
    return " ".join(out)


def _color(c: QColor, what: str) -> str:
    attrs = f' {what}="{c.name(QColor.NameFormat.HexRgb)}"'
    if c.alpha() < 255:
        attrs += f' {what}-opacity="{num(c.alphaF())}"'
    return attrs


def _stroke(pen: QPen) -> str:
    w = pen.widthF()
    attrs = _color(pen.color(), "stroke") + f' stroke-width="{num(w)}"'
    attrs += f' stroke-linecap="{CAPS.get(pen.capStyle(), "square")}"'
    join = JOINS.get(pen.joinStyle(), "bevel")
    attrs += f' stroke-linejoin="{join}"'
    if join == "miter":
        attrs += f' stroke-miterlimit="{num(max(1.0, pen.miterLimit()))}"'
    if pen.style() not in (Qt.PenStyle.SolidLine, Qt.PenStyle.NoPen):
        unit = w if w > 0 else 1.0  # Qt's dash pattern counts in pen widths
        dashes = [d * unit for d in pen.dashPattern()]
        if dashes:
            attrs += f' stroke-dasharray="{",".join(num(d) for d in dashes)}"'
            if pen.dashOffset():
                attrs += f' stroke-dashoffset="{num(pen.dashOffset() * unit)}"'
    return attrs


def _matrix(t: QTransform) -> str:
    values = (t.m11(), t.m12(), t.m21(), t.m22(), t.dx(), t.dy())
    return f'matrix({" ".join(num(v) for v in values)})'


def _font_attrs(font: QFont, dpi: float) -> str:
    info = QFontInfo(font)
    px = font.pixelSize() if font.pixelSize() > 0 else font.pointSizeF() * dpi / 72.0
    family = info.family()
    attrs = f' font-family={quoteattr(f"{family}, sans-serif")} font-size="{num(px)}"'
    weight = font.weight()
    attrs += f' font-weight="{int(getattr(weight, "value", weight))}"'
    if font.italic():
        attrs += ' font-style="italic"'
    return attrs


def png_bytes(image: QImage) -> bytes:
    """`image` encoded as PNG, in memory (embedded images here; the PNG export's file)."""
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buf, "PNG")
    buf.close()
    return bytes(data.data())


def _png_base64(image: QImage) -> str:
    return base64.b64encode(png_bytes(image)).decode("ascii")


def _blocky(image: QImage, target: QRectF, t: QTransform) -> QImage:
    """An unsmoothed image enlarged on screen (a heat map's cells) is stored enlarged by an
    integer factor with nearest-neighbour pixels, so a renderer's own smoothing cannot blur
    its cells into each other (renderers disagree on image-rendering)."""
    device = t.mapRect(target)
    k = int(min(device.width() / max(1, image.width()), device.height() / max(1, image.height()),
                MAX_IMAGE_SIDE / max(image.width(), image.height())))
    if k < 2:
        return image
    return image.scaled(QSize(image.width() * k, image.height() * k),
                        Qt.AspectRatioMode.IgnoreAspectRatio,
                        Qt.TransformationMode.FastTransformation)


def _element(op: Op, dpi: float) -> str:
    opacity = f' opacity="{num(op.opacity)}"' if op.opacity < 1 else ""
    if op.kind == "path":
        assert op.path is not None
        data = path_data(op.path)
        if not data:
            return ""
        if op.pen is not None:
            return f'<path d="{data}" fill="none"{_stroke(op.pen)}{opacity}/>'
        assert op.brush is not None
        rule = "evenodd" if op.path.fillRule() == Qt.FillRule.OddEvenFill else "nonzero"
        return (f'<path d="{data}"{_color(op.brush.color(), "fill")} fill-rule="{rule}" '
                f'stroke="none"{opacity}/>')
    if op.kind == "text":
        assert op.font is not None and op.at is not None and op.transform is not None
        color = op.brush.color() if op.brush is not None else QColor("black")
        return (f'<text x="{num(op.at.x())}" y="{num(op.at.y())}" transform='
                f'"{_matrix(op.transform)}"{_font_attrs(op.font, dpi)}{_color(color, "fill")}'
                f' stroke="none" xml:space="preserve"{opacity}>{escape(op.text)}</text>')
    assert op.image is not None and op.target is not None and op.transform is not None
    image = op.image if op.smooth else _blocky(op.image, op.target, op.transform)
    target = op.target
    return (f'<image x="{num(target.x())}" y="{num(target.y())}" width="{num(target.width())}" '
            f'height="{num(target.height())}" preserveAspectRatio="none" transform='
            f'"{_matrix(op.transform)}"{opacity} xlink:href="data:image/png;base64,'
            f'{_png_base64(image)}"/>')


def write_svg(ops: list[Op], size: QSize, title: str, dpi: float = 96.0) -> bytes:
    """The SVG document of `ops` on a canvas of `size` pixels."""
    width, height = size.width(), size.height()
    clips: dict[str, str] = {}
    body: list[str] = []
    current: str | None = None
    for op in ops:
        clip_id = None
        if op.clip is not None:
            data = path_data(op.clip)
            rule = "evenodd" if op.clip.fillRule() == Qt.FillRule.OddEvenFill else "nonzero"
            key = f"{rule}:{data}"
            clip_id = clips.setdefault(key, f"clip{len(clips)}")
        if clip_id != current:
            if current is not None:
                body.append("</g>")
            if clip_id is not None:
                body.append(f'<g clip-path="url(#{clip_id})">')
            current = clip_id
        element = _element(op, dpi)
        if element:
            body.append(element)
    if current is not None:
        body.append("</g>")
    defs = []
    for key, clip_id in clips.items():
        rule, data = key.split(":", 1)
        defs.append(f'<clipPath id="{clip_id}" clipPathUnits="userSpaceOnUse">'
                    f'<path d="{data}" clip-rule="{rule}"/></clipPath>')
    head = (f'<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
            f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'
            f' version="1.1" width="{width}" height="{height}" viewBox="0 0 {width} {height}">\n'
            f'<title>{escape(title)}</title>\n<desc>exported by MTL Explorer</desc>\n'
            f'<defs>{"".join(defs)}</defs>\n')
    return (head + "\n".join(body) + "\n</svg>\n").encode("utf-8")
