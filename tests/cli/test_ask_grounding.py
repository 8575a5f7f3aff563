"""`ask` and `chat` print the answer's evidence quote and page, and what the book does not hold."""

from lift_reader.cli.commands import _print_grounding
from lift_reader.core.text.book import BookText
from lift_reader.core.ask.evidence import find_evidence
from lift_reader.core.ask.grounding import check_answer

TEXT = ("The Hesper Lark left Aberfal in March. Captain Lemuel Voss had her for nine years.\n\n"
        "She was wrecked on the Tallow Rocks in 1860, and the keeper saw her go down.")


def test_ask_prints_the_quote_its_page_and_what_is_not_in_the_book(capsys):
    book = BookText(text=TEXT, page_starts=[0, TEXT.index("She was")], title="Ledger")
    answer = "She was wrecked in 1860 under Captain John Hinchliffe."
    evidence = find_evidence(book, answer, "What happened to the Hesper Lark?")
    _print_grounding(check_answer(answer, book.text, evidence))
    assert capsys.readouterr().out.splitlines() == [
        "  evidence, page 2: “She was wrecked on the Tallow Rocks in 1860, and the keeper saw her go down.”",
        "  “Captain John Hinchliffe”: not found in the book.",
    ]
