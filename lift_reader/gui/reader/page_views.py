"""The two ways a page is shown: a rendered image (MuPDF) or a page of plain text.

Both offer "Ask about this" for a selected passage: the text view on its own
context menu, the image view in a small menu where a dragged selection ends.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRectF, Qt, Signal
from PySide6.QtGui import (
    QContextMenuEvent, QFont, QGuiApplication, QImage, QPalette, QResizeEvent, QTextCharFormat, QTextCursor,
)
from PySide6.QtWidgets import QMenu, QScrollArea, QTextBrowser, QTextEdit, QWidget

from lift_reader.gui.reader.page_canvas import PageCanvas
from lift_reader.gui.reader.page_sources import MupdfPages

ASK_ABOUT_THIS = "Ask about this"
_TEXT_POINT_SIZE = 12.5


class ImagePageView(QScrollArea):
    """A rendered page in a scroll area, centred, with drag-to-select."""

    ask_about = Signal(str)
    resized = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.canvas = PageCanvas()
        self.canvas.selection_made.connect(self._on_selection_made)
        self.setWidget(self.canvas)
        self.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.setBackgroundRole(QPalette.ColorRole.Dark)
        self.pages: MupdfPages | None = None
        self.page_index = 0
        self.selection_menu: QMenu | None = None

    def show_page(self, pages: MupdfPages, index: int, image: QImage, zoom: float) -> None:
        new_page = (pages, index) != (self.pages, self.page_index)
        self.pages, self.page_index = pages, index
        self.canvas.set_page(image, zoom)
        if new_page:
            self.verticalScrollBar().setValue(0)

    def reveal(self, point: QPoint | None) -> None:
        if point is not None:
            self.ensureVisible(point.x(), point.y(), 50, 120)

    def selected_text(self, rect: QRectF) -> str:
        return self.pages.text_in(self.page_index, rect) if self.pages is not None else ""

    def _on_selection_made(self, rect: QRectF, where: QPoint) -> None:
        text = self.selected_text(rect)
        if not text:
            self.canvas.clear_selection()
            return
        menu = QMenu(self)
        menu.addAction(ASK_ABOUT_THIS, lambda: self.ask_about.emit(text))
        menu.addAction("Copy", lambda: QGuiApplication.clipboard().setText(text))
        menu.aboutToHide.connect(self.canvas.clear_selection)
        self.selection_menu = menu  # kept for tests; popup() does not block
        menu.popup(where)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.resized.emit()


class TextPageView(QTextBrowser):
    """One page of a plain-text book, in a reading font."""

    ask_about = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setOpenLinks(False)
        self.document().setDocumentMargin(32)
        self._zoom = 1.0
        self._apply_font()

    def set_zoom(self, zoom: float) -> None:
        self._zoom = zoom
        self._apply_font()

    def _apply_font(self) -> None:
        font = QFont("Serif")
        font.setStyleHint(QFont.StyleHint.Serif)
        font.setPointSizeF(_TEXT_POINT_SIZE * self._zoom)
        self.document().setDefaultFont(font)

    def show_text(self, text: str) -> None:
        self.setPlainText(text)
        self.verticalScrollBar().setValue(0)

    def highlight(self, spans: list[tuple[int, int]], current: int = -1) -> None:
        """Mark matches (character offsets within the page); select and reveal ``current``."""
        marks = []
        fmt = QTextCharFormat()
        fmt.setBackground(Qt.GlobalColor.yellow)
        fmt.setForeground(Qt.GlobalColor.black)
        for start, end in spans:
            cursor = QTextCursor(self.document())
            cursor.setPosition(start)
            cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
            selection = QTextEdit.ExtraSelection()
            selection.cursor, selection.format = cursor, fmt
            marks.append(selection)
        self.setExtraSelections(marks)
        if 0 <= current < len(spans):
            cursor = QTextCursor(self.document())
            cursor.setPosition(spans[current][0])
            cursor.setPosition(spans[current][1], QTextCursor.MoveMode.KeepAnchor)
            self.setTextCursor(cursor)
            self.ensureCursorVisible()

    def selected_text(self) -> str:
        return " ".join(self.textCursor().selectedText().replace("\u2029", " ").split())

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        menu = self.createStandardContextMenu(event.pos())
        text = self.selected_text()
        if text:
            first = menu.actions()[0] if menu.actions() else None
            action = menu.addAction(ASK_ABOUT_THIS)
            action.triggered.connect(lambda: self.ask_about.emit(text))
            if first is not None:
                menu.insertAction(first, action)
                menu.insertSeparator(first)
        menu.popup(event.globalPos())
