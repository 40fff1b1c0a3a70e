"""Plot export to PNG, SVG and PDF that shows what the screen shows.

Each plot's pyqtgraph view paints itself, through the same QWidget.render path as the screen,
into a recording device (export_record.py) that keeps every primitive in the view's pixel
coordinates with resolved stroke widths. That one recording is then
- written as plain SVG (export_svg.py): same picture in Chromium, librsvg and QSvgRenderer;
- replayed onto a QImage at any scale (PNG at screen size, 2x, or 300 dpi with the dpi stored
  in the file): lines, text and markers all scale, so a 2x PNG is the screen at twice the size;
- replayed onto a QPdfWriter (PDF, vector, the page the size of the plot).

(QGraphicsView.render, which the old PNG path called, paints the scene into the painter's whole
device: with the painter scaled 2x as well, the PNG showed the top-left quarter at double size.)

A plot on a hidden tab has never been laid out (Qt keeps its view at a stub size until it is
shown): its plot item is laid out at EXPORT_SIZE for the export and put back afterwards,
without showing anything.
pyqtgraph's export mode is on while recording, so scatter markers are vector paths, not
copies of a pixel atlas.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import (
    QBuffer,
    QByteArray,
    QEvent,
    QIODevice,
    QMarginsF,
    QRectF,
    QSize,
    QSizeF,
    Qt,
)
from PySide6.QtGui import (
    QColor,
    QImage,
    QPageLayout,
    QPageSize,
    QPainter,
    QPdfWriter,
    QPen,
    QTransform,
)
from PySide6.QtWidgets import QApplication, QGraphicsWidget, QWidget

from mtl_engine import atomic_write_bytes

from .export_record import Op, RecordingDevice
from .export_svg import png_bytes, write_svg

EXPORT_SIZE = QSize(900, 560)  # pixels a plot on a hidden tab is laid out at for export
FORMATS = ("png", "svg", "pdf")
INCH_MM = 25.4


@dataclass(frozen=True)
class PngOptions:
    """PNG resolution: `scale` times the on-screen pixels, or `dpi` (e.g. 300 for print: the
    plot's on-screen size in inches at the screen's dpi, rendered at `dpi`, which the file then
    states). `dpi` wins when both are given."""

    scale: float = 1.0
    dpi: float | None = None

    def factor(self, screen_dpi: float) -> float:
        return self.dpi / screen_dpi if self.dpi else self.scale


@dataclass
class Recording:
    ops: list[Op]
    size: QSize
    dpi: float  # the view's logical dpi: point sizes of its fonts were taken at this dpi
    background: QColor
    title: str


def plot_view(widget: QWidget) -> QWidget:
    """The pyqtgraph view of one of our plot classes (they wrap it in `.widget`, beside a
    read-out label that is not part of the picture)."""
    return getattr(widget, "widget", widget)


def _title(view: QWidget) -> str:
    item = view.getPlotItem() if hasattr(view, "getPlotItem") else None
    return str(item.titleLabel.text) if item is not None else ""


@contextmanager
def _laid_out(view: QWidget) -> Iterator[QRectF]:
    """The scene rectangle to export: on screen, what the view shows; hidden, the plot laid out
    at EXPORT_SIZE for the export (its previous geometry back afterwards). A hidden view is
    not resized: its parent's layout would put it back at once, mid-export."""
    if view.isVisible() and view.width() > 0 and view.height() > 0:
        yield view.mapToScene(view.viewport().rect()).boundingRect()
        return
    item = getattr(view, "centralWidget", None)  # pyqtgraph's GraphicsView: the PlotItem
    if item is None:
        yield QRectF(0, 0, EXPORT_SIZE.width(), EXPORT_SIZE.height())
        return
    old = item.geometry()
    _set_geometry(view, item, QRectF(0, 0, EXPORT_SIZE.width(), EXPORT_SIZE.height()))
    try:
        yield item.geometry()
    finally:
        _set_geometry(view, item, old)


def _set_geometry(view: QWidget, item: QGraphicsWidget, rect: QRectF) -> None:
    """Resize the plot item and lay out every layout of its scene now, not when the event loop
    next runs: a legend that reflows into other rows changes its own height, which lays its
    parent out again, hence the rounds."""
    item.setGeometry(rect)
    for _ in range(3):
        QApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
        for it in view.scene().items():
            # pyqtgraph items shadow QGraphicsWidget.layout() with an attribute; ask Qt's.
            layout = QGraphicsWidget.layout(it) if isinstance(it, QGraphicsWidget) else None
            if layout is not None:
                layout.activate()


@contextmanager
def _export_mode(widget: QWidget, view: QWidget) -> Iterator[None]:
    """pyqtgraph's export mode (markers as paths, antialiased curves) and an antialiased view,
    without what only the mouse put there (the hover cursor line, the auto-range button of a
    plot right-clicked for "Export plot…"); all as it was afterwards."""
    scene = view.scene() if hasattr(view, "scene") else None
    items = [i for i in scene.items() if hasattr(i, "setExportMode")] if scene else []
    opts = {"antialias": True, "resolutionScale": 1.0}
    hints = view.renderHints() if hasattr(view, "renderHints") else None
    transient = [getattr(widget, "vline", None)]
    transient += [getattr(i, "autoBtn", None) for i in items]
    shown = [t for t in transient if t is not None and t.isVisible()]
    for item in items:
        item.setExportMode(True, opts)
    for mark in shown:
        mark.hide()
    if hints is not None:
        view.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    try:
        yield
    finally:
        for item in items:
            item.setExportMode(False)
        for mark in shown:
            mark.show()
        if hints is not None:
            view.setRenderHints(hints)


def record(widget: QWidget) -> Recording:
    """What `widget`'s plot paints, as vector primitives in its pixels."""
    view = plot_view(widget)
    background = view.backgroundBrush().color() if hasattr(view, "backgroundBrush") else None
    if background is None or background.alpha() == 0:
        background = QColor("white")
    with _laid_out(view) as source, _export_mode(widget, view):
        size = QSize(round(source.width()), round(source.height()))
        target = QRectF(0, 0, size.width(), size.height())
        device = RecordingDevice(size.width(), size.height(), view.logicalDpiX(),
                                 view.logicalDpiY())
        painter = QPainter(device)
        painter.fillRect(target, background)
        # The scene, not QGraphicsView.render (which maps it onto the painter's whole device)
        # nor QWidget.render (which paints a hidden view at the stub size its layout gives).
        view.scene().render(painter, target, source)
        painter.end()
    return Recording(device.ops, size, float(view.logicalDpiY()), background, _title(view))


def replay(rec: Recording, painter: QPainter, scale: float) -> None:
    """Paint a recording with `painter`, `scale` device units per recorded pixel."""
    base = QTransform.fromScale(scale, scale)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
    for op in rec.ops:
        painter.save()
        painter.setOpacity(op.opacity)
        painter.setTransform(base)
        if op.clip is not None:
            painter.setClipPath(op.clip)
        if op.kind == "path":
            painter.setPen(op.pen if op.pen is not None else QPen(Qt.PenStyle.NoPen))
            painter.setBrush(op.brush if op.brush is not None else Qt.BrushStyle.NoBrush)
            painter.drawPath(op.path)
        elif op.kind == "text":
            painter.setTransform(op.transform * base)
            painter.setFont(op.font)
            painter.setPen(QPen(op.brush.color() if op.brush is not None else QColor("black")))
            painter.drawText(op.at, op.text)
        else:
            painter.setTransform(op.transform * base)
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, op.smooth)
            painter.drawImage(op.target, op.image)
        painter.restore()


def _dots_per_meter(dpi: float) -> int:
    return round(dpi / INCH_MM * 1000.0)


def png_image(rec: Recording, png: PngOptions = PngOptions()) -> QImage:
    factor = png.factor(rec.dpi)
    w, h = max(1, round(rec.size.width() * factor)), max(1, round(rec.size.height() * factor))
    image = QImage(w, h, QImage.Format.Format_ARGB32)
    # Fonts in points are converted at the image's dpi: the recorded one, so text keeps its
    # on-screen size relative to the plot; the file states the chosen dpi afterwards.
    image.setDotsPerMeterX(_dots_per_meter(rec.dpi))
    image.setDotsPerMeterY(_dots_per_meter(rec.dpi))
    image.fill(rec.background)
    painter = QPainter(image)
    replay(rec, painter, factor)
    painter.end()
    out_dpi = png.dpi if png.dpi else rec.dpi * factor
    image.setDotsPerMeterX(_dots_per_meter(out_dpi))
    image.setDotsPerMeterY(_dots_per_meter(out_dpi))
    return image


def render_png(widget: QWidget, png: PngOptions = PngOptions()) -> bytes:
    return png_bytes(png_image(record(widget), png))


def render_svg(widget: QWidget, title: str = "") -> bytes:
    rec = record(widget)
    return write_svg(rec.ops, rec.size, title or rec.title or "MTL Explorer plot", rec.dpi)


def render_pdf(widget: QWidget, title: str = "") -> bytes:
    """One page exactly the plot's size (its on-screen inches), drawn as vectors."""
    rec = record(widget)
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QPdfWriter(buf)
    writer.setTitle(title or rec.title or "MTL Explorer plot")
    writer.setCreator("MTL Explorer")
    writer.setResolution(round(rec.dpi))  # one PDF device unit = one recorded pixel
    points = QSizeF(rec.size.width() * 72.0 / rec.dpi, rec.size.height() * 72.0 / rec.dpi)
    writer.setPageLayout(QPageLayout(QPageSize(points, QPageSize.Unit.Point, "plot",
                                               QPageSize.SizeMatchPolicy.ExactMatch),
                                     QPageLayout.Orientation.Portrait, QMarginsF(0, 0, 0, 0)))
    painter = QPainter(writer)
    painter.fillRect(0, 0, rec.size.width(), rec.size.height(), rec.background)
    replay(rec, painter, writer.resolution() / rec.dpi)
    painter.end()
    buf.close()
    return bytes(data.data())


def refresh_from_histories(widget: QWidget) -> None:
    """Draw every plot of `widget`'s plot area from the current run histories. The area
    redraws the visible plots from a timer and hidden ones not at all, so a plot on a hidden
    tab may never have drawn the run it is asked to export."""
    parent = widget.parentWidget()
    while parent is not None:
        refresh_all = getattr(parent, "refresh_all", None)
        if callable(refresh_all):
            refresh_all()
            return
        parent = parent.parentWidget()


def export_plot(widget: QWidget, path: str | Path, png: PngOptions = PngOptions(),
                refresh: bool = True) -> Path:
    """Write `widget`'s plot to `path` as PNG, SVG or PDF, chosen by the suffix (after drawing
    it from the current histories, unless `refresh` is False)."""
    path = Path(path)
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise ValueError(f"{path}: choose a .png, .svg or .pdf file name")
    if refresh:
        refresh_from_histories(widget)
    if suffix == "png":
        data = render_png(widget, png)
    elif suffix == "svg":
        data = render_svg(widget, path.stem)
    else:
        data = render_pdf(widget, path.stem)
    atomic_write_bytes(path, data)
    return path


def export_all(plots: dict[str, QWidget], folder: str | Path, prefix: str = "",
               formats: tuple[str, ...] = ("png", "svg"),
               png: PngOptions = PngOptions()) -> list[Path]:
    """Every plot in each of `formats` into `folder`, named after its key in `plots`."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"formats: {unknown[0]!r} is not one of {', '.join(FORMATS)}")
    folder = Path(folder)
    for widget in list(plots.values())[:1]:  # one plot area: one redraw for all
        refresh_from_histories(widget)
    out = []
    for name, widget in plots.items():
        for ext in formats:
            out.append(export_plot(widget, folder / f"{prefix}{name}.{ext}", png, refresh=False))
    return out
