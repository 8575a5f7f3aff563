"""One rendered page: the image, find highlights over it, and a drag-to-select rectangle.

A rendered page has no text layer to select, so selection is a rectangle:
the reader drags over a passage, and the page source extracts the words
inside it (``MupdfPages.text_in``).  Coordinates cross this boundary in page
points; the canvas alone knows the zoom.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

_HIGHLIGHT = QColor(255, 214, 0, 90)
_CURRENT_HIGHLIGHT = QColor(255, 140, 0, 130)
_MIN_DRAG_PX = 6


class PageCanvas(QWidget):
    """Paints one page image; reports a dragged selection in page points."""

    selection_made = Signal(QRectF, QPoint)  # the rectangle in points, where the mouse let go (global)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._image: QImage | None = None
        self._zoom = 1.0
        self._highlights: list[QRectF] = []
        self._current = -1
        self._drag_from: QPointF | None = None
        self._drag_rect = QRectF()
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.setCursor(Qt.CursorShape.IBeamCursor)

    def set_page(self, image: QImage, zoom: float) -> None:
        """Show ``image`` rendered at ``zoom`` device pixels per point."""
        self._image, self._zoom = image, zoom
        self._drag_rect = QRectF()
        self.setFixedSize(self.sizeHint())
        self.update()

    def set_highlights(self, rects: list[QRectF], current: int = -1) -> None:
        self._highlights, self._current = rects, current
        self.update()

    def highlight_center(self, index: int) -> QPoint | None:
        """Where match ``index`` is drawn, in widget pixels (to scroll it into view)."""
        if 0 <= index < len(self._highlights):
            return self._to_widget(self._highlights[index]).center().toPoint()
        return None

    def sizeHint(self) -> QSize:
        if self._image is None:
            return QSize(1, 1)
        ratio = self._image.devicePixelRatio()
        return QSize(round(self._image.width() / ratio), round(self._image.height() / ratio))

    # Points <-> widget pixels.  The image is zoom * dpr pixels per point and
    # carries its dpr, so one point is ``zoom`` logical pixels.
    def _to_widget(self, rect: QRectF) -> QRectF:
        z = self._zoom
        return QRectF(rect.x() * z, rect.y() * z, rect.width() * z, rect.height() * z)

    def _to_points(self, rect: QRectF) -> QRectF:
        z = self._zoom or 1.0
        return QRectF(rect.x() / z, rect.y() / z, rect.width() / z, rect.height() / z)

    def paintEvent(self, event: QPaintEvent) -> None:
        if self._image is None:
            return
        painter = QPainter(self)
        painter.drawImage(QPoint(0, 0), self._image)
        for i, rect in enumerate(self._highlights):
            painter.fillRect(self._to_widget(rect), _CURRENT_HIGHLIGHT if i == self._current else _HIGHLIGHT)
        if not self._drag_rect.isNull():
            accent = self.palette().highlight().color()
            fill = QColor(accent)
            fill.setAlpha(50)
            painter.setPen(QPen(accent, 1, Qt.PenStyle.DashLine))
            painter.setBrush(fill)
            painter.drawRect(self._drag_rect)
        painter.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._drag_from = event.position()
            self._drag_rect = QRectF()
            self.update()
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._drag_from is not None:
            self._drag_rect = QRectF(self._drag_from, event.position()).normalized()
            self.update()
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._drag_from is not None and event.button() == Qt.MouseButton.LeftButton:
            self._drag_from = None
            rect = self._drag_rect
            if rect.width() >= _MIN_DRAG_PX and rect.height() >= _MIN_DRAG_PX:
                self.selection_made.emit(self._to_points(rect), event.globalPosition().toPoint())
            else:
                self.clear_selection()
        super().mouseReleaseEvent(event)

    def clear_selection(self) -> None:
        self._drag_rect = QRectF()
        self.update()
