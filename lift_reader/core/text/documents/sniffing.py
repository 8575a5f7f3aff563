"""What a file really is, from its first bytes (its name can lie)."""

from __future__ import annotations

import codecs

HEAD_BYTES = 4096

_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_DESCRIPTIONS = {
    "pdf": "a PDF file",
    "zip": "a ZIP archive (EPUB, CBZ, XPS, Office document...)",
    "mobi": "a MOBI e-book",
    "image": "an image",
    "binary": "binary data",
}


def sniff(head: bytes) -> str:
    """'pdf', 'zip', 'mobi', 'image', 'xml', 'html', 'text' or 'binary' for a file starting with ``head``."""
    if b"%PDF-" in head[:1024]:
        return "pdf"
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "zip"
    if head[60:68] in (b"BOOKMOBI", b"TEXtREAd"):
        return "mobi"
    if head.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"II*\x00", b"MM\x00*")):
        return "image"
    if not head.startswith(_BOMS) and _looks_binary(head):
        return "binary"
    lowered = head[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if lowered.startswith(b"<?xml") or b"<fictionbook" in lowered:
        return "html" if b"<html" in lowered else "xml"
    if lowered.startswith((b"<!doctype html", b"<html")):
        return "html"
    return "text"


def describe(kind: str) -> str:
    """'a PDF file' etc., for messages like 'x.txt looks like a PDF file'."""
    return _DESCRIPTIONS.get(kind, "something else")


def _looks_binary(head: bytes) -> bool:
    """NUL bytes or many control bytes; UTF-16 without a BOM is caught by the text decoder."""
    if not head:
        return False
    if b"\x00" in head:
        return not _utf16_shaped(head)
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13, 27))
    return controls / len(head) > 0.05


def _utf16_shaped(head: bytes) -> bool:
    """ASCII-range text in UTF-16 has a NUL in every other byte."""
    even, odd = head[0::2], head[1::2]
    return max(even.count(0) / max(1, len(even)), odd.count(0) / max(1, len(odd))) > 0.4 and (
        min(even.count(0), odd.count(0)) < 0.05 * max(1, len(head) // 2)
    )
