"""The text of a book as the rest of the app sees it.

Loaders (``core/documents``) turn a file into a ``BookText``: clean text, a
map from character offsets to page numbers, the table of contents and the
metadata.  Everything downstream (segments, context windows, citations) works
on character offsets into ``BookText.text``.
"""

from __future__ import annotations

import bisect
import hashlib
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class TocEntry:
    """One entry of the table of contents."""

    title: str
    level: int  # 1 = top level
    offset: int  # character offset into BookText.text where the entry starts
    page: int  # 1-based page number (for reflowable formats: pymupdf's layout page)


@dataclass
class BookText:
    """A book's clean text plus what is needed to point back into the book."""

    text: str
    # page_starts[i] is the character offset where page i+1 begins; sorted,
    # page_starts[0] == 0.  Pages that carry no text share the offset of the next one.
    page_starts: list[int]
    title: str
    author: str = ""
    toc: list[TocEntry] = field(default_factory=list)
    source_path: Path | None = None
    format: str = "txt"  # "pdf", "epub", "txt", ...

    @property
    def page_count(self) -> int:
        return len(self.page_starts)

    @property
    def content_hash(self) -> str:
        """The book's identity: sha256 of its clean text (same text = same book)."""
        return text_hash(self.text)

    def page_at(self, offset: int) -> int:
        """1-based page number of the character at ``offset``."""
        if not self.page_starts:
            return 1
        return max(1, bisect.bisect_right(self.page_starts, offset))

    def pages_between(self, start: int, end: int) -> list[int]:
        """Pages touched by the character range [start, end)."""
        first = self.page_at(start)
        last = self.page_at(max(start, end - 1))
        return list(range(first, last + 1))

    def text_until_page(self, page: int) -> str:
        """Text up to the end of ``page`` (spoiler-safe reading position)."""
        if page >= self.page_count:
            return self.text
        return self.text[: self.page_starts[page]]


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
