"""Properties of the cleaning and page-map functions, over generated text."""

from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st

from lift_reader.core.text.documents.cleaning import (
    build_vocabulary,
    normalize_unicode,
    strip_page_furniture,
    unwrap_paragraphs,
)
from lift_reader.core.text.documents.pagination import join_pages, paginate

HYPHENS = "-\u2010"

# Words, hyphens, punctuation, spaces and line breaks in proportions that
# produce hyphenated line ends, short lines, blank lines and lists.
tokens = st.sampled_from(
    [
        "exam",
        "ple",
        "Anglo",
        "Saxon",
        "the",
        "keeper",
        "-",
        "--",
        "- ",
        "\n",
        "\n",
        "\n\n",
        " ",
        "  ",
        "1. ",
        "• ",
        "# ",
        ".",
        ",",
        "é",
        "x",
    ]
)
texts = st.lists(tokens, max_size=80).map("".join)
page_texts = st.lists(texts, max_size=8)
# Per-test settings (a global profile would change other suites' runs too).
quick = settings(max_examples=100, deadline=None)


def _visible(text: str) -> str:
    return "".join(text.split())


def _is_input_minus_hyphens(result: str, source: str) -> bool:
    """``result`` equals ``source`` with some hyphens deleted (whitespace ignored)."""
    i = 0
    for char in source:
        if i < len(result) and result[i] == char:
            i += 1
        elif char not in HYPHENS:
            return False
    return i == len(result)


@quick
@given(texts, st.booleans())
def test_unwrapping_loses_nothing_but_hyphens(text, keep_short_lines):
    vocabulary = build_vocabulary([text])
    result = unwrap_paragraphs(text, vocabulary=vocabulary, keep_short_lines=keep_short_lines)
    assert _is_input_minus_hyphens(_visible(result), _visible(text))
    assert "\n\n\n" not in result and result == result.strip()


@quick
@given(texts)
def test_unwrapping_is_idempotent_without_short_line_rule(text):
    once = unwrap_paragraphs(text, keep_short_lines=False)
    assert unwrap_paragraphs(once, keep_short_lines=False) == once


@quick
@given(st.text(max_size=200))
def test_normalize_unicode_is_idempotent_and_line_based(text):
    once = normalize_unicode(text)
    assert normalize_unicode(once) == once
    assert "\r" not in once


@quick
@given(page_texts)
def test_join_pages_gives_a_sorted_map_into_the_text(pages):
    cleaned = [unwrap_paragraphs(page, keep_short_lines=False) for page in pages]
    text, starts = join_pages(cleaned, build_vocabulary(cleaned))
    assert len(starts) == max(1, len(pages))
    assert starts == sorted(starts)
    assert starts[0] == 0
    assert all(0 <= start <= len(text) for start in starts)
    for page, start in zip(cleaned, starts):
        body = page.strip()
        if body:
            # A page's text starts exactly at its offset (its last hyphen may have gone to a seam).
            assert text[start : start + len(body) - 1] == body[:-1]


@quick
@given(st.lists(st.text(alphabet=string.ascii_letters + " .", min_size=1, max_size=900), min_size=1, max_size=30))
def test_paginate_pages_are_bounded_and_cover_the_text(paragraphs):
    text = "\n\n".join(p.strip() or "x" for p in paragraphs)
    starts = paginate(text, target_chars=1000)
    assert starts[0] == 0
    assert starts == sorted(set(starts))
    assert all(start < len(text) for start in starts)
    ends = [*starts[1:], len(text)]
    assert all(end - start <= 1500 for start, end in zip(starts, ends))


@quick
@given(page_texts)
def test_furniture_stripping_only_removes_whole_lines(pages):
    cleaned = strip_page_furniture(pages)
    assert len(cleaned) == len(pages)
    for before, after in zip(pages, cleaned):
        remaining = iter(before.split("\n"))
        assert all(any(line == kept for kept in remaining) for line in after.split("\n") if after)
