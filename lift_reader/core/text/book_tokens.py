"""The whole book as tokens: compact int32 ids with each token's start in the text.

Memory must not grow with the book on the accelerator: the whole book lives
once, on the CPU, as a compact int32 array (4 bytes a token: Moby Dick's
~300K tokens take 1.2 MB), and segments (core/text/segments.py) are sliced
from it on demand.  The array is cached on disk per book and tokenizer.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lift_reader.store.atomic import atomic_write_bytes

# Tokenize in pieces of about this many characters, cut at paragraph breaks:
# a fast tokenizer's offset lists for a 50M-character text would otherwise
# take gigabytes of Python objects at once.
_TOKENIZE_CHUNK_CHARS = 200_000


@dataclass
class BookTokens:
    """Token ids of the whole book plus, for each token, its start in the text."""

    ids: np.ndarray  # int32, shape (L,)
    char_starts: np.ndarray  # int64, shape (L,): offset into BookText.text
    end_char: int  # where the tokenized text ends (len(text), or a spoiler-safe cut)

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def token_index_at(self, char_offset: int) -> int:
        """Index of the first token that starts at or after ``char_offset``."""
        return int(np.searchsorted(self.char_starts, char_offset, side="left"))

    def until_char(self, char_offset: int) -> "BookTokens":
        """The tokens of the text before ``char_offset`` (spoiler-safe memorizing)."""
        n = self.token_index_at(char_offset)
        return BookTokens(self.ids[:n], self.char_starts[:n], min(char_offset, self.end_char))

    def save(self, path: Path) -> None:

        buf = io.BytesIO()
        np.savez(buf, ids=self.ids, char_starts=self.char_starts, end_char=np.int64(self.end_char))
        atomic_write_bytes(path, buf.getvalue())

    @classmethod
    def load(cls, path: Path) -> "BookTokens":
        with np.load(path, allow_pickle=False) as data:
            return cls(
                ids=data["ids"].astype(np.int32),
                char_starts=data["char_starts"].astype(np.int64),
                end_char=int(data["end_char"]),
            )


def tokenize_book(text: str, tokenizer) -> BookTokens:
    """Tokenize the whole text without special tokens, keeping character offsets."""
    ids: list[np.ndarray] = []
    starts: list[np.ndarray] = []
    pos = 0
    while pos < len(text):
        end = _chunk_end(text, pos)
        enc = tokenizer(text[pos:end], add_special_tokens=False, return_offsets_mapping=True)
        ids.append(np.asarray(enc["input_ids"], dtype=np.int32))
        offs = enc["offset_mapping"]
        starts.append(np.asarray([o[0] for o in offs], dtype=np.int64) + pos)
        pos = end
    if not ids:
        return BookTokens(np.zeros(0, np.int32), np.zeros(0, np.int64), 0)
    return BookTokens(np.concatenate(ids), np.concatenate(starts), len(text))


def _chunk_end(text: str, start: int) -> int:
    end = start + _TOKENIZE_CHUNK_CHARS
    if end >= len(text):
        return len(text)
    cut = text.rfind("\n\n", start + _TOKENIZE_CHUNK_CHARS // 2, end)
    if cut == -1:
        cut = text.rfind(" ", start + _TOKENIZE_CHUNK_CHARS // 2, end)
    return cut + 1 if cut != -1 else end


def tokenizer_fingerprint(tokenizer) -> str:
    """Identity of a tokenizer's vocabulary, for caching token arrays.

    Sorting a 262K-entry vocabulary takes a noticeable fraction of a second,
    and every question looks the book's tokens up by it: computed once per
    tokenizer object.
    """
    cached = getattr(tokenizer, "_lift_fingerprint", None)
    if cached is not None:
        return cached
    vocab = tokenizer.get_vocab()
    h = hashlib.sha256(str(len(vocab)).encode())
    for token, idx in sorted(vocab.items(), key=lambda kv: kv[1])[:5000]:
        h.update(f"{idx}:{token}".encode("utf-8", "replace"))
    fingerprint = h.hexdigest()[:16]
    try:
        tokenizer._lift_fingerprint = fingerprint
    except AttributeError:  # a tokenizer that refuses new attributes: recompute next time
        pass
    return fingerprint
