"""Find in book: where a query occurs in the book's clean text, and which match is current.

Searching ``BookText.text`` rather than the rendered pages makes find work
the same for every format, and gives exact pages through ``page_at``.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

from lift_reader.core.text.book import BookText

MAX_MATCHES = 5000  # enough for any real search; a one-letter query must not freeze the window


@dataclass
class BookSearch:
    query: str = ""
    matches: list[int] = field(default_factory=list)  # character offsets, in book order
    current: int = -1

    def start(self, book: BookText, query: str, from_offset: int, forward: bool) -> None:
        """A new query: the first step goes to the first match at or after ``from_offset``
        (or the last one before it, going backwards), not to the start of the book."""
        self.query = query
        pattern = re.compile(re.escape(query), re.IGNORECASE)
        self.matches = [m.start() for m in itertools.islice(pattern.finditer(book.text), MAX_MATCHES)]
        later = next((i for i, offset in enumerate(self.matches) if offset >= from_offset), 0)
        self.current = later - 1 if forward else later

    def step(self, forward: bool) -> int | None:
        """Move to the next (or previous) match, wrapping around; its offset, or None."""
        if not self.matches:
            return None
        self.current = (self.current + (1 if forward else -1)) % len(self.matches)
        return self.matches[self.current]

    @property
    def status(self) -> str:
        if not self.matches:
            return "Not found" if self.query else ""
        more = "+" if len(self.matches) == MAX_MATCHES else ""
        return f"{self.current + 1} of {len(self.matches)}{more}"

    def on_page(self, book: BookText, page: int) -> tuple[list[int], int]:
        """Offsets of the matches on ``page``, and the index among them of the current one (or -1)."""
        indices = [i for i, offset in enumerate(self.matches) if book.page_at(offset) == page]
        current = indices.index(self.current) if self.current in indices else -1
        return [self.matches[i] for i in indices], current

    def clear(self) -> None:
        self.query, self.matches, self.current = "", [], -1
