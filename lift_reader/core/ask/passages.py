"""Cut a book into passages for retrieval, keeping their character offsets; BM25 terms.

A passage is about 100-200 model tokens (we count words, ~1.3 tokens each
in English, so the cut does not depend on the tokenizer and one index serves
every model).  Cuts fall on paragraph breaks where possible, else on sentence
ends, else (a run-on "sentence" longer than a passage) between words.
Offsets point into ``BookText.text``, so every passage maps to pages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

_PARAGRAPH_BREAK = re.compile(r"\n[ \t\r\f\v]*\n\s*")
# A sentence ends at . ! ? (optionally followed by closing quotes/brackets) and whitespace.
_SENTENCE_END = re.compile(r"[.!?\u2026][\"'\u201d\u2019)\]]*\s+")
_WORD = re.compile(r"\S+")
_TERM = re.compile(r"\w+")


@dataclass(frozen=True)
class PassageSizes:
    """Passage length bounds, in words."""

    target_words: int = 110
    """Close a passage once it holds this many words (~145 tokens)."""
    min_words: int = 60
    """Below this a passage goes on past a paragraph break."""
    max_words: int = 150
    """Never exceed this (~200 tokens); longer sentences are cut between words."""


@dataclass(frozen=True)
class _Unit:
    start: int
    end: int
    words: int
    opens_paragraph: bool


def _paragraph_spans(text: str, start: int, end: int):
    pos = start
    for m in _PARAGRAPH_BREAK.finditer(text, start, end):
        yield pos, m.start()
        pos = m.end()
    yield pos, end


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _sentence_spans(text: str, start: int, end: int):
    pos = start
    for m in _SENTENCE_END.finditer(text, start, end):
        yield pos, m.end()
        pos = m.end()
    if pos < end:
        yield pos, end


def _sentences(text: str, start: int, end: int):
    """(start, end, opens a paragraph) of each trimmed sentence of ``text[start:end]``."""
    for p_start, p_end in _paragraph_spans(text, start, end):
        first = True
        for s_start, s_end in _sentence_spans(text, p_start, p_end):
            s_start, s_end = _trim(text, s_start, s_end)
            if s_start < s_end:
                yield s_start, s_end, first
                first = False


def sentence_spans(text: str, start: int, end: int):
    """[start, end) of each sentence of ``text[start:end]`` (paragraph breaks end sentences too), trimmed."""
    for s_start, s_end, _ in _sentences(text, start, end):
        yield s_start, s_end


def _units(text: str, end_char: int, max_words: int):
    """Sentences (or word runs of at most ``max_words``), flagged where a paragraph opens."""
    for s_start, s_end, opens_paragraph in _sentences(text, 0, end_char):
        words = [m.span() for m in _WORD.finditer(text, s_start, s_end)]
        for i in range(0, len(words), max_words):
            chunk = words[i:i + max_words]
            yield _Unit(chunk[0][0], chunk[-1][1], len(chunk), opens_paragraph and i == 0)


def split_passages(text: str, end_char: int | None = None, sizes: PassageSizes = PassageSizes()) -> np.ndarray:
    """Passages of ``text[:end_char]`` as an int64 array of shape (n, 2): [start, end) offsets.

    Passages are in book order, do not overlap, and start and end on
    non-space characters.  Cost: one regex pass over the text.
    """
    end_char = len(text) if end_char is None else min(end_char, len(text))
    spans: list[tuple[int, int]] = []
    cur_start = cur_end = -1
    cur_words = 0
    for unit in _units(text, end_char, sizes.max_words):
        if cur_words and (cur_words >= sizes.target_words
                          or cur_words + unit.words > sizes.max_words
                          or (unit.opens_paragraph and cur_words >= sizes.min_words)):
            spans.append((cur_start, cur_end))
            cur_words = 0
        if not cur_words:
            cur_start = unit.start
        cur_end = unit.end
        cur_words += unit.words
    if cur_words:
        spans.append((cur_start, cur_end))
    return np.asarray(spans, dtype=np.int64).reshape(-1, 2)


# English function words (the usual ~170 of NLTK's and Lucene's lists, written out here).
_STOPWORDS = frozenset("""
a about above after again against all am an and any are aren as at be because been before being below between
both but by can cannot could couldn did didn do does doesn doing don down during each few for from further had
hadn has hasn have haven having he her here hers herself him himself his how i if in into is isn it its itself
just ll me more most mustn my myself no nor not now of off on once only or other ought our ours ourselves out
over own re same shan she should shouldn so some such than that the their theirs them themselves then there these
they this those through to too under until up ve very was wasn we were weren what when where which while who whom
why will with won would wouldn you your yours yourself yourselves also did does got get gets let may might must
shall upon us whose whatever whenever wherever whether yet
""".split())
# Words that questions about a book use without naming its content ("What does the book say about X?").
_QUESTION_NOISE = frozenset("book story text article passage author chapter say says said tell mention mentioned "
                            "describe described according".split())


def _stem(word: str) -> str:
    """A light plural stemmer, the same for passages and questions ("sovereigns" = "sovereign")."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def terms(text: str, *, query: bool = False) -> list[str]:
    """BM25 terms: lower-cased words, stop words and single letters removed, plurals folded.

    ``query=True`` also drops the words questions use to point at the book itself.
    """
    drop = _STOPWORDS | _QUESTION_NOISE if query else _STOPWORDS
    return [_stem(w) for w in _TERM.findall(text.lower())
            if w not in drop and (len(w) > 1 or w.isdigit())]
