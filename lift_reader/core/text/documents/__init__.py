"""Book files to ``BookText``: one entry point, ``open_book``.

The suffix says what the reader means the file to be; the first bytes say
what it is.  When they disagree we say so in one line instead of letting a
parser fail somewhere deep inside.
"""

from __future__ import annotations

import os
from pathlib import Path

from lift_reader.core.text.book import BookText
from lift_reader.core.text.documents.containers import check_zip_book
from lift_reader.core.text.documents.pymupdf_loader import FORMAT_NAMES, load_pymupdf_book
from lift_reader.core.text.documents.sniffing import HEAD_BYTES, describe, sniff
from lift_reader.core.text.documents.text_loader import load_text_book
from lift_reader.errors import (
    BadInputError,
    BookError,
    BookTooLargeError,
    CorruptBookError,
    EmptyBookError,
    NotFoundError,
    UnsupportedFormatError,
)

__all__ = ["DEFAULT_MAX_BYTES", "MAX_TEXT_CHARS", "SUPPORTED_SUFFIXES", "open_book"]

DEFAULT_MAX_BYTES = 512 * 1024 * 1024
MAX_TEXT_CHARS = 50_000_000  # ~ 12M tokens: far beyond what a reader would memorize in one go

_FORMAT_BY_SUFFIX = {
    ".pdf": "pdf",
    ".epub": "epub",
    ".mobi": "mobi",
    ".fb2": "fb2",
    ".xps": "xps",
    ".oxps": "xps",
    ".cbz": "cbz",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".txt": "txt",
    ".text": "txt",
    ".md": "txt",
    ".markdown": "txt",
}
SUPPORTED_SUFFIXES: frozenset[str] = frozenset(_FORMAT_BY_SUFFIX)

# What the first bytes must look like for each format (None: anything textual MuPDF may parse).
_EXPECTED_KIND = {"pdf": "pdf", "epub": "zip", "xps": "zip", "cbz": "zip", "mobi": "mobi"}


def open_book(
    path: str | os.PathLike[str],
    password: str | None = None,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_chars: int = MAX_TEXT_CHARS,
) -> BookText:
    """Read a book file into clean text with pages, table of contents and metadata.

    Raises a ``BookError`` subclass with a one-line message for every problem
    a reader can meet (unsupported, corrupt, empty, scanned, too large,
    password needed or wrong), and ``NotFoundError`` for a missing file.
    """
    path = Path(path)
    try:
        return _open_book(path, password, max_bytes=max_bytes, max_chars=max_chars)
    except BadInputError as err:
        # Messages name the file, and a file name may hold a line break or a
        # terminal escape: the one-line promise must hold whatever the name.
        message = _printable(str(err))
        if message != str(err):
            err.args = (message, *err.args[1:])
        raise


def _printable(message: str) -> str:
    """Control characters and lone surrogates written as escapes (``\\n``, ``\\udce9``)."""
    if message.isprintable():
        return message
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in message)


def _open_book(path: Path, password: str | None, *, max_bytes: int, max_chars: int) -> BookText:
    data_head = _read_head(path, max_bytes)
    kind = sniff(data_head)
    fmt = _choose_format(path, kind, data_head)
    expected = _EXPECTED_KIND.get(fmt)
    if expected is not None and kind != expected:
        raise CorruptBookError(f"{path.name} is not a valid {FORMAT_NAMES[fmt]} file (it looks like {describe(kind)}).")
    if fmt == "txt":
        return load_text_book(path, _read_all(path), max_chars=max_chars)
    if kind == "zip":
        check_zip_book(path, FORMAT_NAMES[fmt], max_bytes=max_bytes)
    return load_pymupdf_book(path, fmt, password, max_chars=max_chars)


def _read_head(path: Path, max_bytes: int) -> bytes:
    try:
        if path.is_dir():
            raise UnsupportedFormatError(f"{path.name} is a folder, not a book file.")
        size = path.stat().st_size
        if size > max_bytes:
            raise BookTooLargeError(
                f"{path.name} is {size / 2**20:,.0f} MB; books up to {max_bytes / 2**20:,.0f} MB can be opened."
            )
        if size == 0:
            raise EmptyBookError(f"{path.name} is empty.")
        with path.open("rb") as handle:
            return handle.read(HEAD_BYTES)
    except FileNotFoundError as err:
        raise NotFoundError(f"No such file: {path}") from err
    except OSError as err:
        raise BookError(f"{path.name} could not be read: {err.strerror or err}.") from err


def _read_all(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise BookError(f"{path.name} could not be read: {err.strerror or err}.") from err


def _choose_format(path: Path, kind: str, head: bytes) -> str:
    suffix = path.suffix.lower()
    fmt = _FORMAT_BY_SUFFIX.get(suffix)
    if fmt is not None:
        return fmt
    if suffix and not _looks_like_version(suffix):
        supported = ", ".join(sorted(SUPPORTED_SUFFIXES))
        raise UnsupportedFormatError(f"{path.name}: {suffix} files are not supported (supported: {supported}).")
    # No suffix (README, LICENSE, "book.v2"): trust the content.
    if kind == "zip" and b"application/epub+zip" in head[:200]:
        return "epub"
    if kind == "xml" and b"<fictionbook" in head[:1024].lower():
        return "fb2"
    by_kind = {"pdf": "pdf", "mobi": "mobi", "html": "html", "text": "txt"}
    if kind in by_kind:
        return by_kind[kind]
    raise UnsupportedFormatError(f"{path.name} has no file type suffix and looks like {describe(kind)}.")


def _looks_like_version(suffix: str) -> bool:
    """'.1', '.v2': a dotted name rather than a file type."""
    return suffix[1:].isdigit() or (suffix[1:2] == "v" and suffix[2:].isdigit())
