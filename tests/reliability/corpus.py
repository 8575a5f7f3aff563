"""A corpus of bad (and awkward) book files, built by the tests, never downloaded.

``build_corpus(folder)`` writes every case into ``folder`` and returns them as
``Case`` objects saying what ``open_book`` must do with each:

- ``"error"``: raise a ``BadInputError`` subclass (``error`` names the class
  when a specific one is required);
- ``"load"``: load sensibly (non-empty text, a sorted page map);
- ``"either"``: a damaged file MuPDF may or may not repair: a one-line
  ``BadInputError`` or a sensible load, never anything else.

Small valid seeds (``seed_pdf_bytes``, ``seed_epub_bytes``, ``SEED_TEXT``) are
shared with the fuzzer.
"""

from __future__ import annotations

import codecs
import io
import os
import random
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pymupdf

from lift_reader.errors import (
    BookTooLargeError,
    CorruptBookError,
    EmptyBookError,
    NotFoundError,
    PasswordRequiredError,
    ScannedBookError,
    UnsupportedFormatError,
)

SENTENCE = "The keeper of the Skerrow light wrote every storm into the ledger before dawn."
SEED_TEXT = (
    "The Ledger\n\nChapter One\n\n"
    + " ".join([SENTENCE] * 6)
    + "\n\nChapter Two\n\nHe climbed the iron stair at dusk and trimmed the wick. Café, naïve, Ærø.\n"
)
PASSWORD = "open sesame"


@dataclass
class Case:
    name: str  # a short id for test names
    category: str  # what kind of bad input (for counts and the report)
    path: Path
    expect: str  # "error", "load" or "either"
    error: type | None = None  # the exact BadInputError subclass required, if any
    password: str | None = None
    message: str | None = None  # a substring the error message must contain


# --- seeds ---------------------------------------------------------------------


def seed_pdf_bytes(pages: int = 3, metadata: dict | None = None, **save_options) -> bytes:
    """A small text PDF with an outline and metadata."""
    doc = pymupdf.open()
    for n in range(1, pages + 1):
        page = doc.new_page(width=420, height=595)
        page.insert_text((50, 60), f"Chapter {n}", fontsize=16)
        y = 100
        for line in range(12):
            words = f"Page {n} line {line}: the keeper climbed the stair and lit the lamp."
            page.insert_text((50, y), words, fontsize=10)
            y += 14
    doc.set_toc([[1, f"Chapter {n}", n] for n in range(1, pages + 1)])
    doc.set_metadata(metadata or {"title": "The Ledger", "author": "A. Keeper"})
    data = doc.tobytes(**save_options)
    doc.close()
    return data


_CONTAINER = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">'
    '<rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
    "</rootfiles></container>"
)


def _xhtml(title: str, body: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<html xmlns="http://www.w3.org/1999/xhtml">'
        f"<head><title>{title}</title></head><body>{body}</body></html>"
    )


def _opf(items: list[str], spine: list[str]) -> str:
    manifest = "".join(f'<item id="{i}" href="{i}.xhtml" media-type="application/xhtml+xml"/>' for i in items)
    refs = "".join(f'<itemref idref="{i}"/>' for i in spine)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id">'
        '<metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:identifier id="id">urn:x</dc:identifier>'
        "<dc:title>The Ledger</dc:title><dc:creator>A. Keeper</dc:creator><dc:language>en</dc:language></metadata>"
        f"<manifest>{manifest}</manifest><spine>{refs}</spine></package>"
    )


def epub_members(chapters: int = 2) -> dict[str, bytes]:
    """The members of a minimal valid EPUB, in order (mimetype first)."""
    names = [f"c{i}" for i in range(1, chapters + 1)]
    members = {
        "mimetype": b"application/epub+zip",
        "META-INF/container.xml": _CONTAINER.encode(),
        "OEBPS/content.opf": _opf(names, names).encode(),
    }
    for i, name in enumerate(names, start=1):
        members[f"OEBPS/{name}.xhtml"] = _xhtml(f"Chapter {i}", f"<h1>Chapter {i}</h1><p>{SENTENCE}</p>" * 3).encode()
    return members


def zip_bytes(members: dict[str, bytes], *, stored: bool = False) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, data in members.items():
            method = zipfile.ZIP_STORED if stored or name == "mimetype" else zipfile.ZIP_DEFLATED
            archive.writestr(name, data, compress_type=method)
    return buf.getvalue()


def seed_epub_bytes() -> bytes:
    return zip_bytes(epub_members())


# --- builders ------------------------------------------------------------------


def _flip(data: bytes, offsets: list[int]) -> bytes:
    out = bytearray(data)
    for offset in offsets:
        out[offset % len(out)] ^= 0xFF
    return bytes(out)


def _zero_page_pdf() -> bytes:
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _image_pdf(pages: int = 2) -> bytes:
    doc = pymupdf.open()
    picture = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 40, 60), False)
    picture.clear_with(180)
    for _ in range(pages):
        doc.new_page().insert_image(pymupdf.Rect(50, 50, 450, 650), pixmap=picture)
    return doc.tobytes()


def _drawing_pdf() -> bytes:
    """Text turned into outlines: only vector paths, no text layer."""
    doc = pymupdf.open()
    page = doc.new_page()
    for i in range(20):
        page.draw_rect(pymupdf.Rect(50 + i * 10, 50, 55 + i * 10, 70), color=(0, 0, 0), fill=(0, 0, 0))
    return doc.tobytes()


def _blank_pdf() -> bytes:
    doc = pymupdf.open()
    doc.new_page()
    doc.new_page()
    return doc.tobytes()


def _png_bytes() -> bytes:
    pix = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 16, 16), False)
    pix.clear_with(90)
    return pix.tobytes("png")


def _bomb_epub(megabytes: int, filler: bytes) -> bytes:
    """A valid EPUB whose chapter inflates to ``megabytes`` MB of ``filler`` (streamed, never held whole)."""
    buf = io.BytesIO()
    members = epub_members(1)
    with zipfile.ZipFile(buf, "w") as archive:
        for name, data in members.items():
            if name.endswith(".xhtml"):
                info = zipfile.ZipInfo(name)
                info.compress_type = zipfile.ZIP_DEFLATED
                with archive.open(info, "w", force_zip64=True) as out:
                    out.write(b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body><p>')
                    chunk = filler * (2**20 // len(filler))
                    for _ in range(megabytes):
                        out.write(chunk)
                    out.write(b"</p></body></html>")
            else:
                method = zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED
                archive.writestr(name, data, compress_type=method)
    return buf.getvalue()


def _lying_sizes(data: bytes, member: bytes, size: int) -> bytes:
    """Patch a member's declared uncompressed size (local header and central directory)."""
    out = bytearray(data)
    for signature, name_len_at, name_at, size_at in ((b"PK\x01\x02", 28, 46, 24), (b"PK\x03\x04", 26, 30, 22)):
        i = out.find(signature)
        while i >= 0:
            (n,) = struct.unpack_from("<H", out, i + name_len_at)
            if out[i + name_at : i + name_at + n] == member:
                struct.pack_into("<I", out, i + size_at, size)
            i = out.find(signature, i + 4)
    return bytes(out)


def _epub_with(changes: dict[str, bytes | None], *, stored: bool = False) -> bytes:
    members = epub_members()
    for name, data in changes.items():
        if data is None:
            members.pop(name, None)
        else:
            members[name] = data
    return zip_bytes(members, stored=stored)


def _random_bytes(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


def _sparse(path: Path, size: int) -> None:
    """A file of ``size`` bytes that takes no disk space (a hole)."""
    with path.open("wb") as fh:
        fh.truncate(size)


def _big_book(chars: int) -> bytes:
    """``chars`` characters of prose in paragraphs, with chapter headings."""
    rng = random.Random(10)
    words = "the keeper lamp stair sea light night ledger wrote storm ship rock tide gull harbour rope".split()
    parts: list[str] = []
    total = 0
    chapter = 0
    while total < chars:
        if total // 200_000 >= chapter:
            chapter += 1
            parts.append(f"Chapter {chapter}")
        para = " ".join(rng.choice(words) for _ in range(150)).capitalize() + "."
        parts.append(para)
        total += len(para) + 2
    return "\n\n".join(parts).encode()


def build_corpus(folder: Path, *, big: bool = True, write: bool = True) -> list[Case]:
    """Write every case into ``folder``; ``big=False`` leaves out the multi-megabyte ones.

    ``write=False`` only lists the cases (for parametrizing at collection time;
    the costly builders are callables, run only when writing).
    """
    if write:
        folder.mkdir(parents=True, exist_ok=True)
    cases: list[Case] = []

    def add(name: str, category: str, filename: str, data: bytes | Callable[[Path], None] | None, expect: str,
            error: type | None = None, **extra) -> None:
        path = folder / filename
        if write and callable(data):
            data(path)
        elif write and data is not None:
            path.write_bytes(data)
        cases.append(Case(name, category, path, expect, error, **extra))

    def lazy(make: Callable[[], bytes]) -> Callable[[Path], None]:
        return lambda path: path.write_bytes(make())

    pdf = seed_pdf_bytes()
    eof = pdf.rindex(b"%%EOF")

    # Truncated PDFs: cut at several points (the end marker is gone in every one).
    for fraction in (0.02, 0.1, 0.3, 0.5, 0.7, 0.9):
        add(f"pdf-truncated-{int(fraction * 100)}", "truncated PDF", f"truncated-{int(fraction * 100)}.pdf",
            pdf[: int(len(pdf) * fraction)], "error", CorruptBookError)
    add("pdf-truncated-before-eof", "truncated PDF", "no-eof.pdf", pdf[:eof], "either")
    # Corrupted PDFs: bytes flipped at several offsets (header, body, streams, xref, trailer).
    length = len(pdf)
    flips = {
        "header": [1, 2, 3],
        "quarter": [length // 4 + i for i in range(0, 40, 7)],
        "middle": [length // 2 + i for i in range(0, 64, 3)],
        "three-quarters": [3 * length // 4 + i for i in range(16)],
        "xref": [pdf.rindex(b"xref") + i for i in range(4, 40, 5)],
        "trailer": [pdf.rindex(b"trailer") + i for i in range(0, 30, 2)],
        "startxref": [pdf.rindex(b"startxref") + 10 + i for i in range(4)],
        "scattered": random.Random(1).sample(range(length), 60),
    }
    for where, offsets in flips.items():
        expect = "error" if where == "header" else "either"
        add(f"pdf-flipped-{where}", "corrupted PDF", f"flipped-{where}.pdf", _flip(pdf, offsets), expect)
    add("pdf-header-only", "corrupted PDF", "header-only.pdf", b"%PDF-1.7\n", "error")
    add("pdf-header-then-garbage", "corrupted PDF", "garbage.pdf", b"%PDF-1.7\n" + _random_bytes(2, 5000), "error")

    # Encrypted PDFs.
    secret = seed_pdf_bytes(encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw=PASSWORD, owner_pw="owner-pw")
    add("pdf-encrypted-no-password", "encrypted PDF", "secret.pdf", secret, "error", PasswordRequiredError,
        message="password")
    cases.append(Case("pdf-encrypted-wrong-password", "encrypted PDF", folder / "secret.pdf", "error",
                      PasswordRequiredError, password="guess", message="wrong"))
    cases.append(Case("pdf-encrypted-right-password", "encrypted PDF", folder / "secret.pdf", "load",
                      password=PASSWORD))
    rc4 = seed_pdf_bytes(encryption=pymupdf.PDF_ENCRYPT_RC4_128, user_pw="rc4", owner_pw="owner-pw")
    add("pdf-encrypted-rc4-no-password", "encrypted PDF", "secret-rc4.pdf", rc4, "error", PasswordRequiredError)
    owner_only = seed_pdf_bytes(encryption=pymupdf.PDF_ENCRYPT_AES_128, owner_pw="owner-pw", permissions=0)
    add("pdf-owner-password-only", "encrypted PDF", "restricted.pdf", owner_only, "load")
    add("pdf-encrypted-truncated", "encrypted PDF", "secret-cut.pdf", secret[: len(secret) // 2], "error")

    # Metadata that would drive a terminal (escape sequences, bell) or reverse the text shown (bidi override).
    add("pdf-hostile-metadata", "corrupted PDF", "hostile-metadata.pdf",
        seed_pdf_bytes(metadata={"title": "\x1b]0;owned\x07\x1b[2JThe Real Title\x1b[0m",
                                 "author": "\u202eTneserp\u202c Keeper\x00"}), "load")

    # PDFs without a text layer, or without pages.
    add("pdf-image-only", "image-only PDF", "scan.pdf", _image_pdf(), "error", ScannedBookError)
    add("pdf-drawings-only", "image-only PDF", "outlines.pdf", _drawing_pdf(), "error", ScannedBookError)
    add("pdf-blank-pages", "zero-page/empty PDF", "blank.pdf", _blank_pdf(), "error", EmptyBookError)
    add("pdf-zero-pages", "zero-page/empty PDF", "zero-pages.pdf", _zero_page_pdf(), "error", EmptyBookError)

    # Empty files.
    for suffix in ("pdf", "epub", "txt", "md", "html", "fb2"):
        add(f"empty-{suffix}", "empty file", f"empty.{suffix}", b"", "error", EmptyBookError)
    add("whitespace-only-txt", "empty file", "blank.txt", b" \n\n\t \r\n  \n", "error", EmptyBookError)
    add("bom-only-txt", "empty file", "bom.txt", codecs.BOM_UTF8, "error", EmptyBookError)
    add("invisible-only-txt", "empty file", "invisible.txt", "\u200b\u00ad\ufeff\u2060\n".encode() * 50, "error",
        EmptyBookError)

    # Binary files under book names.
    add("random-bytes-txt", "binary named as a book", "random.txt", _random_bytes(3, 20_000), "error",
        CorruptBookError)
    add("random-bytes-pdf", "binary named as a book", "random.pdf", _random_bytes(4, 20_000), "error",
        CorruptBookError)
    add("random-bytes-epub", "binary named as a book", "random.epub", _random_bytes(5, 20_000), "error",
        CorruptBookError)
    add("nul-bytes-txt", "binary named as a book", "zeros.txt", b"\0" * 10_000, "error", CorruptBookError)
    add("png-named-pdf", "binary named as a book", "picture.pdf", _png_bytes(), "error", CorruptBookError)
    add("png-named-txt", "binary named as a book", "picture.txt", _png_bytes(), "error", CorruptBookError)
    add("elf-named-txt", "binary named as a book", "program.txt", b"\x7fELF\x02\x01\x01" + b"\0" * 9 +
        _random_bytes(6, 4000), "error", CorruptBookError)
    add("gzip-named-epub", "binary named as a book", "archive.epub", b"\x1f\x8b\x08\0" + _random_bytes(7, 3000),
        "error", CorruptBookError)
    add("zip-magic-garbage-epub", "binary named as a book", "fake-zip.epub", b"PK\x03\x04" + _random_bytes(8, 3000),
        "error", CorruptBookError)
    add("pdf-named-epub", "binary named as a book", "really-a-pdf.epub", pdf, "error", CorruptBookError,
        message="PDF")
    add("pdf-named-txt", "binary named as a book", "really-a-pdf.txt", pdf, "error", CorruptBookError)
    add("epub-named-pdf", "binary named as a book", "really-an-epub.pdf", seed_epub_bytes(), "error",
        CorruptBookError)
    add("docx-like-epub", "binary named as a book", "document.epub",
        zip_bytes({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"}), "error",
        CorruptBookError)

    # EPUBs: zip bombs, broken structure, broken XHTML.
    add("epub-zip-bomb-spaces", "EPUB zip bomb", "bomb-spaces.epub", lazy(lambda: _bomb_epub(64, b" ")), "error",
        CorruptBookError, message="zip bomb")
    add("epub-zip-bomb-words", "EPUB zip bomb", "bomb-words.epub", lazy(lambda: _bomb_epub(32, b"lol ")), "error",
        CorruptBookError, message="zip bomb")
    add("epub-zip-bomb-lying-size", "EPUB zip bomb", "bomb-lying.epub",
        lazy(lambda: _lying_sizes(_bomb_epub(16, b"a "), b"OEBPS/c1.xhtml", 4000)), "error")
    add("epub-truncated", "EPUB structure", "cut.epub", seed_epub_bytes()[:700], "error", CorruptBookError)
    add("epub-flipped", "EPUB structure", "flipped.epub", _flip(seed_epub_bytes(), list(range(300, 900, 37))),
        "either")
    add("epub-missing-container", "EPUB structure", "no-container.epub",
        _epub_with({"META-INF/container.xml": None}), "either")
    add("epub-missing-opf", "EPUB structure", "no-opf.epub", _epub_with({"OEBPS/content.opf": None}), "error")
    add("epub-missing-mimetype", "EPUB structure", "no-mimetype.epub", _epub_with({"mimetype": None}), "either")
    add("epub-empty-spine", "EPUB structure", "empty-spine.epub",
        _epub_with({"OEBPS/content.opf": _opf([], []).encode()}), "error")
    add("epub-spine-to-missing-file", "EPUB structure", "missing-chapter.epub",
        _epub_with({"OEBPS/c2.xhtml": None}), "either")
    add("epub-opf-garbage", "EPUB structure", "opf-garbage.epub",
        _epub_with({"OEBPS/content.opf": _random_bytes(9, 800)}), "error")
    add("epub-container-garbage", "EPUB structure", "container-garbage.epub",
        _epub_with({"META-INF/container.xml": b"<container><rootfiles><rootfile full-path="}), "either")
    add("epub-broken-xhtml", "EPUB broken XHTML", "broken-xhtml.epub", _epub_with({
        "OEBPS/c1.xhtml": b"<html><body><p>Unclosed <b>bold <i>and <p>" + SENTENCE.encode() + b"</div></span>",
        "OEBPS/c2.xhtml": b"<<<>>> &&& <p <p <p>>" + SENTENCE.encode(),
    }), "either")
    add("epub-xhtml-bad-utf8", "EPUB broken XHTML", "bad-utf8.epub", _epub_with({
        "OEBPS/c1.xhtml": _xhtml("x", "<p>caf\xe9 \xff\xfe " + SENTENCE + "</p>").encode("latin-1"),
    }), "either")
    add("epub-xhtml-binary", "EPUB broken XHTML", "binary-chapters.epub", _epub_with({
        "OEBPS/c1.xhtml": _random_bytes(10, 3000), "OEBPS/c2.xhtml": _random_bytes(11, 3000),
    }), "either")
    laughs = '<!ENTITY a "lol">' + "".join(f'<!ENTITY a{i} "{("&a%s;" % (i - 1 if i > 1 else "")) * 10}">'
                                           for i in range(1, 10))
    add("epub-entity-expansion", "EPUB broken XHTML", "laughs.epub", _epub_with({
        "OEBPS/c1.xhtml": (f'<?xml version="1.0"?><!DOCTYPE html [{laughs}]>'
                           '<html xmlns="http://www.w3.org/1999/xhtml"><body><p>&a9;</p></body></html>').encode(),
    }), "either")
    add("epub-external-entity", "EPUB broken XHTML", "xxe.epub", _epub_with({
        "OEBPS/c1.xhtml": ('<?xml version="1.0"?><!DOCTYPE html [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                           '<html xmlns="http://www.w3.org/1999/xhtml"><body><p>start &x; end</p>'
                           '<img src="file:///etc/hostname"/></body></html>').encode(),
    }), "either")
    add("epub-deep-nesting", "EPUB broken XHTML", "deep.epub", _epub_with({
        "OEBPS/c1.xhtml": _xhtml("deep", "<div>" * 3000 + SENTENCE + "</div>" * 3000).encode(),
    }, stored=True), "either")
    add("epub-images-only", "EPUB structure", "pictures.epub", _epub_with({
        "OEBPS/c1.xhtml": _xhtml("x", '<img src="p.png"/>').encode(),
        "OEBPS/c2.xhtml": _xhtml("y", "").encode(), "OEBPS/p.png": _png_bytes(),
    }), "error", EmptyBookError)

    # Text encodings: wrong, mixed, and ones that need guessing.
    text = SEED_TEXT
    add("utf16-le-no-bom", "text encoding", "utf16le.txt", text.encode("utf-16-le"), "load")
    add("utf16-be-bom", "text encoding", "utf16be.txt", codecs.BOM_UTF16_BE + text.encode("utf-16-be"), "load")
    add("utf32-bom", "text encoding", "utf32.txt", text.encode("utf-32"), "load")
    add("cp1252", "text encoding", "cp1252.txt", (text + "\u201cquoted\u201d \u2014 \u20ac5\n").encode("cp1252"),
        "load")
    add("latin1", "text encoding", "latin1.txt", text.encode("latin-1"), "load")
    add("mixed-utf8-cp1252", "text encoding", "mixed.txt",
        text.encode("utf-8") + "\nCaf\u00e9 na\u00efve \u2014 \u20ac\n".encode("cp1252") + text.encode("utf-8"),
        "load")
    add("utf8-with-invalid-bytes", "text encoding", "invalid-utf8.txt",
        text.encode() + b"\xc3\x28 \xa0\xa1 \xe2\x28\xa1 \xf0\x28\x8c\x28 " + text.encode(), "load")
    add("utf8-lone-surrogates", "text encoding", "surrogates.txt",
        text.encode() + b"\xed\xa0\x80\xed\xbf\xbf" + text.encode(), "load")
    add("shift-jis", "text encoding", "japanese.txt",
        ("灯台守は嵐のたびに帳簿に記録した。" * 40 + "\n\n" + "夜明け前に階段を上った。" * 40).encode("shift_jis"),
        "load")
    add("koi8-r", "text encoding", "russian.txt",
        ("Смотритель маяка записывал каждый шторм в журнал. " * 30).encode("koi8_r"), "load")
    add("utf16-odd-length", "text encoding", "utf16-odd.txt", text.encode("utf-16-le") + b"\x41", "either")
    add("utf16-bom-then-binary", "text encoding", "bom-binary.txt", codecs.BOM_UTF16_LE + _random_bytes(12, 4000),
        "either")
    # A few stray control characters (and a terminal escape) in a real-sized text load, cleaned;
    # a text that is mostly control characters is binary (next case).
    add("control-characters-stray", "text encoding", "controls.txt",
        (text.replace(" ", " \x01", 5) * 20 + "\x07\x1b[31m red \x1b[0m\x0c\n").encode(), "load")
    add("control-characters-mostly", "text encoding", "mostly-controls.txt",
        bytes(range(1, 32)) * 200 + text.encode(), "error", CorruptBookError)
    add("crlf-and-cr-only", "text encoding", "line-ends.txt", text.replace("\n", "\r\n").encode() +
        text.replace("\n", "\r").encode(), "load")

    # Absurd shapes: one enormous line, one enormous word, a 10-million-character book.
    add("long-line-1mb-no-spaces", "absurd lines", "one-word.txt", b"a" * 1_000_000, "load")
    add("long-line-2mb", "absurd lines", "long-line-2mb.txt", b"the keeper lit the lamp " * 87_000, "load")
    if big:
        add("long-line-20mb", "absurd lines", "long-line-20mb.txt",
            lazy(lambda: b"the keeper lit the lamp " * 870_000), "load")
        add("ten-million-chars", "huge book", "huge.txt", lazy(lambda: _big_book(10_000_000)), "load")
    add("sparse-600mb", "huge book", "sparse.txt", lambda p: _sparse(p, 600 * 2**20), "error", BookTooLargeError)

    # File names with odd characters (all hold the same small, valid book).
    good = SEED_TEXT.encode()
    odd_names = {
        "name-with-spaces": "my  book  (2nd ed.) .txt",
        "name-unicode": "Смотритель — 灯台 🏮 café.txt",
        "name-quotes": "the \"keeper's\" `ledger`.txt",
        "name-leading-dash": "-rf --help.txt",
        "name-shell-chars": "$(echo pwned); ls | cat & #.txt",
        "name-upper-suffix": "SHOUTING.TXT",
        "name-no-suffix": "README",
        "name-dotfile": ".txt",
        "name-version-suffix": "ledger.v2",
        "name-long": "l" * 240 + ".txt",
    }
    if os.name == "posix":
        odd_names["name-newline"] = "two\nlines.txt"
        odd_names["name-backslash"] = "back\\slash.txt"
        odd_names["name-control-char"] = "bell\x07.txt"
    for name, filename in odd_names.items():
        add(name, "odd file name", filename, good, "load")
    if os.name == "posix":
        # Not valid UTF-8: Python surrogate-escapes the byte in the str path.
        add("name-latin1-bytes", "odd file name", os.fsdecode(b"caf\xe9-latin1.txt"), good, "load")

    # Not files, or not there.
    add("unsupported-suffix", "not a book", "report.docx", b"PK\x03\x04whatever", "error", UnsupportedFormatError)
    add("folder-named-epub", "not a book", "folder.epub", lambda p: p.mkdir(), "error", UnsupportedFormatError)
    add("missing-file", "not a book", "nowhere.pdf", None, "error", NotFoundError)
    add("dangling-symlink", "not a book", "dangling.txt", lambda p: p.symlink_to(folder / "gone.txt"), "error",
        NotFoundError)
    add("symlink-to-book", "not a book", "link.txt", lambda p: p.symlink_to(folder / "SHOUTING.TXT"), "load")
    if hasattr(os, "mkfifo"):
        add("fifo-named-txt", "not a book", "pipe.txt", lambda p: os.mkfifo(p), "error")
    return cases
