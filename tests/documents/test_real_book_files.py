"""The real books in ../shared/data/books (beside a development checkout; never copied here)."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

from lift_reader.core.text.book import BookText
from lift_reader.core.text.documents import open_book

BOOKS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "books"
NAMES = sorted(p.name for p in BOOKS.glob("*") if p.is_file()) if BOOKS.is_dir() else []

pytestmark = pytest.mark.skipif(not NAMES, reason=f"{BOOKS} is absent (it sits beside a development checkout only)")


@cache
def load(name: str) -> BookText:
    """Each book is opened once per test run (Moby-Dick takes a couple of seconds)."""
    return open_book(BOOKS / name)


def book(name: str) -> BookText:
    if name not in NAMES:
        pytest.skip(f"{BOOKS / name} is absent")
    return load(name)


@pytest.mark.parametrize("name", NAMES)
def test_every_book_opens_sensibly(name):
    result = book(name)
    assert len(result.text) > 10_000
    assert result.title and sum(c.isalpha() for c in result.title) >= 3
    starts = result.page_starts
    assert starts[0] == 0 and starts == sorted(starts) and starts[-1] <= len(result.text)
    assert "\n\n\n" not in result.text and result.text == result.text.strip()
    assert "\ufffd" not in result.text and "\u00ad" not in result.text
    for entry in result.toc:
        assert 0 <= entry.offset < len(result.text)
        assert 1 <= entry.page <= result.page_count
    # Nothing of the Gutenberg licence survives.
    for marker in (
        "START OF THE PROJECT GUTENBERG",
        "START OF THIS PROJECT GUTENBERG",
        "END OF THE PROJECT GUTENBERG",
        "END OF THIS PROJECT GUTENBERG",
        "Project Gutenberg License",
        "Project Gutenberg-tm",
        "www.gutenberg.org",
    ):
        assert marker.lower() not in result.text.lower(), marker


@pytest.mark.parametrize(
    "name", [n for n in NAMES if n.endswith(".epub")] + ["gutenberg-pg33283-calculus-made-easy.pdf"]
)
def test_toc_entries_point_at_their_headings(name):
    result = book(name)
    assert len(result.toc) >= 10
    found = sum(
        result.text[entry.offset : entry.offset + 200].lower().startswith(entry.title.lower()[:20])
        for entry in result.toc
    )
    assert found >= 0.75 * len(result.toc)
    offsets = [entry.offset for entry in result.toc]
    assert offsets == sorted(offsets)


def test_bmc_article_has_no_page_furniture():
    result = book("bmc-hsr-2014-14-1-agyeman-duah-ccby.pdf")
    assert not re.search(r"Page \d+ of 10", result.text)
    assert "BMC Health Services Research 2014, 14:1" not in result.text
    assert result.title.startswith("Understanding the barriers to setting up a healthcare quality improvement")
    assert "expectations are high" in result.text  # "expec-" + "tations" joined
    assert [e.title for e in result.toc[:2]] == ["Abstract", "Background"]


def test_federal_register_columns_and_furniture():
    result = book("federal-register-2020-17221-faa-737max.pdf")
    assert "VerDate" not in result.text and "Federal Register / Vol. 85" not in result.text
    assert "PROPOSALS" not in result.text  # the rotated stamp in the margin
    assert "Soekarno-Hatta International Airport" in result.text  # joined across a page break


def test_nist_report_metadata_and_running_heads():
    result = book("nist-sp-800-207-zero-trust-architecture.pdf")
    assert result.title == "Zero Trust Architecture"
    assert result.author.startswith("Scott Rose; Oliver Borchert")
    assert result.text.count("ZERO TRUST ARCHITECTURE") <= 1
    assert "\n\n1.2 Structure of This Document\n\n" in result.text


def test_calculus_made_easy():
    result = book("gutenberg-pg33283-calculus-made-easy.pdf")
    assert result.title == "Calculus Made Easy, 2nd Edition"
    assert result.author == "Silvanus Phillips Thompson"
    chapter_three = next(entry for entry in result.toc if entry.title == "Chapter III")
    assert result.text[chapter_three.offset :].startswith("CHAPTER III.\n\nON RELATIVE GROWINGS.")
    assert result.page_at(chapter_three.offset) == chapter_three.page == 20
    assert "CALCULUS MADE EASY\n" not in result.text  # the even-page running head


def test_gutenberg_text_files():
    alice = book("pg11.txt")
    assert "Gutenberg" not in alice.text
    assert [e.title for e in alice.toc][:2] == [
        "CHAPTER II. The Pool of Tears",
        "CHAPTER III. A Caucus-Race and a Long Tale",
    ]
    cask = book("pg1063.txt")
    assert (cask.title, cask.author) == ("The Cask of Amontillado", "Edgar Allan Poe")
    assert "Produced by" not in cask.text and "Gutenberg" not in cask.text
    time_machine = book("pg35.txt")
    assert time_machine.title == "The Time Machine"
    assert [e.title for e in time_machine.toc][:3] == ["I", "II", "III"]


def test_text_toc_offsets_and_pages_agree():
    moby = book("pg2701.txt")
    chapters = [e for e in moby.toc if e.title.startswith("CHAPTER")]
    assert len(chapters) == 135
    assert chapters[0].title == "CHAPTER 1. Loomings."
    for entry in moby.toc:
        assert moby.text[entry.offset :].startswith(entry.title.split()[0])
        assert moby.page_at(entry.offset) == entry.page
    holmes = book("pg1661.txt")
    assert "ADVENTURE II. THE RED-HEADED LEAGUE" in [e.title for e in holmes.toc]
