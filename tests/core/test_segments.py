import numpy as np
import pytest
from hypothesis import given, strategies as st

from lift_reader.core.text.book_tokens import BookTokens, tokenize_book

from lift_reader.core.text.segments import SegmentPlan, default_stride
from lift_reader.errors import BadInputError


def test_method_defaults_stride_is_three_eighths():
    assert default_stride(2048) == 768
    assert default_stride(256) == 96


def test_first_starts_at_zero_last_ends_at_end():
    plan = SegmentPlan.for_book(1000, 256)
    assert plan.bounds(0) == (0, 256)
    assert plan.bounds(len(plan) - 1)[1] == 1000
    starts = [plan.start(i) for i in range(len(plan))]
    assert starts[:3] == [0, 96, 192]


def test_short_book_is_one_segment():
    plan = SegmentPlan.for_book(100, 256)
    assert len(plan) == 1 and plan.bounds(0) == (0, 100)


def test_bad_plans_are_refused():
    with pytest.raises(BadInputError):
        SegmentPlan(1000, 256, 300)
    with pytest.raises(BadInputError):
        SegmentPlan(1, 256, 96)


@given(n=st.integers(2, 20_000), length=st.integers(2, 512), frac=st.floats(0.05, 1.0))
def test_every_token_covered_in_order_with_configured_overlap(n, length, frac):
    stride = max(1, min(length, int(length * frac)))
    plan = SegmentPlan(n, length, stride)
    bounds = [plan.bounds(i) for i in range(len(plan))]
    covered = np.zeros(n, dtype=bool)
    for a, b in bounds:
        assert 0 <= a < b <= n
        assert b - a == min(length, n)  # equal lengths: batches need no padding
        covered[a:b] = True
    assert covered.all()
    assert bounds[0][0] == 0 and bounds[-1][1] == n
    starts = [a for a, _ in bounds]
    assert starts == sorted(set(starts))  # strictly increasing, no duplicates
    # regular steps are exactly the stride; the last one may be shorter
    assert all(b - a == stride for a, b in zip(starts[:-2], starts[1:-1]))
    assert all(0 < b - a <= stride for a, b in zip(starts[-2:-1], starts[-1:]))


def test_tokenize_keeps_offsets_and_round_trips(tiny_parts, story_text, tmp_path):
    tok, _ = tiny_parts
    tokens = tokenize_book(story_text, tok)
    assert len(tokens) > 1000 and tokens.ids.dtype == np.int32
    assert tokens.char_starts[0] == 0 and np.all(np.diff(tokens.char_starts) >= 0)
    assert tok.decode(tokens.ids[:50].tolist()) == story_text[: tokens.char_starts[50]]
    tokens.save(tmp_path / "t.npz")
    again = BookTokens.load(tmp_path / "t.npz")
    assert np.array_equal(again.ids, tokens.ids) and again.end_char == len(story_text)


def test_chunked_tokenization_matches_one_pass(tiny_parts, story_text, monkeypatch):
    from lift_reader.core.text import book_tokens

    tok, _ = tiny_parts
    whole = tokenize_book(story_text, tok)
    monkeypatch.setattr(book_tokens, "_TOKENIZE_CHUNK_CHARS", 2000)
    chunked = tokenize_book(story_text, tok)
    # Cuts fall at paragraph breaks, so the decoded text is identical.
    assert tok.decode(chunked.ids.tolist()) == tok.decode(whole.ids.tolist())
    assert abs(len(chunked) - len(whole)) <= len(story_text) // 2000 + 1
