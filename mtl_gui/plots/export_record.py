"""Record what a widget paints as vector primitives in its own pixel coordinates.

Why not Qt's QSvgGenerator: pyqtgraph draws curves and grid lines with cosmetic pens inside
data-coordinate transforms. QSvgGenerator writes those as data coordinates under a matrix (6
significant digits, so a narrow y range collapses) and relies on `vector-effect=
"non-scaling-stroke"`, which librsvg and ImageMagick ignore (every curve becomes a huge filled
shape) and Chromium places differently; it also drops clipping. This paint device instead
receives every primitive with the painter's full transform and pen, maps the geometry into
device pixels in double precision and resolves each stroke to a width in those pixels. The
result (a list of `Op`s) is written as plain SVG (export_svg.py) or replayed onto any QPainter,
at any scale, with strokes scaling like everything else (PNG at 2x / 300 dpi, PDF).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QImage,
    QPaintDevice,
    QPaintEngine,
    QPainter,
    QPainterPath,
    QPainterPathStroker,
    QPen,
    QPolygonF,
    QTransform,
)


@dataclass
class Op:
    """One primitive in device pixels. kind: "path" (path, pen, brush), "text" (text, font,
    at, transform) or "image" (image, target, transform). `clip` is in device pixels too."""

    kind: str
    clip: QPainterPath | None
    opacity: float
    path: QPainterPath | None = None
    pen: QPen | None = None  # non-cosmetic, width in device pixels; None: no stroke
    brush: QBrush | None = None  # None: no fill
    text: str = ""
    font: QFont | None = None
    at: QPointF | None = None  # text baseline start, in the op's own coordinates
    transform: QTransform | None = None  # own coordinates -> device pixels (text, image)
    image: QImage | None = None
    target: QRectF | None = None
    smooth: bool = False  # image drawn with smooth scaling


def _scale_of(t: QTransform) -> float:
    """Length scale of a transform (geometric mean of its axis scales)."""
    return math.sqrt(abs(t.determinant())) if t.determinant() else 0.0


def _is_similarity(t: QTransform) -> bool:
    """Uniform scale plus rotation (a circle stays a circle): stroke widths just scale."""
    a, b, c, d = t.m11(), t.m12(), t.m21(), t.m22()
    sx, sy = math.hypot(a, b), math.hypot(c, d)
    return abs(sx - sy) <= 1e-6 * max(sx, sy, 1e-12) and abs(a * c + b * d) <= 1e-6 * sx * sy


def _uniform_color(image: QImage) -> QColor | None:
    """The colour of an image that is one colour throughout, else None."""
    argb = image.convertToFormat(QImage.Format.Format_ARGB32)
    pixels = np.frombuffer(argb.constBits(), np.uint8, argb.sizeInBytes())
    rows = pixels.reshape(argb.height(), argb.bytesPerLine())[:, : argb.width() * 4]
    first = rows[:1, :4]
    if not np.array_equal(rows.reshape(-1, 4), np.broadcast_to(first, (rows.size // 4, 4))):
        return None
    return argb.pixelColor(0, 0)


class RecordingEngine(QPaintEngine):
    def __init__(self, width: int = 0, height: int = 0) -> None:
        super().__init__(QPaintEngine.PaintEngineFeature.AllFeatures)
        self.ops: list[Op] = []
        self._page = QRectF(0, 0, width, height)
        self._clip: QPainterPath | None = None  # in device pixels
        self._clip_on = False

    # ---------------------------------------------------------------- engine plumbing
    def begin(self, device: QPaintDevice) -> bool:  # noqa: ARG002 - Qt signature
        self._clip, self._clip_on = None, False
        return True

    def end(self) -> bool:
        return True

    def type(self) -> QPaintEngine.Type:
        return QPaintEngine.Type.User

    def updateState(self, state: object) -> None:  # noqa: N802 - Qt override
        """Follow the clip in device pixels as QPainter hands each change over (restore()
        replays them, each with the transform it was set under). QPainter.clipPath() is no
        substitute: it maps the clip back into the current coordinates through integer
        regions, and in a plot's data coordinates (0.3 units tall) that leaves nothing."""
        flags = state.state()  # type: ignore[attr-defined]
        dirty = QPaintEngine.DirtyFlag
        if flags & (dirty.DirtyClipPath | dirty.DirtyClipRegion):
            if flags & dirty.DirtyClipPath:
                path = QPainterPath(state.clipPath())  # type: ignore[attr-defined]
            else:
                path = QPainterPath()
                path.addRegion(state.clipRegion())  # type: ignore[attr-defined]
            device = state.transform().map(path)  # type: ignore[attr-defined]
            op = state.clipOperation()  # type: ignore[attr-defined]
            if op == Qt.ClipOperation.NoClip:
                self._clip = None
            elif op == Qt.ClipOperation.ReplaceClip or self._clip is None:
                self._clip = device
            else:
                self._clip = self._clip.intersected(device)
            self._clip_on = op != Qt.ClipOperation.NoClip
        if flags & dirty.DirtyClipEnabled:
            self._clip_on = bool(state.isClipEnabled())  # type: ignore[attr-defined]

    def _device_transform(self) -> QTransform:
        return self.painter().combinedTransform()

    def _current_clip(self) -> QPainterPath | None:
        if not self._clip_on or self._clip is None:
            return None
        if self._clip.contains(self._page):  # clips nothing away
            return None
        return self._clip

    def _clipped_away(self) -> bool:
        """Whether the clip leaves nothing to paint (an item scrolled out of its view)."""
        clip = self._current_clip()
        return clip is not None and clip.boundingRect().isEmpty()

    # ---------------------------------------------------------------- primitives
    def drawPath(self, path: QPainterPath) -> None:  # noqa: N802 - Qt override
        self._add_path(QPainterPath(path), fill=True)

    def drawPolygon(self, points: list, mode: QPaintEngine.PolygonDrawMode) -> None:  # noqa: N802
        polygon = QPolygonF([QPointF(p) for p in points])
        path = QPainterPath()
        path.addPolygon(polygon)
        polyline = mode == QPaintEngine.PolygonDrawMode.PolylineMode
        if not polyline:
            path.closeSubpath()
            if mode == QPaintEngine.PolygonDrawMode.WindingMode:
                path.setFillRule(Qt.FillRule.WindingFill)
        self._add_path(path, fill=not polyline)

    def drawLines(self, lines: list) -> None:  # noqa: N802 - Qt override
        path = QPainterPath()
        for line in lines:
            line = QLineF(line)
            path.moveTo(line.p1())
            path.lineTo(line.p2())
        self._add_path(path, fill=False)

    def drawRects(self, rects: list) -> None:  # noqa: N802 - Qt override
        path = QPainterPath()
        for r in rects:
            path.addRect(QRectF(r))
        self._add_path(path, fill=True)

    def drawEllipse(self, rect: object) -> None:  # noqa: N802 - Qt override
        path = QPainterPath()
        path.addEllipse(QRectF(rect))  # type: ignore[call-overload]
        self._add_path(path, fill=True)

    def drawPoints(self, points: list) -> None:  # noqa: N802 - Qt override
        path = QPainterPath()
        for p in points:  # a zero-length segment: the cap draws the dot
            path.moveTo(QPointF(p))
            path.lineTo(QPointF(p))
        self._add_path(path, fill=False)

    def drawTextItem(self, p: QPointF, item: object) -> None:  # noqa: N802 - Qt override
        text = item.text()  # type: ignore[attr-defined]
        if not text.strip() or self._clipped_away():
            return
        painter = self.painter()
        pen = QPen(painter.pen())
        self.ops.append(Op("text", self._current_clip(), painter.opacity(), text=text,
                           font=QFont(item.font()), at=QPointF(p),  # type: ignore[attr-defined]
                           transform=self._device_transform(),
                           brush=QBrush(pen.color())))

    def drawImage(self, r: QRectF, image: QImage, sr: QRectF,  # noqa: N802 - Qt override
                  flags: object = None) -> None:  # noqa: ARG002
        self._add_image(QRectF(r), image, QRectF(sr))

    def drawPixmap(self, r: QRectF, pm: object, sr: QRectF) -> None:  # noqa: N802
        self._add_image(QRectF(r), pm.toImage(), QRectF(sr))  # type: ignore[attr-defined]

    def drawTiledPixmap(self, r: QRectF, pm: object, s: QPointF) -> None:  # noqa: N802
        # Tiles only paint backgrounds here; a flat fill with the pixmap's mean is enough.
        image = pm.toImage().scaled(1, 1)  # type: ignore[attr-defined]
        path = QPainterPath()
        path.addRect(QRectF(r))
        self._add_path(path, fill=True, brush=QBrush(image.pixelColor(0, 0)), pen=QPen(
            Qt.PenStyle.NoPen))

    # ---------------------------------------------------------------- helpers
    def _add_image(self, r: QRectF, image: QImage, sr: QRectF) -> None:
        if image.isNull() or r.isEmpty() or self._clipped_away():
            return
        if sr.toRect() != image.rect() and not sr.isEmpty():
            image = image.copy(sr.toAlignedRect())
        color = _uniform_color(image)
        if color is not None:  # a cached background: a filled rectangle says the same
            path = QPainterPath()
            path.addRect(r)
            self._add_path(path, fill=True, brush=QBrush(color), pen=QPen(Qt.PenStyle.NoPen))
            return
        painter = self.painter()
        smooth = bool(painter.renderHints() & QPainter.RenderHint.SmoothPixmapTransform)
        self.ops.append(Op("image", self._current_clip(), painter.opacity(),
                           image=image.convertToFormat(QImage.Format.Format_ARGB32), target=r,
                           transform=self._device_transform(), smooth=smooth))

    def _add_path(self, path: QPainterPath, fill: bool, brush: QBrush | None = None,
                  pen: QPen | None = None) -> None:
        if self._clipped_away():
            return
        painter = self.painter()
        transform = self._device_transform()
        pen = QPen(painter.pen()) if pen is None else pen
        brush = QBrush(painter.brush()) if brush is None else brush
        fill_brush = brush if fill and brush.style() != Qt.BrushStyle.NoBrush else None
        stroke = pen.style() != Qt.PenStyle.NoPen and pen.brush().style() != Qt.BrushStyle.NoBrush
        clip, opacity = self._current_clip(), painter.opacity()
        device = transform.map(path)
        if fill_brush is not None:
            self.ops.append(Op("path", clip, opacity, path=device, brush=fill_brush))
        if not stroke:
            return
        cosmetic = pen.isCosmetic() or pen.widthF() == 0  # width 0 is Qt's 1 px hairline
        if cosmetic or _is_similarity(transform):
            width = pen.widthF() if cosmetic else pen.widthF() * _scale_of(transform)
            device_pen = QPen(pen)  # dashes are in units of the width: they scale with it
            device_pen.setCosmetic(False)
            device_pen.setWidthF(width if width > 0 else 1.0)
            self.ops.append(Op("path", clip, opacity, path=device, pen=device_pen))
            return
        # A scaled pen under a non-uniform transform: its outline is the exact shape.
        stroker = QPainterPathStroker(pen)
        outline = transform.map(stroker.createStroke(path))
        outline.setFillRule(Qt.FillRule.WindingFill)
        self.ops.append(Op("path", clip, opacity, path=outline, brush=QBrush(pen.brush())))


class RecordingDevice(QPaintDevice):
    """A paint device of `width` x `height` device pixels at the screen's logical dpi (so fonts
    given in points get the same pixel size as on screen)."""

    def __init__(self, width: int, height: int, dpi_x: int = 96, dpi_y: int = 96) -> None:
        super().__init__()
        self._size = (width, height)
        self._dpi = (dpi_x, dpi_y)
        self.engine = RecordingEngine(width, height)

    @property
    def ops(self) -> list[Op]:
        return self.engine.ops

    def paintEngine(self) -> QPaintEngine:  # noqa: N802 - Qt override
        return self.engine

    def metric(self, metric: QPaintDevice.PaintDeviceMetric) -> int:
        m = QPaintDevice.PaintDeviceMetric
        (w, h), (dx, dy) = self._size, self._dpi
        values = {m.PdmWidth: w, m.PdmHeight: h, m.PdmWidthMM: round(w * 25.4 / dx),
                  m.PdmHeightMM: round(h * 25.4 / dy), m.PdmNumColors: 0x7FFFFFFF,
                  m.PdmDepth: 32, m.PdmDpiX: dx, m.PdmDpiY: dy, m.PdmPhysicalDpiX: dx,
                  m.PdmPhysicalDpiY: dy, m.PdmDevicePixelRatio: 1,
                  m.PdmDevicePixelRatioScaled: int(QPaintDevice.devicePixelRatioFScale())}
        return values.get(metric, 0)
