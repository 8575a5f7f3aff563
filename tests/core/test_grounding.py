"""Evidence passages and the grounding check: what of an answer the book holds, and where."""

from lift_reader.core.ask.answering import AskSettings, prepare_answer
from lift_reader.core.ask.evidence import find_evidence
from lift_reader.core.ask.generation import SamplingSettings
from lift_reader.core.ask.grounding import Grounding, check_answer, specifics
from lift_reader.core.text.book import BookText


def test_an_invented_name_is_marked(book):
    check = check_answer("The keeper was Captain John Hinchliffe, and Ysolde found the ledger.", book.text, None)
    assert check.not_found == ("Captain John Hinchliffe",)
    assert "Ysolde" in check.specifics
    assert check.notes() == ["“Captain John Hinchliffe”: not found in the book."]


def test_names_and_numbers_the_book_holds_are_not_marked(book):
    check = check_answer("Aurelio Penhallow kept the light from 1842 to 1860.", book.text, None)
    assert check.specifics == ("Aurelio Penhallow", "1842", "1860")
    assert check.not_found == () and check.notes() == []


def test_a_wrong_year_is_marked(book):
    assert check_answer("It happened in 1875.", book.text, None).not_found == ("1875",)


def test_specifics_skip_common_words_that_open_a_sentence():
    assert specifics("She saw Margery Thule. The Board met in 1860, on 3 June.") == [
        "Margery Thule", "Board", "1860", "3", "June"]


def test_evidence_is_the_sentence_that_holds_the_answer(book):
    evidence = find_evidence(book, "Aurelio Penhallow, from 1842 to 1860.", "Who kept the light before Barnaby?")
    assert evidence is not None
    assert "Aurelio Penhallow kept Gannet Point Light for eighteen years, from 1842 to 1860." in evidence.quote
    assert book.text[evidence.start:evidence.end].split() == evidence.quote.split()
    assert evidence.page == book.page_at(book.text.index("from 1842 to 1860"))


def test_a_chapter_title_is_never_the_quote():
    """Found with Alice: "Who was Dinah?" answered "The Rabbit." quoted the title "IV—THE RABBIT SENDS IN A"."""
    text = ("The cat slept by the fire all afternoon.\n\nIV—THE RABBIT SENDS IN A\n\nLITTLE BILL\n\n"
            "Chapter 5\n\nThe Rabbit Returns\n\nIt was the White Rabbit, trotting slowly back again, "
            "and looking anxiously about as it went.\n\nDinah was the cat.")
    book = BookText(text=text, page_starts=[0], title="Titles")
    evidence = find_evidence(book, "The Rabbit.", "Who was Dinah?")
    assert evidence is not None and evidence.quote.startswith("It was the White Rabbit, trotting slowly back")
    assert find_evidence(book, "Sends the bill; returns.", "") is None  # only titles hold these words


def test_the_quote_of_a_speech_s_last_sentence_drops_the_speech_s_closing_mark():
    """'The Cask of Amontillado' in a real window: the quote read 'But I have received ... my doubts."'
    inside the chat's own quote marks."""
    text = ('I said to him--"My dear Fortunato, you are luckily met.  But I have received a pipe of '
            'what passes for Amontillado, and I have my doubts."\n\n"How?" said he.  “A pipe? It is the end.”')
    book = BookText(text=text, page_starts=[0], title="Cask")
    evidence = find_evidence(book, "A pipe of Amontillado.", "What has he received?")
    assert evidence.quote == "But I have received a pipe of what passes for Amontillado, and I have my doubts."
    assert text[evidence.start:evidence.end] == evidence.quote
    curly = find_evidence(book, "It is the end.", "")
    assert curly.quote.endswith("the end.")


def test_a_check_reads_back_as_the_library_keeps_it(book):
    import json

    answer = "Aurelio Penhallow, and after him Captain John Hinchliffe."
    check = check_answer(answer, book.text, find_evidence(book, answer), up_to_page=2)
    assert check.evidence is not None and check.not_found
    assert Grounding.from_dict(json.loads(json.dumps(check.to_dict()))) == check
    assert Grounding.from_dict({"specifics": ["x"]}) is None  # unreadable: no note rather than an error


def test_no_evidence_for_an_answer_that_shares_nothing_with_the_book(book):
    assert find_evidence(book, "Quetzalcoatl zymurgy.", "What?") is None
    check = check_answer("Quetzalcoatl.", book.text, None)
    assert check.unsupported
    assert check.notes()[-1] == "The book does not seem to say: nothing in this answer was found in the book."


def test_spoiler_safe_a_name_from_later_pages_is_not_found_yet(tiny_lm, book, tokens):
    late = book.text.index("Margery Thule")
    cut = tokens.until_char(2000)  # the end of page 1
    assert late > 2000
    settings = AskSettings(mode="rag", context_tokens=64, up_to_page=1, sampling=SamplingSettings(max_new_tokens=4))
    stream = prepare_answer(tiny_lm, book, cut, "Who raised Kit Amberly?", adapter=None, settings=settings)
    stream.text = "Margery Thule raised him."  # the answer a model that had read on would give
    check = stream.check()
    assert check.not_found == ("Margery Thule",)
    assert check.notes() == ["“Margery Thule”: not found in the book up to page 1.", "The book does not seem to say (yet)."]
    whole = prepare_answer(tiny_lm, book, tokens, "Who raised Kit Amberly?", adapter=None,
                           settings=AskSettings(mode="rag", context_tokens=64))
    whole.text = "Margery Thule raised him."
    check = whole.check()
    assert check.not_found == () and check.evidence is not None and check.evidence.start > 2000
    assert "Margery Thule" in check.evidence.quote
