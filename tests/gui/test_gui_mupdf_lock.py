"""One MuPDF lock (core/text/documents/mupdf.py) for every thread: book loading in workers, covers and the
reader open books through ``open_document`` while holding it."""

from __future__ import annotations

from pathlib import Path

import pymupdf

from lift_reader.core.text.documents import mupdf
from lift_reader.gui.covers import render_cover
from lift_reader.gui.reader.page_sources import MupdfPages
from lift_reader.workers import jobs


def test_every_opening_of_a_book_holds_the_one_mupdf_lock(session, sample_pdf, monkeypatch):
    real_open = pymupdf.open
    held: dict[str, list[bool]] = {}
    opener = ["loader"]

    def watched_open(*args, **kwargs):
        held.setdefault(opener[0], []).append(mupdf.MUPDF_LOCK.locked())
        return real_open(*args, **kwargs)

    monkeypatch.setattr(pymupdf, "open", watched_open)
    record = jobs.add_book(session, sample_pdf)  # the worker's call, made here in the test's thread
    opener[0] = "cover"
    render_cover(record)
    opener[0] = "reader"
    MupdfPages(Path(record.path), record.format).close()
    assert held == {"loader": [True] * len(held["loader"]), "cover": [True], "reader": [True]}
    assert not mupdf.MUPDF_LOCK.locked()


def test_the_reader_waits_while_a_worker_holds_mupdf(sample_pdf):
    pages = MupdfPages(sample_pdf, "pdf")
    try:
        with mupdf.MUPDF_LOCK:  # a worker loading a book or rendering a cover
            assert pages.render(0, 0.5) is None  # the view tries again shortly
        assert not pages.render(0, 0.5).isNull()
    finally:
        pages.close()
