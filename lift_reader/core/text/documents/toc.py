"""Tables of contents: map a file's outline onto the clean text, or find the
chapter headings of a plain-text book.

The reader jumps to ``TocEntry.offset``, so an offset should point at the
heading itself, not merely at the top of its page: we look for the entry's
title on its page and fall back to the page start.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence

from lift_reader.core.text.book import TocEntry

MAX_TITLE_CHARS = 120

_QUOTES = "'\u2019\u2018`"
_DASH_CHARS = "-\u2010\u2011\u2013\u2014"


def short_title(title: str) -> str:
    """One line, at most ``MAX_TITLE_CHARS`` (some EPUBs put a whole paragraph in a nav entry)."""
    title = " ".join(title.split())
    if len(title) <= MAX_TITLE_CHARS:
        return title
    return title[:MAX_TITLE_CHARS].rsplit(" ", 1)[0] + "\u2026"


def _char_pattern(char: str) -> str:
    if char in _QUOTES:
        return f"[{_QUOTES}]"
    if char in _DASH_CHARS:
        return "[" + re.escape(_DASH_CHARS) + "]"
    return re.escape(char)


def find_title(text: str, title: str, start: int, end: int) -> int | None:
    """Offset of ``title`` in ``text[start:end]`` (case, spacing, quote and dash style ignored)."""
    words = title.split()[:12]
    if not words:
        return None
    parts = ["".join(_char_pattern(c) for c in word) for word in words]
    pattern = re.compile(r"\s+".join(parts) + r"(?![^\W_])", re.IGNORECASE)
    match = pattern.search(text, start, min(len(text), end + len(title)))
    return match.start() if match else None


def toc_from_outline(outline: Iterable[Sequence], text: str, page_starts: Sequence[int]) -> list[TocEntry]:
    """Entries from pymupdf's ``get_toc()`` rows ``[level, title, page]`` (page 1-based, -1 = none)."""
    entries = []
    for level, title, page, *_ in outline:
        if not 1 <= page <= len(page_starts):
            continue
        start = page_starts[page - 1]
        end = page_starts[page] if page < len(page_starts) else len(text)
        if start >= len(text):
            continue  # the page held only boilerplate we removed (a licence, say)
        offset = find_title(text, title, start, end)
        entries.append(TocEntry(short_title(title), max(1, int(level)), start if offset is None else offset, page))
    return entries


# --- headings in plain text --------------------------------------------------------

_NUMBER = (
    r"(?:[IVXLCDM]+|\d{1,3}|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve"
    r"|first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|the\s+\w+)"
)
_PART = re.compile(rf"^(?:BOOK|PART|VOLUME|ACT)\s+{_NUMBER}\b", re.IGNORECASE)
_CHAPTER = re.compile(rf"^(?:CHAPTER|ADVENTURE|LETTER|STAVE|CANTO|SCENE)\s+{_NUMBER}\b", re.IGNORECASE)
_NAMED = re.compile(
    r"^(?:PROLOGUE|EPILOGUE|PREFACE|INTRODUCTION|FOREWORD|AFTERWORD|APPENDIX|CONCLUSION)\.?$", re.IGNORECASE
)
_ROMAN_TITLE = re.compile(r"^[IVXLC]{1,7}\.\s+(?P<title>[A-Z].{0,90})$")
_BARE_NUMBER = re.compile(r"^(?P<num>[IVXLC]{1,7}|\d{1,3})\.?$")
_MARKDOWN = re.compile(r"^(?P<hashes>#{1,6})\s+(?P<title>.+?)\s*#*$")
_SETEXT = re.compile(r"^(?P<title>[^\n]+)\n(?P<rule>=+|-+)$")
_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100}


def _roman_value(numeral: str) -> int:
    total = 0
    for char, following in zip(numeral, [*numeral[1:], ""]):
        value = _ROMAN_VALUES[char]
        total += -value if following and _ROMAN_VALUES[following] > value else value
    return total


def looks_like_title(title: str) -> bool:
    """Whether a line reads as a title: in capitals, or no final period and every long word capitalized."""
    if not any(c.islower() for c in title):
        return True  # "A SCANDAL IN BOHEMIA"
    long_words = [w for w in title.split() if len(w) > 3]
    return not title.endswith(".") and all(w[0].isupper() for w in long_words)


def find_headings(text: str, *, markdown: bool = False) -> list[tuple[str, int, int]]:
    """Chapter headings in clean text as (title, level, offset), offset at the heading paragraph.

    Recognises "CHAPTER I." / "Chapter 1" / "BOOK II" lines, "VII. THE BLUE
    CARBUNCLE", bare numerals that count up (I, II, III...), Markdown ``#`` and
    underlined headings.  Runs of three or more heading-like paragraphs in a
    row are a printed contents list and are skipped.
    """
    candidates: list[tuple[str, str, int, int]] = []  # (kind, title, md level, offset)
    expected_number = 1
    offset = 0
    for paragraph in text.split("\n\n"):
        found = _classify(paragraph.strip(), markdown)
        if found and found[0] == "bare":
            number = int(found[1]) if found[1].isdigit() else _roman_value(found[1])
            found = found if number == expected_number or number <= 2 else None
            expected_number = number + 1 if found else expected_number
        candidates.append((*found, offset) if found else ("", "", 0, offset))
        offset += len(paragraph) + 2
    candidates = _drop_contents_lists(candidates)
    has_parts = any(kind == "part" for kind, *_ in candidates)
    has_chapters = any(kind == "chapter" for kind, *_ in candidates)
    chapter_level = 2 if has_parts else 1
    levels = {"part": 1, "chapter": chapter_level, "named": chapter_level, "bare": chapter_level + int(has_chapters)}
    return [
        (short_title(title), md_level or levels[kind], position)
        for kind, title, md_level, position in candidates
        if kind
    ]


def _classify(paragraph: str, markdown: bool) -> tuple[str, str, int] | None:
    """(kind, title, markdown level) for a heading paragraph, else None."""
    if not paragraph or len(paragraph) > MAX_TITLE_CHARS or paragraph.count("\n") > 2:
        return None
    if markdown:
        md = _MARKDOWN.match(paragraph)
        if md and "\n" not in paragraph:
            return "md", md["title"], len(md["hashes"])
        setext = _SETEXT.match(paragraph)
        if setext:
            return "md", setext["title"], 1 if setext["rule"][0] == "=" else 2
    one_line = " ".join(paragraph.split())
    if _PART.match(one_line):
        return "part", one_line, 0
    if _CHAPTER.match(one_line):
        return "chapter", one_line, 0
    if _NAMED.match(one_line):
        return "named", one_line, 0  # "EPILOGUE": chapter level, but does not nest numbered sections
    roman_title = _ROMAN_TITLE.match(one_line)
    if roman_title and looks_like_title(roman_title["title"]):
        return "chapter", one_line, 0
    bare = _BARE_NUMBER.match(one_line)
    if bare:
        return "bare", bare["num"], 0
    return None


def _drop_contents_lists(candidates: list[tuple[str, str, int, int]]) -> list[tuple[str, str, int, int]]:
    """Blank out runs of 3+ back-to-back headings but their last one (which has text after it)."""
    out = list(candidates)
    run_start = 0
    for i in range(len(candidates) + 1):
        if i < len(candidates) and candidates[i][0] and candidates[i][0] != "md":
            continue
        if i - run_start >= 3:
            for j in range(run_start, i - 1):
                out[j] = ("", "", 0, candidates[j][3])
        run_start = i + 1
    return out


def toc_from_headings(headings: Iterable[tuple[str, int, int]], page_starts: Sequence[int]) -> list[TocEntry]:
    """TocEntry objects for headings found in text paginated by ``page_starts``."""
    return [
        TocEntry(title, level, offset, max(1, bisect.bisect_right(page_starts, offset)))
        for title, level, offset in headings
    ]
