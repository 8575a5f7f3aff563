"""MuPDF in one place: the lock every use of it holds, and how a book file is opened.

MuPDF is not thread-safe, and the app uses it from several threads at once:
workers load books and render covers while the reader draws pages on the GUI
thread.  So every use of pymupdf, in any thread, holds ``MUPDF_LOCK``; the
app's callers take it (``workers/jobs.py`` around loading a book,
``gui/covers.py``, ``gui/reader/page_sources.py``), the loader does not, so the
one-thread CLI never waits on it.

Every opening of a book goes through ``open_document``: the same call gives
reflowable books (EPUB, MOBI, FB2, HTML) the same layout pages everywhere, so
the page numbers an answer cites are the pages the reader shows.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from pathlib import Path

import pymupdf

MUPDF_LOCK = threading.Lock()


def open_document(path: Path | str, fmt: str) -> pymupdf.Document:
    """``path`` opened as ``fmt`` (a name of ``documents.sniffing``: pdf, epub, html, ...); MuPDF's own errors
    pass through (the loader turns them into a one-line ``CorruptBookError``)."""
    # For HTML the suffix tells MuPDF whether it is XHTML; otherwise name the type, the suffix may be missing.
    return pymupdf.open(path) if fmt == "html" else pymupdf.open(path, filetype=fmt)


def _route_pymupdf_output() -> None:
    """Send PyMuPDF's own diagnostics to the ``logging`` module at DEBUG level.

    By default PyMuPDF prints them to stdout: a damaged PDF's broken link
    makes it print a whole Python traceback in the middle of the CLI's
    output, although the book loads fine.  Users who set PYMUPDF_LOG or
    PYMUPDF_MESSAGE keep their choice.
    """
    logger = logging.getLogger("lift_reader.documents.pymupdf")
    for env, setter in (("PYMUPDF_LOG", "set_log"), ("PYMUPDF_MESSAGE", "set_messages")):
        if not os.environ.get(env) and hasattr(pymupdf, setter):
            with contextlib.suppress(Exception):
                getattr(pymupdf, setter)(pylogging_logger=logger, pylogging_level=logging.DEBUG)


_route_pymupdf_output()
