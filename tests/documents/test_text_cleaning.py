"""The pure cleaning rules, one by one."""

from __future__ import annotations

import pytest

from lift_reader.core.text.documents.cleaning import (
    build_vocabulary,
    clean_plain_text,
    is_page_number,
    join_hyphenated,
    normalize_unicode,
    strip_gutenberg,
    strip_gutenberg_pages,
    strip_page_furniture,
    unwrap_paragraphs,
)
from lift_reader.core.text.documents.gutenberg import gutenberg_metadata
from lift_reader.core.text.documents.titles import clean_author, clean_title, title_from_path


def test_normalize_unicode():
    raw = "ﬁne ﬂour, e\ufb00ort\r\nsoft\u00adhyphen, cafe\u0301\u00a0ok\u200b\x01\ufeff\uf731\uf739"
    assert normalize_unicode(raw) == "fine flour, effort\nsofthyphen, café ok19"


def test_normalize_unicode_keeps_meaningful_characters():
    text = "x² — “quoted” ‘single’ … 5€ Ελληνικά 中文"
    assert normalize_unicode(text) == text


@pytest.mark.parametrize("line", ["12", "- 12 -", "(7)", "Page 3", "Page 3 of 10", "3 / 10", "xiv", "47699"])
def test_page_numbers(line):
    assert is_page_number(line)


@pytest.mark.parametrize("line", ["CHAPTER I.", "mix it", "The end", "12 ships", "1999 was a year", ""])
def test_not_page_numbers(line):
    assert not is_page_number(line)


def test_capital_roman_numbers_only_where_allowed():
    assert not is_page_number("IV")
    assert is_page_number("IV", allow_capital_roman=True)


def page(head: str, body: str, foot: str = "") -> str:
    return "\n".join(part for part in (head, body, foot) if part)


def test_repeated_heads_and_feet_are_removed():
    pages = [
        page("Agyeman et al. Health Research 2014, 14:1", f"Body text {w} of this page.", f"Page {n} of 6")
        for n, w in enumerate("alpha beta gamma delta epsilon zeta".split(), start=1)
    ]
    cleaned = strip_page_furniture(pages)
    for text, word in zip(cleaned, "alpha beta gamma delta epsilon zeta".split()):
        assert text.strip() == f"Body text {word} of this page."


def test_chapter_heading_that_matches_the_running_head_survives():
    pages = [
        "CHAPTER III.\nON RELATIVE GROWINGS.\nAll through the calculus we deal with growth.",
        "ON RELATIVE GROWINGS\n21\nSuppose we make x to vary a little.",
        "CALCULUS MADE EASY\n22\nHow much will y be diminished now?",
        "ON RELATIVE GROWINGS\n23\nIt is also easy to see the ratio.",
        "CALCULUS MADE EASY\n24\nNow right through the calculus.",
    ]
    cleaned = strip_page_furniture(pages)
    assert cleaned[0] == pages[0]
    assert cleaned[1] == "Suppose we make x to vary a little."
    assert cleaned[2] == "How much will y be diminished now?"


def test_single_page_keeps_its_text_but_loses_a_page_number():
    assert strip_page_furniture(["A Title\nSome text.\n7"]) == ["A Title\nSome text."]


def test_join_hyphenated():
    assert join_hyphenated("an exam-", "ple here") == "an example here"
    assert join_hyphenated("the Anglo-", "Saxon kings") == "the Anglo-Saxon kings"
    assert join_hyphenated("a self-", "evident truth") == "a self-evident truth"
    assert join_hyphenated("no hyphen", "here") is None
    assert join_hyphenated("a dash--", "here") is None
    assert join_hyphenated("INTRODUC-", "TION") == "INTRODUCTION"
    vocabulary = build_vocabulary(["a well-known fact, the co-operation of all"])
    assert join_hyphenated("the co-", "operation", vocabulary) == "the co-operation"
    assert join_hyphenated("is well-", "known", vocabulary) == "is well-known"


def test_vocabulary_ignores_words_split_at_line_ends():
    vocabulary = build_vocabulary(["an exam-\nple and a right-\nangled triangle; right angle"])
    assert "exam" not in vocabulary.words and "ple" not in vocabulary.words
    assert "right" in vocabulary.words


def test_unwrap_paragraphs():
    text = (
        "The keeper wrote down the wind and the tide and the colour of the\n"
        "sea, as he had done every single morning for eleven long years.\n\nNew paragraph."
    )
    assert unwrap_paragraphs(text) == (
        "The keeper wrote down the wind and the tide and the colour of the sea, as he had done "
        "every single morning for eleven long years.\n\nNew paragraph."
    )


def test_unwrap_keeps_lists_and_short_lines():
    text = "Things to bring:\n- a lamp\n- a ledger\n1. first\n2. second"
    assert unwrap_paragraphs(text) == text
    assert unwrap_paragraphs("one\ntwo", keep_short_lines=False) == "one two"
    assert unwrap_paragraphs("well--\nthen", keep_short_lines=False) == "well--then"
    assert unwrap_paragraphs("see https://\nexample.org", keep_short_lines=False) == "see https://example.org"


def test_gutenberg_markers_wrapped_over_two_lines():
    text = (
        "Header\n*** START OF THE PROJECT GUTENBERG EBOOK MOBY-DICK; OR\nTHE WHALE ***\nCall me Ishmael.\n"
        "*** END OF THE PROJECT GUTENBERG EBOOK MOBY-DICK; OR\nTHE WHALE ***\nLicence"
    )
    assert strip_gutenberg(text).strip() == "Call me Ishmael."


def test_text_without_markers_is_untouched():
    text = "Produced by the keeper himself.\n\nA story."
    assert strip_gutenberg(text) == text


def test_gutenberg_pages_become_empty_outside_the_book():
    pages = [
        "Licence blah\n*** START OF THE PROJECT GUTENBERG EBOOK X ***\nFirst",
        "Middle",
        "Last\n*** END OF THE PROJECT GUTENBERG EBOOK X ***",
        "Licence",
    ]
    assert [p.strip() for p in strip_gutenberg_pages(pages)] == ["First", "Middle", "Last", ""]


def test_gutenberg_metadata_from_first_line():
    meta = gutenberg_metadata(
        "Project Gutenberg's The Time Machine, by H. G. Wells\n\nblah\n*** START OF THIS PROJECT GUTENBERG EBOOK X ***"
    )
    assert (meta.title, meta.author) == ("The Time Machine", "H. G. Wells")
    assert gutenberg_metadata("Just a story about Title: nothing").title == ""


def test_clean_plain_text_end_to_end():
    raw = (
        "\ufeffTitle: X\r\n*** START OF THE PROJECT GUTENBERG EBOOK X ***\r\n\r\n"
        "A line of prose that is long enough to have been wrapped\r\nhere.\r\n"
        "*** END OF THE PROJECT GUTENBERG EBOOK X ***\r\n"
    )
    assert clean_plain_text(raw) == "A line of prose that is long enough to have been wrapped here."


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Microsoft Word - Thesis Final.docx", "Thesis Final"),
        ("6489122611071476 1..10", ""),
        ("Untitled", ""),
        ("The Project Gutenberg eBook #33283: Calculus Made Easy, 2nd Edition", "Calculus Made Easy, 2nd Edition"),
        ("  Zero   Trust\nArchitecture ", "Zero Trust Architecture"),
        (None, ""),
    ],
)
def test_clean_title(raw, expected):
    assert clean_title(raw) == expected


def test_clean_author_and_path_titles(tmp_path):
    assert clean_author("Scott Rose;Oliver Borchert") == "Scott Rose; Oliver Borchert"
    assert clean_author("Administrator") == ""
    assert title_from_path(tmp_path / "moby_dick-1851.txt") == "Moby Dick 1851"
    assert title_from_path(tmp_path / "The-Time-Machine.epub") == "The Time Machine"
