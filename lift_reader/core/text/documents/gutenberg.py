"""Project Gutenberg boilerplate: find the book between the licence header and footer.

Gutenberg files wrap every book in a header (title, release date, "*** START
OF THE PROJECT GUTENBERG EBOOK ... ***") and a long licence after "*** END OF
... ***".  Neither is the book; memorizing the licence would make the model
recite it.  Older files use "*END*THE SMALL PRINT!...*END*" to close the header
and "End of Project Gutenberg's ..." to open the footer; EPUB and PDF editions
carry the same markers, sometimes wrapped over two lines.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_START = re.compile(
    r"^[ \t]*\*{3}[ \t]*START OF (?:THE|THIS) PROJECT GUTENBERG|^[ \t]*\*{3}START\*{2}THE SMALL PRINT",
    re.IGNORECASE | re.MULTILINE,
)
_OLD_HEADER_END = re.compile(
    r"^[ \t]*\*END\*?[ \t]*THE SMALL PRINT!.{0,200}?\*END\*", re.IGNORECASE | re.MULTILINE | re.DOTALL
)
_END = re.compile(
    r"^[ \t]*\*{3}[ \t]*END OF (?:THE|THIS) PROJECT GUTENBERG"
    r"|^[ \t]*End of (?:the |this )?Project Gutenberg",
    re.IGNORECASE | re.MULTILINE,
)
_CLOSING_STARS = re.compile(r"\*{3}")
# Credits right after the start marker belong to the edition, not the book.
_CREDITS = re.compile(
    r"(?:Produced|Prepared|Transcribed|E-?text prepared|This e-?(?:text|book) was (?:produced|prepared))\b",
    re.IGNORECASE,
)
_LEADING_BLANKS = re.compile(r"\s*")
_RUNS_ON = re.compile(r"(?:,|&|\band)\s*$")
_PARAGRAPH_END = re.compile(r"\n[ \t]*\n")


def gutenberg_body_span(text: str) -> tuple[int, int]:
    """(start, end) of the book inside ``text``; (0, len(text)) when there are no markers."""
    start, end = 0, len(text)
    marker = _START.search(text)
    if marker is not None:
        # The marker line may wrap ("...EBOOK MOBY-DICK; OR\nTHE WHALE ***"): end at its closing stars.
        stars = _CLOSING_STARS.search(text, marker.end(), marker.end() + 300)
        start = stars.end() if stars else _line_end(text, marker.end())
    else:
        old = _OLD_HEADER_END.search(text)
        if old is not None:
            start = old.end()
    if start:
        start = _skip_credits(text, start)
    footer = _END.search(text, start)
    if footer is not None:
        end = footer.start()
    return start, max(start, end)


def strip_gutenberg(text: str) -> str:
    """The book without the Gutenberg header, credits and licence footer."""
    start, end = gutenberg_body_span(text)
    return text[start:end]


def strip_gutenberg_pages(pages: Sequence[str]) -> list[str]:
    """``strip_gutenberg`` over a paged book: pages outside the book become empty."""
    joined = "\n".join(pages)
    start, end = gutenberg_body_span(joined)
    if (start, end) == (0, len(joined)):
        return list(pages)
    out, offset = [], 0
    for page in pages:
        lo, hi = max(start, offset), min(end, offset + len(page))
        out.append(joined[lo:hi] if lo < hi else "")
        offset += len(page) + 1
    return out


def _line_end(text: str, pos: int) -> int:
    newline = text.find("\n", pos)
    return len(text) if newline < 0 else newline


def _skip_credits(text: str, pos: int) -> int:
    first = _LEADING_BLANKS.match(text, pos).end()
    if not _CREDITS.match(text, first):
        return pos
    # A credit may run over several paragraphs when a layout split it after a
    # comma ("Produced by A, B,\n\nC and the Online ... Team").
    for _ in range(4):
        paragraph_end = _PARAGRAPH_END.search(text, first)
        if paragraph_end is None:
            return len(text)
        pos = paragraph_end.end()
        if not _RUNS_ON.search(text, first, paragraph_end.start()):
            break
        first = _LEADING_BLANKS.match(text, pos).end()
    return pos


# --- metadata from the header --------------------------------------------------


@dataclass(frozen=True)
class GutenbergMetadata:
    title: str = ""
    author: str = ""


_TITLE = re.compile(r"^[ \t]*Title:[ \t]*(.+?)[ \t]*$", re.MULTILINE)
_AUTHOR = re.compile(r"^[ \t]*Author:[ \t]*(.+?)[ \t]*$", re.MULTILINE)
_FIRST_LINE = re.compile(
    r"^\s*(?:The )?Project Gutenberg(?:'s|\u2019s)?\s+(?:E-?Book|Etext)?\s*(?:of\s+)?(.+?),\s+by\s+(.+?)\s*$",
    re.IGNORECASE | re.MULTILINE,
)


def gutenberg_metadata(text: str) -> GutenbergMetadata:
    """Title and author from a Gutenberg header ("Title: ...", or the first line)."""
    marker = _START.search(text)
    header = text[: marker.start()] if marker else text[:3000]
    if "gutenberg" not in header.casefold():
        return GutenbergMetadata()
    title = _TITLE.search(header)
    author = _AUTHOR.search(header)
    first = _FIRST_LINE.search(header)
    return GutenbergMetadata(
        title=title.group(1) if title else (first.group(1) if first else ""),
        author=author.group(1) if author else (first.group(2) if first else ""),
    )
