"""The scorer that reuses one prompt encoding gives what the app's own stream gives."""

import pytest
import torch

from lift_reader.core.ask.answering import AskSettings, prepare_answer
from lift_reader.core.text.book import BookText
from lift_reader.core.evaluation.scoring import (
    BaselineScorer,
    PromptScorer,
    answer_ids,
    common_prefix_length,
    encode,
    model_state,
)
from lift_reader.core.ask.generation import SamplingSettings
from lift_reader.core.text.book_tokens import tokenize_book


@pytest.fixture
def book(story_text):
    return BookText(text=story_text[:8000], page_starts=[0, 4000], title="The Ledger")


@pytest.fixture
def tokens(book, tiny_parts):
    return tokenize_book(book.text, tiny_parts[0])


def test_greedy_answer_and_likelihood_match_the_answer_stream(tiny_lm, book, tokens):
    settings = AskSettings(mode="icl", context_tokens=200, sampling=SamplingSettings(max_new_tokens=12))
    stream = prepare_answer(tiny_lm, book, tokens, "Who keeps the light?", adapter=None, settings=settings)
    with model_state(tiny_lm, None):
        scorer = PromptScorer(tiny_lm, stream.prompt_ids)
        greedy = scorer.greedy(12)
        ll = scorer.logprob(answer_ids(tiny_lm, "the keeper of the light"))
    assert greedy == stream.full_text()
    expected, n = stream.answer_logprob("the keeper of the light")
    assert n == len(answer_ids(tiny_lm, "the keeper of the light"))
    assert ll == pytest.approx(expected, abs=1e-3)


def test_a_shared_prefix_gives_the_same_scores(tiny_lm, book, tokens):
    settings = AskSettings(mode="icl", context_tokens=300, sampling=SamplingSettings(max_new_tokens=8))
    one = prepare_answer(tiny_lm, book, tokens, "Who keeps the light?", adapter=None, settings=settings).prompt_ids
    two = prepare_answer(tiny_lm, book, tokens, "Where is the boat?", adapter=None, settings=settings).prompt_ids
    shared = common_prefix_length(one, two)
    assert shared > 200  # title + the whole head-and-tail context
    prefix = encode(tiny_lm.model, one[:shared])
    ids = answer_ids(tiny_lm, "at the harbour")
    plain, reused = PromptScorer(tiny_lm, two), PromptScorer(tiny_lm, two, prefix)
    assert reused.logprob(ids) == pytest.approx(plain.logprob(ids), abs=1e-3)
    assert reused.greedy(8) == plain.greedy(8)


@pytest.mark.parametrize("arch", ["llama", "gemma3"])
def test_chunked_encoding_equals_one_pass(tiny_parts, arch):
    from lift_reader.core.model.tiny_model import tiny_model

    model = tiny_model(tiny_parts[0], arch=arch)  # gemma3: sliding-window layers (window 64)
    ids = list(range(5, 305))
    one = encode(model, ids, chunk=4096)
    chunked = encode(model, ids, chunk=70)
    assert torch.allclose(one.last_logits, chunked.last_logits, atol=1e-4)


def test_baseline_is_cached_per_option(tiny_lm):
    baseline = BaselineScorer(tiny_lm, "The Ledger")
    first = baseline("the keeper")
    assert baseline("the keeper") == first and len(baseline._cache) == 1
    assert baseline("a fox") != first
