from pathlib import Path

from lift_reader.core.text.documents import open_book
from lift_reader.core.text.documents.titles import opening_title_block


def test_title_and_author_from_the_opening_lines():
    assert opening_title_block("The Ledger\nby Ann Wren\n\nChapter 1\n...") == ("The Ledger", "Ann Wren")
    assert opening_title_block("It was a dark night.\nby the fire she sat.") == ("", "")
    assert opening_title_block("Just one line") == ("", "")


def test_sample_story_title(tmp_path):
    story = Path(__file__).resolve().parents[2] / "resources" / "samples" / "the-lighthouse-keepers-ledger.txt"
    book = open_book(story)
    assert book.title == "The Lighthouse Keeper's Ledger" and book.author == "the LIFT Reader team"
    assert [e.title for e in book.toc][:2] == ["Chapter 1: The Mail Boat", "Chapter 2: The Missing Year"]
