"""PDFs made with pymupdf in the test: furniture, hyphens, columns, passwords, scans, damage."""

from __future__ import annotations

import random
import textwrap

import pymupdf
import pytest

from lift_reader.core.text.documents import open_book
from lift_reader.errors import (
    CorruptBookError,
    EmptyBookError,
    PasswordRequiredError,
    ScannedBookError,
)

WORDS = (
    "keeper ledger weather morning ships point fog sunshine winter ink bottle coat stove lamp tide "
    "gull harbour rope lantern storm reef shore island wave pier signal beacon sailor compass chart"
).split()


def paragraphs_for(page: int, count: int = 3) -> list[list[str]]:
    """Distinct, recognisable paragraphs for one page, starting "Page3para1 ..." (no line repeats across pages)."""
    rng = random.Random(page)
    out = []
    for k in range(count):
        words = [rng.choice(WORDS) for _ in range(45)]
        text = f"Page{page}para{k} " + " ".join(words) + "."
        out.append(textwrap.wrap(text, 58))
    return out


def test_running_head_and_page_numbers_are_removed(pdf_path):
    path = pdf_path(
        "treatise.pdf",
        [paragraphs_for(n) for n in range(1, 7)],
        header="A Treatise on Lighthouses",
        footer="Page {n} of {total}",
    )
    book = open_book(path)
    assert "Treatise" not in book.text
    assert "Page 3 of 6" not in book.text and "of 6" not in book.text
    assert book.page_count == 6
    for n in range(1, 7):
        offset = book.text.index(f"Page{n}para0")
        assert book.page_at(offset) == n
        assert book.page_starts[n - 1] == offset  # the page's text starts right at its first paragraph


def test_alternating_running_heads_with_numbers_are_removed(pdf_path):
    heads = ["{n}    THE LEDGER OF THE POINT", "ON FOG AND SHIPS    {n}"]
    path = pdf_path("ledger.pdf", [paragraphs_for(n) for n in range(1, 8)], header=heads)
    book = open_book(path)
    assert "LEDGER OF THE POINT" not in book.text
    assert "FOG AND SHIPS" not in book.text
    assert book.text.startswith("Page1para0")


def test_bare_page_numbers_at_the_foot_are_removed(pdf_path):
    path = pdf_path("numbers.pdf", [paragraphs_for(n) for n in range(1, 6)], footer="{n}")
    book = open_book(path)
    for n in range(1, 6):
        assert f"\n\n{n}\n\n" not in book.text
    assert not book.text.rstrip().endswith("5")


def test_words_hyphenated_at_line_ends_are_joined(pdf_path):
    lines = [
        "The keeper kept a careful ledger of every single exam-",
        "ple of weather, and of the well-known storms of the",
        "North Sea coast; he also noted the Anglo-",
        "Saxon names of the rocks and the well-",
        "known reefs that lay beyond the point.",
    ]
    path = pdf_path("hyphens.pdf", [[lines]])
    text = open_book(path).text
    assert "example of weather" in text
    assert "Anglo-Saxon names" in text  # a capital after the hyphen: a real compound
    assert "the well-known reefs" in text  # the book spells "well-known" elsewhere
    assert "exam-" not in text


def test_paragraph_split_by_a_page_break_is_joined(pdf_path):
    first = [
        [
            "Page one ends in the middle of a sentence about the",
            "weather, which goes on over the page and into the next exam-",
        ]
    ]
    second = [["ple of a sentence that the reader should see whole."]]
    book = open_book(pdf_path("seam.pdf", [first, second]))
    assert "the next example of a sentence" in book.text
    # The page map still points at the continuation, mid-word, exactly.
    assert book.text[book.page_starts[1] :].startswith("ple of a sentence")


def test_two_columns_are_read_column_by_column(tmp_path):
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    left = [f"left column line {i:02d} with some words" for i in range(25)]
    right = [f"right column line {i:02d} with some words" for i in range(25)]
    page.insert_text((200, 60), "A Title Across Both Columns Of The Page", fontsize=16)
    for i, (a, b) in enumerate(zip(left, right)):
        page.insert_text((50, 100 + 14 * i), a, fontsize=10)
        page.insert_text((320, 100 + 14 * i), b, fontsize=10)
    path = tmp_path / "columns.pdf"
    doc.save(path)
    text = open_book(path).text
    positions = [text.index(line) for line in left + right]
    assert positions == sorted(positions), "columns interleaved"
    assert text.index("A Title Across") < positions[0]


def test_encrypted_pdf_needs_the_right_password(pdf_path):
    path = pdf_path(
        "secret.pdf",
        [paragraphs_for(1)],
        encryption=pymupdf.PDF_ENCRYPT_AES_256,
        user_pw="open sesame",
        owner_pw="owner-secret",
    )
    with pytest.raises(PasswordRequiredError) as missing:
        open_book(path)
    assert missing.value.wrong_password is False
    assert "password" in str(missing.value)
    with pytest.raises(PasswordRequiredError) as wrong:
        open_book(path, password="guess")
    assert wrong.value.wrong_password is True
    book = open_book(path, password="open sesame")
    assert "Page1para0" in book.text


def test_image_only_pdf_is_reported_as_scanned(tmp_path):
    doc = pymupdf.open()
    picture = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 40, 60), False)
    picture.clear_with(200)
    for _ in range(2):
        doc.new_page().insert_image(pymupdf.Rect(50, 50, 450, 650), pixmap=picture)
    path = tmp_path / "scan.pdf"
    doc.save(path)
    with pytest.raises(ScannedBookError, match="scanned; no text to memorize"):
        open_book(path)


def test_blank_pdf_is_empty(tmp_path):
    doc = pymupdf.open()
    doc.new_page()
    path = tmp_path / "blank.pdf"
    doc.save(path)
    with pytest.raises(EmptyBookError):
        open_book(path)


def test_truncated_pdf_is_corrupt(pdf_path):
    path = pdf_path("whole.pdf", [paragraphs_for(n) for n in range(1, 4)])
    data = path.read_bytes()
    cut = path.with_name("cut.pdf")
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptBookError) as err:
        open_book(cut)
    assert "\n" not in str(err.value)


def test_outline_maps_to_heading_offsets(pdf_path):
    pages = [
        [["Preface"], *paragraphs_for(1, 2)],
        [["Chapter One: The Fog"], *paragraphs_for(2, 2)],
        paragraphs_for(3, 2),
        [["Chapter Two: The Ships"], *paragraphs_for(4, 2)],
    ]
    toc = [[1, "Preface", 1], [1, "Chapter One: The Fog", 2], [1, "Chapter Two: The Ships", 4]]
    book = open_book(pdf_path("outline.pdf", pages, toc=toc))
    assert [entry.title for entry in book.toc] == ["Preface", "Chapter One: The Fog", "Chapter Two: The Ships"]
    for entry in book.toc:
        assert book.text[entry.offset :].startswith(entry.title)
        assert book.page_at(entry.offset) == entry.page


def test_metadata_and_gutenberg_boilerplate(pdf_path):
    pages = [
        [["The Project Gutenberg eBook of The Ledger"], ["*** START OF THE PROJECT GUTENBERG EBOOK THE LEDGER ***"]],
        paragraphs_for(2),
        [["*** END OF THE PROJECT GUTENBERG EBOOK THE LEDGER ***"], ["Full licence text follows here."]],
    ]
    metadata = {"title": "The Project Gutenberg eBook #99999: The Ledger", "author": "A. Keeper"}
    book = open_book(pdf_path("pg99999.pdf", pages, metadata=metadata))
    assert book.title == "The Ledger"
    assert book.author == "A. Keeper"
    assert book.format == "pdf"
    assert "Gutenberg" not in book.text and "licence" not in book.text
    assert book.text.startswith("Page2para0")
    assert book.page_starts[:2] == [0, 0]  # page 1 held only the header: it shares page 2's start
    assert book.page_at(0) == 2
    assert book.page_starts[2] == len(book.text)  # the licence page keeps a place in the map


def test_junk_metadata_title_falls_back_to_largest_type(tmp_path):
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((72, 100), "Barriers to Quality Care", fontsize=24)
    for i in range(8):
        page.insert_text((72, 160 + 14 * i), f"Body text line number {i} of the article.", fontsize=10)
    doc.set_metadata({"title": "6489122611071476 1..10"})
    path = tmp_path / "article.pdf"
    doc.save(path)
    assert open_book(path).title == "Barriers to Quality Care"
