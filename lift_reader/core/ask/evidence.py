"""The passage of the book that best supports an answer, to quote under it and to highlight in the reader.

The answer's words (and, weighted less, the question's) rank the book's
retrieval passages with the same BM25 index ``rag`` uses (``retrieval.py``);
passages the model was shown get a bonus, since an answer usually comes from
them.  Within the best passage the sentence sharing the most answer terms is
the quote.  Spoiler-safe asking passes ``end_char`` (the reading position):
nothing after it is searched.  An answer that shares no content word with the
book has no evidence (``None``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lift_reader.core.text.book import BookText
from lift_reader.core.ask.passages import sentence_spans, terms
from lift_reader.core.text.documents.toc import looks_like_title

_SHOWN_BONUS = 1.5  # score factor of passages that were in the prompt
_QUESTION_WEIGHT = 0.5  # a question word counts half an answer word (it names the topic, not the answer)
_MIN_QUOTE_CHARS = 40  # a shorter best sentence is quoted with the sentence after it
_MAX_QUOTE_CHARS = 400


@dataclass(frozen=True)
class Evidence:
    """A quote of the book: its text and where it is ([start, end) characters of ``BookText.text``)."""

    quote: str
    start: int
    end: int
    page: int


def find_evidence(book: BookText, answer: str, question: str = "", *,
                  shown_spans: tuple[tuple[int, int], ...] = (), end_char: int | None = None) -> Evidence | None:
    """The quote that best supports ``answer`` in ``book.text[:end_char]``, or None when nothing does."""
    from lift_reader.core.ask.retrieval import passage_index

    answer_terms = set(terms(answer, query=True))
    if not answer_terms:
        return None
    index = passage_index(book, end_char)
    if not len(index):
        return None
    scores = index.bm25_scores(" ".join(sorted(answer_terms)))
    question_terms = set(terms(question, query=True)) - answer_terms
    if question_terms:
        scores = scores + _QUESTION_WEIGHT * index.bm25_scores(" ".join(sorted(question_terms)))
    if shown_spans:
        scores = scores * np.where(_overlaps(index.spans, shown_spans), _SHOWN_BONUS, 1.0)
    order = np.argsort(-scores, kind="stable")
    for i in order[:5]:
        if scores[i] <= 0:
            break
        start, end = (int(x) for x in index.spans[i])
        quote = _best_sentence(book.text, start, end, answer_terms, question_terms)
        if quote is not None:
            q_start, q_end = quote
            return Evidence(" ".join(book.text[q_start:q_end].split()), q_start, q_end, book.page_at(q_start))
    return None


def _overlaps(spans: np.ndarray, shown: tuple[tuple[int, int], ...]) -> np.ndarray:
    hit = np.zeros(len(spans), dtype=bool)
    for start, end in shown:
        hit |= (spans[:, 0] < end) & (spans[:, 1] > start)
    return hit


def _best_sentence(text: str, start: int, end: int, answer_terms: set[str],
                   question_terms: set[str]) -> tuple[int, int] | None:
    """[start, end) of the passage's sentence sharing the most answer terms (None if it shares none)."""
    sentences = list(sentence_spans(text, start, end))
    best, best_score = None, 0.0
    for k, (s, e) in enumerate(sentences):
        if _is_heading(text, s, e):  # a chapter title names a topic, it does not support an answer
            continue
        words = set(terms(text[s:e]))
        score = len(words & answer_terms) + _QUESTION_WEIGHT * len(words & question_terms)
        if len(words & answer_terms) and score > best_score:
            best, best_score = k, score
    if best is None:
        return None
    s, e = sentences[best]
    if e - s < _MIN_QUOTE_CHARS and best + 1 < len(sentences):
        e = sentences[best + 1][1]
    if e - s > _MAX_QUOTE_CHARS:  # a run-on "sentence": cut on a word boundary
        cut = text.rfind(" ", s, s + _MAX_QUOTE_CHARS)
        e = cut if cut > s else s + _MAX_QUOTE_CHARS
    return _without_stray_quote_marks(text, s, e)


def _without_stray_quote_marks(text: str, start: int, end: int) -> tuple[int, int]:
    """[start, end) without a quote mark at either end whose partner lies outside it: the last sentence
    of a speech ends with the speech's closing mark, which the quote's own marks made read 'doubts.""'."""
    piece = text[start:end]
    if piece.count('"') % 2 and piece.endswith('"'):
        end -= 1
    elif piece.count('"') % 2 and piece.startswith('"'):
        start += 1
    elif piece.endswith("”") and "“" not in piece:
        end -= 1
    elif piece.startswith("“") and "”" not in piece:
        start += 1
    return start, end


def _is_heading(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` is a title: in capitals ("IV—THE RABBIT SENDS IN A"), or a line of
    its own that reads as one (the table of contents' test: "Down the Rabbit-Hole", "Chapter 4")."""
    piece = text[start:end]
    alone = text[max(0, start - 1):start] in ("", "\n") and text[end:end + 1] in ("", "\n")
    return (piece.isupper() or alone) and looks_like_title(piece)
