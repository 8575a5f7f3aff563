"""Where the reader's pages come from: MuPDF renders laid-out books, plain text is cut into pages.

PDF, EPUB and the other formats MuPDF opens are shown as rendered images:
page numbers then match the book's citations exactly (``core.text.documents``
opens the file with the same ``open_document``, so reflowable books get the same
layout pages).
Plain text has no pages of its own: it is shown as the pages ``BookText``
cut it into.  Every MuPDF call holds ``MUPDF_LOCK`` (MuPDF is not
thread-safe and workers open books too); a render that finds the lock taken
returns None and the view tries again shortly.
"""

from __future__ import annotations

from pathlib import Path

import pymupdf
from PySide6.QtCore import QRectF, QSizeF
from PySide6.QtGui import QImage

from lift_reader.core.text.book import BookText
from lift_reader.core.text.documents.mupdf import MUPDF_LOCK, open_document
from lift_reader.errors import CorruptBookError

TEXT_FORMATS = frozenset({"txt"})
_PASSAGE_RUN = 5  # words searched together when a whole passage is not found as one


class MupdfPages:
    """A MuPDF document kept open while its book is shown."""

    is_image = True

    def __init__(self, path: Path, fmt: str):
        try:
            with MUPDF_LOCK:
                self._doc = open_document(path, fmt)  # as the loader opens it: the same layout pages
                self.page_count = self._doc.page_count
        except Exception as err:  # MuPDF raises several types for one cause: the file cannot be read
            raise CorruptBookError(f"{path.name} could not be opened for reading: {err}") from err

    def page_size(self, index: int) -> QSizeF:
        """Page size in points (1/72 inch)."""
        with MUPDF_LOCK:
            rect = self._doc[index].rect
        return QSizeF(rect.width, rect.height)

    def render(self, index: int, zoom: float) -> QImage | None:
        """The page at ``zoom`` pixels per point, or None if MuPDF is busy in a worker."""
        if not MUPDF_LOCK.acquire(blocking=False):
            return None
        try:
            pix = self._doc[index].get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), alpha=False)
            image = QImage(pix.samples, pix.width, pix.height, pix.stride, QImage.Format.Format_RGB888)
            return image.copy()  # own the pixels: ``pix`` is freed when this returns
        finally:
            MUPDF_LOCK.release()

    def find(self, index: int, query: str) -> list[QRectF]:
        """Rectangles (in points) where ``query`` appears on the page."""
        with MUPDF_LOCK:
            hits = self._doc[index].search_for(query)
        return [QRectF(r.x0, r.y0, r.width, r.height) for r in hits]

    def find_passage(self, index: int, passage: str) -> list[QRectF]:
        """Rectangles (in points) covering ``passage`` on the page, one per line it runs over.

        MuPDF finds a passage across line breaks; where the page's text differs
        from the book's clean text (a hyphenated word, a running head in the
        middle), runs of a few words are found one by one instead.
        """
        words = passage.split()
        hits = self.find(index, " ".join(words))
        if hits or len(words) <= _PASSAGE_RUN:
            return hits
        runs = [" ".join(words[i:i + _PASSAGE_RUN]) for i in range(0, len(words), _PASSAGE_RUN)]
        return [rect for run in runs for rect in self.find(index, run)[:1]]

    def text_in(self, index: int, rect: QRectF) -> str:
        """The text inside ``rect`` (points), for "Ask about this"."""
        clip = pymupdf.Rect(rect.left(), rect.top(), rect.right(), rect.bottom())
        with MUPDF_LOCK:
            text = self._doc[index].get_text("text", clip=clip)
        return " ".join(text.split())

    def close(self) -> None:
        with MUPDF_LOCK:
            self._doc.close()


class TextPages:
    """A plain-text book shown page by page, as ``BookText.page_starts`` cuts it."""

    is_image = False

    def __init__(self, book: BookText):
        self.book = book
        self.page_count = max(1, book.page_count)

    def span(self, index: int) -> tuple[int, int]:
        """Character range [start, end) of page ``index`` (0-based) in the book's text."""
        starts = self.book.page_starts or [0]
        start = starts[index]
        end = starts[index + 1] if index + 1 < len(starts) else len(self.book.text)
        return start, end

    def text(self, index: int) -> str:
        start, end = self.span(index)
        return self.book.text[start:end]

    def close(self) -> None:
        pass


def open_pages(path: Path, fmt: str, book: BookText | None) -> MupdfPages | TextPages | None:
    """Pages for a book; None for a text book whose BookText has not arrived yet."""
    if fmt in TEXT_FORMATS:
        return TextPages(book) if book is not None else None
    return MupdfPages(path, fmt)
