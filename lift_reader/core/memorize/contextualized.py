"""The method's contextualized variant: each segment is trained after a short excerpt of the book.

Raw-segment LIFT trains the adapter on book text with nothing before it, yet
the app always asks with book text in the prompt (head and tail, or retrieved
passages).  Here every training segment is preceded by the same header the
answer prompt starts with ("Book: <title>"), an excerpt of the head or the tail
of the book, the "[...]" marker and an instruction to recite; the loss still
falls on the segment's tokens only.  The adapter thus learns the book in the
situation it is used in.

The prefix is made of the book's own token ids (no re-tokenizing of the text)
and has the same length for every segment, so segments still batch without
padding.  Which end of the book and where in it is seeded by the run's seed,
the epoch and the segment, so a resumed run trains on the same prefixes.
"""

from __future__ import annotations

import numpy as np

from lift_reader.core.ask.context import MARKER
from lift_reader.core.text.book_tokens import BookTokens

EXCERPT_TOKENS = 64
"""Book tokens in each prefix: enough to look like the answer prompt's context at +25% cost."""
HEAD_TAIL_TOKENS = 512
"""Excerpts are drawn from the first or the last this-many tokens, the part of the book
that the app's head-and-tail window shows (1,024 tokens on the CPU)."""
RECITE_INSTRUCTION = "Recite the book from here:\n"
FRAMING_TOKENS = 20
"""About what the header, marker and instruction add to the excerpt (for estimates; titles vary)."""


def prefix_tokens(settings) -> int:
    """About how many tokens each segment's prefix adds under ``settings`` (0 when not contextualized)."""
    return EXCERPT_TOKENS + FRAMING_TOKENS if settings.contextualized else 0


class SegmentPrefixes:
    """Prefix token ids for the segments of one book."""

    def __init__(self, tokenizer, title: str, tokens: BookTokens, seed: int,
                 excerpt_tokens: int = EXCERPT_TOKENS, head_tail_tokens: int = HEAD_TAIL_TOKENS):
        bos = [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []
        encode = lambda text: tokenizer(text, add_special_tokens=False)["input_ids"]  # noqa: E731
        self._header = np.asarray(bos + encode(f"Book: {title}\n\n"), dtype=np.int64)
        self._trailer = np.asarray(encode(MARKER) + encode(RECITE_INSTRUCTION), dtype=np.int64)
        self._ids = tokens.ids
        n = len(tokens)
        self._excerpt = min(excerpt_tokens, n)
        # Starts an excerpt may take: inside the head region or inside the tail region.
        region = max(self._excerpt, min(head_tail_tokens, n))
        last_head_start = region - self._excerpt
        first_tail_start = n - region
        self._starts = np.unique(np.concatenate([np.arange(0, last_head_start + 1),
                                                 np.arange(first_tail_start, n - self._excerpt + 1)]))
        self._seed = seed

    @property
    def header_length(self) -> int:
        """Tokens before the excerpt (BOS and the "Book: <title>" line)."""
        return len(self._header)

    @property
    def length(self) -> int:
        return len(self._header) + self._excerpt + len(self._trailer)

    def for_segment(self, epoch: int, segment: int) -> np.ndarray:
        rng = np.random.default_rng([self._seed, 17, epoch, segment])
        start = int(self._starts[int(rng.integers(len(self._starts)))])
        excerpt = self._ids[start:start + self._excerpt].astype(np.int64)
        return np.concatenate([self._header, excerpt, self._trailer])
