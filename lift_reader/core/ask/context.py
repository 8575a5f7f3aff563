"""The truncated book context placed before a question (the ICL half of LIFT+ICL).

The method keeps the first and the last tokens of the book around a visible
marker.  A ``ContextWindow`` remembers which character ranges of the book it
holds, so every answer can say which pages it was shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lift_reader.core.text.book import BookText
from lift_reader.core.text.book_tokens import BookTokens

MARKER = "\n\n[...]\n\n"


@dataclass(frozen=True)
class ContextWindow:
    """Book text for the prompt plus the character spans of the book it came from."""

    text: str
    spans: tuple[tuple[int, int], ...] = field(default_factory=tuple)
    n_tokens: int = 0

    def pages(self, book: BookText) -> list[int]:
        pages: set[int] = set()
        for start, end in self.spans:
            pages.update(book.pages_between(start, end))
        return sorted(pages)

    @property
    def is_empty(self) -> bool:
        return not self.text


EMPTY_CONTEXT = ContextWindow("")


def head_tail_context(book: BookText, tokens: BookTokens, budget_tokens: int) -> ContextWindow:
    """The first and last ``budget_tokens / 2`` tokens of the book, joined by MARKER.

    The whole book is returned when it fits.  Cuts fall on token boundaries
    (``tokens.char_starts``), so the window holds at most ``budget_tokens``
    book tokens (the marker adds a handful).
    """
    n = len(tokens)
    if budget_tokens <= 0 or n == 0:
        return EMPTY_CONTEXT
    text, end_char = book.text, tokens.end_char
    if n <= budget_tokens:
        return ContextWindow(text[:end_char], ((0, end_char),), n)
    head_n = budget_tokens // 2
    tail_n = budget_tokens - head_n
    head_end = int(tokens.char_starts[head_n])
    tail_start = int(tokens.char_starts[n - tail_n])
    body = text[:head_end].rstrip() + MARKER + text[tail_start:end_char].lstrip()
    return ContextWindow(body, ((0, head_end), (tail_start, end_char)), budget_tokens)
