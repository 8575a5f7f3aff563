"""Cover thumbnails for the library list.

A laid-out book's cover is its first page, rendered small by MuPDF in a
worker (EPUBs are laid out on open, which can take a moment); a plain-text
book gets a generated cover with its title.  Covers are kept as PNG files
under the data folder so the library appears at once next time.
"""

from __future__ import annotations

from pathlib import Path

import pymupdf
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter

from lift_reader.core.text.documents.mupdf import MUPDF_LOCK, open_document
from lift_reader.gui.reader.page_sources import TEXT_FORMATS
from lift_reader.store.paths import cache_dir
from lift_reader.store.records import BookRecord

COVER_WIDTH, COVER_HEIGHT = 60, 84  # pixels: a book's proportions, twice the list's icon size


def cover_cache_path(content_hash: str) -> Path:
    return cache_dir("covers") / f"{content_hash}.png"


def cached_cover(record: BookRecord) -> QImage | None:
    path = cover_cache_path(record.content_hash)
    image = QImage(str(path)) if path.is_file() else QImage()
    return None if image.isNull() else image


def render_cover(record: BookRecord) -> QImage:
    """The first page, scaled to cover size, saved to the cache (runs in a worker)."""
    with MUPDF_LOCK:
        with open_document(record.path, record.format) as doc:
            page = doc[0]
            zoom = min(COVER_WIDTH * 2 / page.rect.width, COVER_HEIGHT * 2 / page.rect.height)
            pix = page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), alpha=False)
            image = QImage(pix.samples, pix.width, pix.height, pix.stride, QImage.Format.Format_RGB888).copy()
    image.save(str(cover_cache_path(record.content_hash)), "PNG")
    return image


def placeholder_cover(title: str, *, seed: str = "") -> QImage:
    """A plain cover: a colour picked from the book's hash, and its title."""
    image = QImage(COVER_WIDTH * 2, COVER_HEIGHT * 2, QImage.Format.Format_RGB32)
    hue = int(seed[:4] or "0", 16) % 360 if seed else 210
    image.fill(QColor.fromHsv(hue, 90, 150))
    painter = QPainter(image)
    painter.setPen(QColor(255, 255, 255))
    font = QFont()
    font.setPixelSize(17)
    font.setBold(True)
    painter.setFont(font)
    box = QRect(10, 14, image.width() - 20, image.height() - 28)
    painter.drawText(box, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap,
                     title[:60])
    painter.fillRect(QRect(10, image.height() - 12, image.width() - 20, 2), QColor(255, 255, 255, 160))
    painter.end()
    return image


def needs_rendering(record: BookRecord) -> bool:
    return record.format not in TEXT_FORMATS
