"""The other formats MuPDF reads: HTML, FB2 and CBZ (comic archives are pictures only)."""

from __future__ import annotations

import zipfile

import pymupdf
import pytest

from lift_reader.core.text.documents import open_book
from lift_reader.errors import ScannedBookError

HTML = (
    "<html><head><title>The Keeper's Page</title></head><body><h1>The Keeper</h1>"
    "<p>The keeper opened the ledger at six and wrote down the wind.</p>"
    "<p>Second paragraph of the page.</p></body></html>"
)

FB2 = """<?xml version="1.0" encoding="utf-8"?>
<FictionBook xmlns="http://www.gribuser.ru/xml/fictionbook/2.0"><description><title-info>
<author><first-name>Ada</first-name><last-name>Lovelight</last-name></author>
<book-title>The Keeper's Ledger</book-title><lang>en</lang></title-info></description>
<body><section><title><p>Chapter One</p></title><p>The keeper opened the ledger at six.</p></section>
<section><title><p>Chapter Two</p></title><p>Fog came in from the west.</p></section></body></FictionBook>
"""


@pytest.mark.parametrize("suffix", [".html", ".htm", ".xhtml"])
def test_html(tmp_path, suffix):
    path = tmp_path / f"page{suffix}"
    path.write_text(HTML)
    book = open_book(path)
    assert book.format == "html"
    assert book.title == "The Keeper's Page"
    assert book.text == (
        "The Keeper\n\nThe keeper opened the ledger at six and wrote down the wind.\n\nSecond paragraph of the page."
    )


def test_fb2(tmp_path):
    path = tmp_path / "ledger.fb2"
    path.write_text(FB2)
    book = open_book(path)
    assert (book.title, book.author, book.format) == ("The Keeper's Ledger", "Ada Lovelight", "fb2")
    assert [entry.title for entry in book.toc] == ["Chapter One", "Chapter Two"]
    assert book.text[book.toc[1].offset :].startswith("Chapter Two\n\nFog came in")


def test_cbz_of_pictures_is_scanned(tmp_path):
    picture = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 30, 30), False)
    picture.clear_with(128)
    path = tmp_path / "comic.cbz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("001.png", picture.tobytes("png"))
        archive.writestr("002.png", picture.tobytes("png"))
    with pytest.raises(ScannedBookError):
        open_book(path)
