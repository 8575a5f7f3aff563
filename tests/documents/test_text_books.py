"""Plain-text and Markdown books: encodings, Gutenberg boilerplate, synthetic pages, headings."""

from __future__ import annotations

import codecs

import pytest

from lift_reader.core.text.documents import open_book
from lift_reader.core.text.documents.text_decoding import NotTextError, decode_text

SAMPLE = "Café “Ledger” — naïve façade, œuvre, déjà vu… 5€.\n\nSecond paragraph here.\n"

GUTENBERG = """\ufeffThe Project Gutenberg EBook of The Keeper's Ledger, by Ada Lovelight

This eBook is for the use of anyone anywhere at no cost and with
almost no restrictions whatsoever.

Title: The Keeper's Ledger

Author: Ada Lovelight

*** START OF THIS PROJECT GUTENBERG EBOOK THE KEEPER'S LEDGER ***




Produced by Somebody Kind, and the
Online Distributed Proofreading Team.




CHAPTER I.
The Fog

The keeper opened the ledger at six and wrote down the wind, the tide
and the colour of the sea, as he had done for eleven years.

CHAPTER II.
The Ship

A ship's bell sounded close to the rocks.

End of the Project Gutenberg EBook of The Keeper's Ledger, by Ada Lovelight

*** END OF THIS PROJECT GUTENBERG EBOOK THE KEEPER'S LEDGER ***

***** This file should be named 99999.txt or 99999.zip *****
Section 1.  General Terms of Use and Redistributing Project Gutenberg-tm
electronic works; the license is long.
"""


@pytest.mark.parametrize(
    "encoding, bom",
    [
        ("utf-8", codecs.BOM_UTF8),
        ("utf-16-le", codecs.BOM_UTF16_LE),
        ("utf-16-be", codecs.BOM_UTF16_BE),
        ("utf-32-le", codecs.BOM_UTF32_LE),
        ("utf-8", b""),
        ("utf-16-le", b""),
    ],
)
def test_unicode_encodings_are_detected(tmp_path, encoding, bom):
    path = tmp_path / "sample.txt"
    path.write_bytes(bom + SAMPLE.encode(encoding))
    book = open_book(path)
    assert book.text.startswith("Café “Ledger” — naïve façade, œuvre, déjà vu… 5€.")
    assert "\ufeff" not in book.text


def test_cp1252_text_is_decoded(tmp_path):
    path = tmp_path / "windows.txt"
    path.write_bytes(SAMPLE.encode("cp1252"))
    assert open_book(path).text.startswith("Café “Ledger” — naïve façade, œuvre, déjà vu… 5€.")


def test_non_western_single_byte_text_is_decoded():
    russian = "Привет! Это тестовый текст на русском языке, и он довольно длинный.\n" * 3
    text, encoding = decode_text(russian.encode("cp1251"))
    assert text == russian


def test_binary_data_is_not_text():
    with pytest.raises(NotTextError):
        decode_text(bytes(range(256)) * 20)


def test_gutenberg_header_and_licence_are_stripped(tmp_path):
    path = tmp_path / "pg99999.txt"
    path.write_text(GUTENBERG, encoding="utf-8")
    book = open_book(path)
    assert book.title == "The Keeper's Ledger"
    assert book.author == "Ada Lovelight"
    assert book.text.startswith("CHAPTER I.\nThe Fog")
    for leftover in ("Gutenberg", "Produced by", "Proofreading", "license", "***"):
        assert leftover not in book.text
    assert book.text.endswith("A ship's bell sounded close to the rocks.")


def test_old_small_print_header_is_stripped(tmp_path):
    old = (
        "The Project Gutenberg Etext of Old Things\n\n"
        "**Welcome To The World of Free Plain Vanilla Electronic Texts**\n\n"
        "*END*THE SMALL PRINT! FOR PUBLIC DOMAIN ETEXTS*Ver.04.29.93*END*\n\n"
        "The story begins here and goes on.\n\nEnd of Project Gutenberg Etext of Old Things\n"
    )
    path = tmp_path / "old.txt"
    path.write_text(old)
    assert open_book(path).text == "The story begins here and goes on."


def test_hard_wrapped_lines_are_unwrapped_but_verse_is_kept(tmp_path):
    prose = (
        "The keeper opened the ledger at six and wrote down the wind, the tide\n"
        "and the colour of the sea, as he had done every morning for eleven\n"
        "years, and as he meant to do for eleven more if the lamp allowed it.\n"
    )
    verse = "    Twinkle, twinkle, little bat!\n    How I wonder what you're at!\n"
    path = tmp_path / "mixed.txt"
    path.write_text(prose + "\n" + verse)
    text = open_book(path).text
    assert "tide and the colour" in text and "eleven years" in text
    assert "little bat!\nHow I wonder" in text


def test_synthetic_pages_split_between_paragraphs(tmp_path):
    paragraphs = [f"Paragraph {i} " + "word " * (40 + i % 30) for i in range(200)]
    path = tmp_path / "long.txt"
    path.write_text("\n\n".join(paragraphs))
    book = open_book(path)
    starts = book.page_starts
    assert starts[0] == 0 and starts == sorted(set(starts))
    assert 10 < book.page_count < 40
    for start, end in zip(starts, [*starts[1:], len(book.text)]):
        assert end - start <= 4500
        assert start == 0 or book.text[start - 2 : start] == "\n\n"
    offset = book.text.index("Paragraph 150 ")
    assert book.page_starts[book.page_at(offset) - 1] <= offset


def test_chapter_headings_make_the_toc(tmp_path):
    body = "It was a quiet night on the point and nothing moved on the water. " * 60
    text = "CONTENTS\n\nCHAPTER I. Fog\n\nCHAPTER II. Ships\n\nCHAPTER III. Rocks\n\n"
    text += "\n\n".join(
        f"CHAPTER {n}. {name}\n\n{body}" for n, name in (("I", "Fog"), ("II", "Ships"), ("III", "Rocks"))
    )
    path = tmp_path / "novel.txt"
    path.write_text(text)
    book = open_book(path)
    assert [entry.title for entry in book.toc] == ["CHAPTER I. Fog", "CHAPTER II. Ships", "CHAPTER III. Rocks"]
    for entry in book.toc:
        assert book.text[entry.offset :].startswith(entry.title)
        assert book.page_at(entry.offset) == entry.page
    # The contents list at the top is not mistaken for the chapters.
    assert book.toc[0].offset > book.text.index("CHAPTER III. Rocks")


def test_markdown_headings_and_title(tmp_path):
    path = tmp_path / "notes.md"
    path.write_text("# The Keeper's Notes\n\nIntro text.\n\n## Fog\n\nFog text.\n\n## Ships\nShip text.\n")
    book = open_book(path)
    assert book.title == "The Keeper's Notes"
    assert book.format == "md"
    assert [(e.title, e.level) for e in book.toc] == [("The Keeper's Notes", 1), ("Fog", 2), ("Ships", 2)]
    assert book.text[book.toc[2].offset :].startswith("## Ships\n\nShip text.")


def test_file_without_suffix_opens_as_text(tmp_path):
    path = tmp_path / "README"
    path.write_text("A short text without a suffix.\n")
    book = open_book(path)
    assert book.text == "A short text without a suffix."
    assert book.title == "README"
