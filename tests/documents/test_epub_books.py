"""EPUBs written by hand in the test (mimetype, container, OPF, XHTML, nav and NCX)."""

from __future__ import annotations

import zipfile

import pytest

from lift_reader.core.text.documents import open_book
from lift_reader.errors import CorruptBookError

CHAPTERS = [
    (
        "Chapter One: The Ledger",
        [
            "The keeper opened the ledger at six and wrote down the wind, the tide and the colour of the sea. " * 6,
            "He had done so for eleven years, and the ledger had grown to nine volumes on the shelf. " * 5,
        ],
    ),
    (
        "Chapter Two: The Fog",
        ["Fog came in from the west on the third day and stayed for a week without a break. " * 12],
    ),
    (
        "Chapter Three: The Ship",
        [
            "On the eighth day a ship's bell sounded close to the rocks, and the keeper lit every lamp he had. " * 8,
            "By morning the ship lay safe in the harbour, and the keeper wrote one more line. " * 4,
        ],
    ),
]


@pytest.fixture
def ledger_epub(epub_path):
    return epub_path("ledger.epub", "The Keeper's Ledger", "Ada Lovelight", CHAPTERS)


def test_epub_text_metadata_and_format(ledger_epub):
    book = open_book(ledger_epub)
    assert book.title == "The Keeper's Ledger"
    assert book.author == "Ada Lovelight"
    assert book.format == "epub"
    assert book.text.startswith("Chapter One: The Ledger")
    # Paragraphs survive as paragraphs, unwrapped onto one line each.
    assert "\n\nHe had done so for eleven years" in book.text
    assert "sea. The keeper opened" in book.text


def test_epub_toc_points_at_chapter_headings(ledger_epub):
    book = open_book(ledger_epub)
    assert [entry.title for entry in book.toc] == [title for title, _ in CHAPTERS]
    offsets = [entry.offset for entry in book.toc]
    assert offsets == sorted(offsets)
    for entry in book.toc:
        assert book.text[entry.offset :].startswith(entry.title)
        assert book.page_at(entry.offset) == entry.page


def test_epub_pages_cover_the_text(ledger_epub):
    book = open_book(ledger_epub)
    assert book.page_starts[0] == 0
    assert book.page_starts == sorted(book.page_starts)
    assert book.page_starts[-1] < len(book.text)
    last_chapter = book.toc[-1]
    assert "Chapter Three" not in book.text_until_page(last_chapter.page - 1)
    assert "Chapter Three" in book.text_until_page(last_chapter.page)


def test_zip_that_is_not_an_epub_is_corrupt(tmp_path):
    path = tmp_path / "broken.epub"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "not an e-book")
    with pytest.raises(CorruptBookError):
        open_book(path)


def test_text_named_epub_is_corrupt(tmp_path):
    path = tmp_path / "notes.epub"
    path.write_text("just some notes, not a zip archive\n")
    with pytest.raises(CorruptBookError, match="not a valid EPUB"):
        open_book(path)
