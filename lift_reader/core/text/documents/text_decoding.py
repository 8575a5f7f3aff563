"""Bytes to text for plain-text books, whatever encoding they were saved in.

Order of evidence: a byte-order mark, then strict UTF-8 (almost every modern
file, and no false positives in practice), then charset-normalizer's guess,
then Windows-1252 (the usual "ANSI" of Western files) and finally Latin-1,
which decodes anything.
"""

from __future__ import annotations

import codecs
import re

import charset_normalizer

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Western single-byte encodings charset-normalizer may call something else on
# short samples (it likes cp1250 for French): we prefer them when it rates
# them as good as its first choice.
_WESTERN = {"cp1252", "latin_1", "iso8859_15"}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f\ufffd]")
_CHECK_CHARS = 1_000_000
_MAX_CONTROL_SHARE = 0.01


class NotTextError(ValueError):
    """The bytes are not a text file (NUL bytes, control characters, undecodable)."""


def decode_text(data: bytes) -> tuple[str, str]:
    """(text, encoding name); raises NotTextError for binary data."""
    text, encoding = _decode(data)
    sample = text[:_CHECK_CHARS]
    if sample and len(_CONTROL.findall(sample)) > _MAX_CONTROL_SHARE * len(sample):
        raise NotTextError("binary data")
    return text, encoding


def _decode(data: bytes) -> tuple[str, str]:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding, errors="replace"), encoding
    if b"\x00" in data:
        return _decode_utf16_without_bom(data)
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    guess = _guess_encoding(data)
    if guess is not None:
        return guess
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def _decode_utf16_without_bom(data: bytes) -> tuple[str, str]:
    """ASCII-heavy UTF-16 has NULs in every other byte; anything else with NULs is binary."""
    even_nuls, odd_nuls = data[0::2].count(0), data[1::2].count(0)
    half = max(1, len(data) // 2)
    if odd_nuls > 0.4 * half and even_nuls < 0.05 * half:
        encoding = "utf-16-le"
    elif even_nuls > 0.4 * half and odd_nuls < 0.05 * half:
        encoding = "utf-16-be"
    else:
        raise NotTextError("NUL bytes")
    try:
        return data.decode(encoding), encoding
    except UnicodeDecodeError as err:
        raise NotTextError("undecodable UTF-16") from err


def _guess_encoding(data: bytes) -> tuple[str, str] | None:
    matches = list(charset_normalizer.from_bytes(data))
    if not matches:
        return None
    best = matches[0]
    for match in matches:
        if _WESTERN & set(match.could_be_from_charset) and match.percent_chaos <= best.percent_chaos + 1.0:
            try:
                return data.decode("cp1252"), "cp1252"
            except UnicodeDecodeError:
                break
    return str(best), best.encoding
