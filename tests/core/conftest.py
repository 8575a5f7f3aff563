"""Fixtures shared by the core tests."""

import pytest

from lift_reader.core.book import BookText
from lift_reader.core.segments import tokenize_book


@pytest.fixture
def book(story_text):
    """The sample story with synthetic pages of 2,000 characters, so page numbers can be checked."""
    return BookText(text=story_text, page_starts=list(range(0, len(story_text), 2000)), title="The Ledger")


@pytest.fixture
def tokens(book, tiny_parts):
    return tokenize_book(book.text, tiny_parts[0])
