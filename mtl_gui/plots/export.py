"""Plot export to PNG and SVG.

pyqtgraph 0.14's SVGExporter fails with PySide6 6.12 (its coordinate fix-up cannot parse the
path data Qt now writes), so SVG goes through Qt's own QSvgGenerator: the plot widget renders
itself into an SVG paint device, which keeps lines and text as vectors. PNG uses the widget's
own rendering at its on-screen size (times `scale`). Both are written atomically.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, QSize
from PySide6.QtGui import QImage, QPainter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QWidget

from mtl_engine.fileio import atomic_write_bytes

EXPORT_SIZE = QSize(900, 560)  # for plots not on screen (another tab) or squeezed small


def _target(widget: QWidget) -> QWidget:
    # Our plot classes wrap a pg.PlotWidget in `.widget`; export that, not the read-out label.
    return getattr(widget, "widget", widget)


def _prepared(widget: QWidget) -> tuple[QWidget, QSize]:
    """The widget to paint and its size: on-screen size, or EXPORT_SIZE for hidden ones (a hidden
    widget keeps Qt's 100 x 30 default until shown; render() lays it out at the new size)."""
    w = _target(widget)
    if w.isVisible() and w.width() >= 300 and w.height() >= 200:
        return w, w.size()
    w.resize(EXPORT_SIZE)
    return w, EXPORT_SIZE


def render_png(widget: QWidget, scale: float = 2.0) -> bytes:
    w, size = _prepared(widget)
    image = QImage(int(size.width() * scale), int(size.height() * scale),
                   QImage.Format.Format_ARGB32)
    image.fill(0xFFFFFFFF)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.scale(scale, scale)
    w.render(painter)
    painter.end()
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buf, "PNG")
    buf.close()
    return bytes(data.data())


def render_svg(widget: QWidget, title: str = "") -> bytes:
    w, size = _prepared(widget)
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    gen = QSvgGenerator()
    gen.setOutputDevice(buf)
    gen.setSize(size)
    gen.setViewBox(QRectF(0, 0, size.width(), size.height()))
    gen.setTitle(title or "MTL Explorer plot")
    gen.setDescription("exported by MTL Explorer")
    painter = QPainter(gen)
    w.render(painter)
    painter.end()
    buf.close()
    return bytes(data.data())


def export_plot(widget: QWidget, path: str | Path) -> Path:
    """Write `widget` to `path` as PNG or SVG, chosen by the suffix."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".svg":
        atomic_write_bytes(path, render_svg(widget, path.stem))
    elif suffix == ".png":
        atomic_write_bytes(path, render_png(widget))
    else:
        raise ValueError(f"{path}: choose a .png or .svg file name")
    return path


def export_all(plots: dict[str, QWidget], folder: str | Path, prefix: str = "") -> list[Path]:
    """Every plot as both PNG and SVG into `folder`."""
    folder = Path(folder)
    out = []
    for name, widget in plots.items():
        for ext in ("png", "svg"):
            out.append(export_plot(widget, folder / f"{prefix}{name}.{ext}"))
    return out
