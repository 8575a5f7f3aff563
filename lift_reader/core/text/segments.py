"""The overlapping segments LIFT trains on, sliced on demand from the book's tokens
(core/text/book_tokens.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from lift_reader.errors import BadInputError


def default_stride(length: int) -> int:
    """The method's stride, s = 3/8 l (neighbours overlap by 5/8 l)."""
    return max(1, (3 * length) // 8)


@dataclass(frozen=True)
class SegmentPlan:
    """Overlapping windows over a token sequence of length ``n_tokens``.

    Starts advance by ``stride``; the first segment starts at token 0 and the
    last one ends at the last token, so every segment has exactly ``length``
    tokens (equal lengths batch without padding) unless the whole book is
    shorter than one segment.
    """

    n_tokens: int
    length: int
    stride: int

    def __post_init__(self):
        if self.length < 2:
            raise BadInputError("segment length must be at least 2 tokens")
        if not 1 <= self.stride <= self.length:
            raise BadInputError(f"stride must be between 1 and the segment length ({self.length})")
        if self.n_tokens < 2:
            raise BadInputError("the book has fewer than 2 tokens: nothing to memorize")

    @classmethod
    def for_book(cls, n_tokens: int, length: int, stride: int | None = None) -> "SegmentPlan":
        return cls(n_tokens, length, stride if stride else default_stride(length))

    @property
    def segment_length(self) -> int:
        """Length of every segment (the book's length if it is shorter than one)."""
        return min(self.length, self.n_tokens)

    def __len__(self) -> int:
        if self.n_tokens <= self.length:
            return 1
        # Regular starts 0, s, 2s, ... strictly before the last start L - l,
        # then the last segment, flush with the end of the book.
        last_start = self.n_tokens - self.length
        return math.ceil(last_start / self.stride) + 1

    def start(self, i: int) -> int:
        n = len(self)
        if not 0 <= i < n:
            raise IndexError(i)
        if i == n - 1:
            return max(0, self.n_tokens - self.length)
        return i * self.stride

    def bounds(self, i: int) -> tuple[int, int]:
        s = self.start(i)
        return s, s + self.segment_length

    def tokens_per_epoch(self) -> int:
        return len(self) * self.segment_length
