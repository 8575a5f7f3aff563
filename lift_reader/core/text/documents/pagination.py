"""Pages: join cleaned page texts into one text with an exact page map, or cut
reflowable text into synthetic pages.

``page_starts[i]`` is the offset of page i+1 in the final text.  We never
edit the text after computing it, so the map is exact by construction: a
citation "p. 12" points where the reader sees page 12 begin.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from lift_reader.core.text.documents.cleaning import Vocabulary, join_hyphenated

TARGET_PAGE_CHARS = 3000  # about one printed page of prose

# Characters that can end a paragraph; a page ending in anything else (a word,
# a comma) runs on into the next page.
_TERMINAL = frozenset(".!?:;\"'\u201d\u2019)]}\u2026*")
_DASHES = ("--", "\u2014", "\u2013")
_PARAGRAPH_BREAK = re.compile(r"\n\n+")
_SENTENCE_END = re.compile(r"[.!?\u2026][\"'\u2019\u201d)\]]*\s+")
_WHITESPACE = re.compile(r"\s+")


def join_pages(pages: Sequence[str], vocabulary: Vocabulary | None = None) -> tuple[str, list[int]]:
    """One text from per-page texts, and where each page starts in it.

    A paragraph cut by a page break is joined again ("exam-" | "ple" ->
    "example", "the" | "cat" -> "the cat"); otherwise pages meet at a
    paragraph break.  Pages without text share the start of the next page
    (trailing ones point at the end of the text).
    """
    parts: list[str] = []
    starts: list[int | None] = []
    length = 0
    for page in pages:
        page = page.strip()
        if not page:
            starts.append(None)
            continue
        if parts:
            separator, drop = _page_seam(parts[-1], page, vocabulary)
            if drop:
                parts[-1] = parts[-1][:-drop]
                length -= drop
            parts.append(separator)
            length += len(separator)
        starts.append(length)
        parts.append(page)
        length += len(page)
    text = "".join(parts)
    filled: list[int] = []
    following = len(text)
    for start in reversed(starts):
        following = following if start is None else start
        filled.append(following)
    filled.reverse()
    return text, filled or [0]


def _page_seam(before: str, after: str, vocabulary: Vocabulary | None) -> tuple[str, int]:
    """(separator, characters to drop from ``before``) where two pages meet."""
    joined = join_hyphenated(before, after, vocabulary)
    if joined is not None:
        return "", len(before) + len(after) - len(joined)
    if before.endswith(_DASHES):
        return "", 0
    if before[-1] not in _TERMINAL and after[0].islower():
        return " ", 0
    return "\n\n", 0


def paginate(text: str, target_chars: int = TARGET_PAGE_CHARS, heading_offsets: Iterable[int] = ()) -> list[int]:
    """Synthetic page starts for reflowable text: ~``target_chars`` a page, cut between paragraphs.

    A heading starts a new page when the current one is at least a third full,
    so chapters tend to begin on their own page.  A paragraph longer than 1.5
    pages is cut after a sentence (or, failing that, at a space).
    """
    if not text:
        return [0]
    headings = set(heading_offsets)
    paragraph_starts = [0, *(m.end() for m in _PARAGRAPH_BREAK.finditer(text))]
    paragraph_ends = [*paragraph_starts[1:], len(text)]
    starts = [0]
    for start, end in zip(paragraph_starts, paragraph_ends):
        page_start = starts[-1]
        too_long = end - page_start > target_chars
        chapter_begins = start in headings and start - page_start >= target_chars // 3
        if start > page_start and (too_long or chapter_begins):
            starts.append(start)
        while end - starts[-1] > target_chars * 1.5:
            starts.append(_cut_point(text, starts[-1], target_chars))
    return starts


def _cut_point(text: str, page_start: int, target_chars: int) -> int:
    lo, hi = page_start + target_chars // 2, page_start + target_chars
    cut = None
    for match in _SENTENCE_END.finditer(text, lo, hi):
        cut = match.end()
    if cut is None:
        for match in _WHITESPACE.finditer(text, lo, hi):
            cut = match.end()
    return cut if cut is not None and cut < len(text) else hi
