"""open_book's dispatch: files that lie about their type, and files we must refuse."""

from __future__ import annotations

import pymupdf
import pytest

from lift_reader.core.text.documents import SUPPORTED_SUFFIXES, open_book
from lift_reader.errors import (
    BookError,
    BookTooLargeError,
    CorruptBookError,
    EmptyBookError,
    NotFoundError,
    UnsupportedFormatError,
)


def tiny_pdf_bytes() -> bytes:
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "A tiny PDF with one line of text.")
    return doc.tobytes()


def test_supported_suffixes():
    assert {".pdf", ".epub", ".mobi", ".fb2", ".xps", ".cbz", ".html", ".htm", ".xhtml"} <= SUPPORTED_SUFFIXES
    assert {".txt", ".md", ".markdown", ".text"} <= SUPPORTED_SUFFIXES


@pytest.mark.parametrize("name", ["empty.pdf", "empty.txt", "empty.epub", "empty.md"])
def test_empty_files(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"")
    with pytest.raises(EmptyBookError):
        open_book(path)


def test_whitespace_only_text_is_empty(tmp_path):
    path = tmp_path / "blank.txt"
    path.write_text("  \n\n\t\n   \n")
    with pytest.raises(EmptyBookError):
        open_book(path)


def test_binary_file_named_txt(tmp_path):
    path = tmp_path / "photo.txt"
    path.write_bytes(bytes(range(256)) * 64)
    with pytest.raises(CorruptBookError, match="does not look like text"):
        open_book(path)


def test_pdf_named_txt_says_what_it_is(tmp_path):
    path = tmp_path / "book.txt"
    path.write_bytes(tiny_pdf_bytes())
    with pytest.raises(CorruptBookError, match="looks like a PDF"):
        open_book(path)


def test_text_named_pdf(tmp_path):
    path = tmp_path / "notes.pdf"
    path.write_text("These are notes, not a PDF.\n")
    with pytest.raises(CorruptBookError, match="not a valid PDF"):
        open_book(path)


def test_pdf_without_suffix_is_sniffed(tmp_path):
    path = tmp_path / "download"
    path.write_bytes(tiny_pdf_bytes())
    book = open_book(path)
    assert book.format == "pdf"
    assert "A tiny PDF" in book.text


def test_unsupported_suffix(tmp_path):
    path = tmp_path / "report.docx"
    path.write_bytes(b"PK\x03\x04whatever")
    with pytest.raises(UnsupportedFormatError, match=r"\.docx"):
        open_book(path)


def test_missing_file(tmp_path):
    with pytest.raises(NotFoundError):
        open_book(tmp_path / "nowhere.pdf")


def test_folder_is_refused(tmp_path):
    with pytest.raises(UnsupportedFormatError):
        open_book(tmp_path)


def test_size_limits(tmp_path):
    path = tmp_path / "big.txt"
    path.write_text("word " * 2000)
    with pytest.raises(BookTooLargeError):
        open_book(path, max_bytes=1000)
    with pytest.raises(BookTooLargeError):
        open_book(path, max_chars=5000)
    pdf = tmp_path / "big.pdf"
    pdf.write_bytes(tiny_pdf_bytes())
    with pytest.raises(BookTooLargeError):
        open_book(pdf, max_chars=10)


def test_every_error_is_one_line(tmp_path):
    cases = {
        "a.pdf": b"garbage" * 10,
        "b.txt": b"\x00\x01\x02" * 100,
        "c.epub": b"",
        "d.xyz": b"hello",
    }
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(BookError) as err:
            open_book(path)
        message = str(err.value)
        assert message and "\n" not in message and "Traceback" not in message
