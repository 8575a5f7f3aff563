"""Books MuPDF opens: PDF, XPS, CBZ (fixed layout) and EPUB, MOBI, FB2, HTML (reflowable).

Reflowable books have no printed pages; MuPDF lays them out on its default
page size, and those layout pages are the page numbers we cite (the same
numbers its outline uses for the table of contents).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import pymupdf

from lift_reader.core.text.book import BookText
from lift_reader.core.text.documents.cleaning import clean_pages
from lift_reader.core.text.documents.layout import Line, page_lines
from lift_reader.core.text.documents.mupdf import open_document
from lift_reader.core.text.documents.pagination import join_pages
from lift_reader.core.text.documents.paragraphs import layout_text
from lift_reader.core.text.documents.titles import clean_author, clean_title, title_from_path, title_from_type_size
from lift_reader.core.text.documents.toc import toc_from_outline
from lift_reader.errors import (
    BookError,
    BookTooLargeError,
    CorruptBookError,
    EmptyBookError,
    PasswordRequiredError,
    ScannedBookError,
)

FORMAT_NAMES = {"pdf": "PDF", "xps": "XPS", "cbz": "CBZ", "epub": "EPUB", "mobi": "MOBI", "fb2": "FB2", "html": "HTML"}
# Whitespace preserved (MuPDF otherwise may drop spaces it considers layout);
# text outside the page box is invisible to a reader, so it is clipped; no
# images (we only want text, and image data would make "dict" slow).
_TEXT_FLAGS = pymupdf.TEXT_PRESERVE_WHITESPACE | pymupdf.TEXT_MEDIABOX_CLIP
_PICTURE_CHECK_PAGES = 10
# MuPDF lays out a reflowable book one chapter file at a time, and reading
# one page costs time in proportion to its whole chapter: a book that is one
# giant paragraph (a few MB of text in one file) takes hours.  After a few
# seconds of reading we project the total and refuse a book that would take
# longer than this, instead of seeming to hang.
EXTRACT_BUDGET_S = 600.0
_PROJECT_AFTER_S = 5.0


def load_pymupdf_book(path: Path, fmt: str, password: str | None, *, max_chars: int) -> BookText:
    """Open ``path`` (already sniffed as ``fmt``) and turn it into a BookText."""
    doc = _open(path, fmt)
    try:
        # MuPDF parses lazily: a damaged file may only fail when its pages are
        # counted or laid out (an EPUB with a broken deflate stream, a PDF
        # with a bad object), so every call on ``doc`` is guarded.
        with _mupdf_errors(path, fmt):
            if fmt == "pdf":
                _check_complete(path, doc)
            _unlock(doc, path, password)
            page_count = doc.page_count  # not free for reflowable books: ask once
            fixed_layout = not doc.is_reflowable
        if page_count == 0:
            raise EmptyBookError(f"{path.name} has no pages.")
        raw_pages, title_lines = _extract_pages(doc, path, page_count, fixed_layout, max_chars)
        if not any(page.strip() for page in raw_pages):
            with _mupdf_errors(path, fmt):
                pictures = fixed_layout and _has_pictures(doc, page_count)
            if pictures:
                raise ScannedBookError(
                    f"{path.name} looks scanned; no text to memorize (its pages are images without a text layer; "
                    "run OCR on it first)."
                )
            raise EmptyBookError(f"{path.name} contains no text.")
        pages, vocabulary = clean_pages(raw_pages, fixed_layout=fixed_layout)
        text, page_starts = join_pages(pages, vocabulary)
        if not text.strip():
            raise EmptyBookError(f"{path.name} contains no text besides page furniture and boilerplate.")
        toc = toc_from_outline(_outline(doc), text, page_starts)
        metadata = _metadata(doc)
    finally:
        with contextlib.suppress(Exception):
            doc.close()
    title = clean_title(metadata.get("title")) or title_from_type_size(title_lines) or title_from_path(path)
    return BookText(
        text=text,
        page_starts=page_starts,
        title=title,
        author=clean_author(metadata.get("author")),
        toc=toc,
        source_path=path,
        format=fmt,
    )


def _open(path: Path, fmt: str) -> pymupdf.Document:
    try:
        return open_document(path, fmt)
    except Exception as err:  # MuPDF raises FileDataError, RuntimeError, ValueError...
        detail = _one_line(err)
        if detail.startswith("Failed to open file"):  # MuPDF's own words only repeat the path and the type
            detail = "the file is damaged or in another format"
        raise CorruptBookError(f"{path.name} could not be opened as {FORMAT_NAMES[fmt]}: {detail}") from err


@contextlib.contextmanager
def _mupdf_errors(path: Path, fmt: str) -> Iterator[None]:
    """Any MuPDF failure inside the block becomes a one-line CorruptBookError."""
    try:
        yield
    except BookError:
        raise
    except OSError as err:  # the file went away or became unreadable while we read it
        raise BookError(f"{path.name} could not be read: {err.strerror or _one_line(err)}.") from err
    except Exception as err:  # MuPDF raises FileDataError, RuntimeError, ValueError...
        name = FORMAT_NAMES[fmt]
        raise CorruptBookError(f"{path.name} is damaged and cannot be read as {name}: {_one_line(err)}") from err


def _one_line(err: Exception) -> str:
    lines = str(err).strip().splitlines()
    return lines[0][:200] if lines else type(err).__name__


def _check_complete(path: Path, doc: pymupdf.Document) -> None:
    """A PDF that MuPDF had to repair and that lacks its closing %%EOF was cut short."""
    with path.open("rb") as handle:
        handle.seek(max(0, path.stat().st_size - 4096))
        tail = handle.read()
    if doc.is_repaired and b"%%EOF" not in tail:
        raise CorruptBookError(f"{path.name} is damaged or incomplete (was the download cut short?).")


def _unlock(doc: pymupdf.Document, path: Path, password: str | None) -> None:
    if not doc.needs_pass:
        return
    if not password:
        raise PasswordRequiredError(f"{path.name} is password-protected; enter its password to open it.")
    if not doc.authenticate(password):
        raise PasswordRequiredError(f"The password for {path.name} is wrong.", wrong_password=True)


def _extract_pages(
    doc: pymupdf.Document, path: Path, page_count: int, fixed_layout: bool, max_chars: int
) -> tuple[list[str], list[Line]]:
    """Raw per-page texts, and the lines of the first page with text (for a title guess)."""
    pages: list[str] = []
    title_lines: list[Line] = []
    total = 0
    started = time.monotonic()
    for number in range(page_count):
        try:
            page = doc.load_page(number)
            lines = page_lines(page.get_text("dict", flags=_TEXT_FLAGS))
            text = layout_text(lines, page.rect.width, page.rect.height, fixed_layout=fixed_layout)
        except Exception as err:
            raise CorruptBookError(f"{path.name}: page {number + 1} could not be read ({_one_line(err)}).") from err
        if not title_lines and len(lines) >= 3:
            title_lines = lines
        total += len(text)
        if total > max_chars:
            raise BookTooLargeError(
                f"{path.name} holds more than {max_chars:,} characters of text; that is too long to memorize."
            )
        pages.append(text)
        _check_pace(path, started, number + 1, page_count)
    return pages, title_lines


def _check_pace(path: Path, started: float, done: int, page_count: int) -> None:
    """BookTooLargeError when reading all pages at this pace would take far too long."""
    elapsed = time.monotonic() - started
    if elapsed < _PROJECT_AFTER_S or done >= page_count:
        return
    projected = elapsed / done * page_count
    if projected > EXTRACT_BUDGET_S:
        raise BookTooLargeError(
            f"{path.name} would take about {projected / 60:,.0f} minutes to read ({page_count:,} pages at "
            f"{elapsed / done:.1f} s each: its chapters are extremely long); convert it to text first."
        )


def _has_pictures(doc: pymupdf.Document, page_count: int) -> bool:
    """Images or vector drawings (text turned into outlines) on the first pages."""
    for number in range(min(page_count, _PICTURE_CHECK_PAGES)):
        page = doc.load_page(number)
        if page.get_image_info() or page.get_drawings():
            return True
    return False


def _metadata(doc: pymupdf.Document) -> dict:
    try:
        return doc.metadata or {}
    except Exception:  # damaged metadata should not cost the reader the book either
        return {}


def _outline(doc: pymupdf.Document) -> list[list]:
    try:
        return doc.get_toc(simple=True)
    except Exception:  # a broken outline should not cost the reader the book
        return []
