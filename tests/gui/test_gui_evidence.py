"""An answer's evidence: quoted under it, its link opens the page with the passage highlighted; invented
names are marked.  The model's text is fixed here (the tiny model writes noise); the job, the check, the
chat and the reader are the real ones."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor

from gui_helpers import SAMPLE_STORY, open_book

from lift_reader.core.ask.answering import AnswerStream


@pytest.fixture
def ask_with_answer(qtbot, window, monkeypatch):
    """ask(book, question, answer): open ``book``, ask in RAG mode, the model "answering" ``answer``
    (streamed in two pieces); returns the finished answer's grounding check."""

    def ask(book, question: str, answer: str, *, spoiler_safe: bool = False):
        monkeypatch.setattr(AnswerStream, "_pieces", lambda _stream: iter([answer[:5], answer[5:]]))
        open_book(qtbot, window, book)
        panel = window.chat_panel
        window.tabs.setCurrentWidget(panel)  # the reader clicks in the Chat tab, so it is shown
        panel.mode_combo.setCurrentIndex(panel.mode_combo.findData("rag"))
        panel.spoiler_box.setChecked(spoiler_safe)
        window.reader.go_to_page(1)
        panel.input.setPlainText(question)
        with qtbot.waitSignal(panel.answer_finished, timeout=60_000):
            panel.ask_button.click()
        return panel.transcript.last_answer().grounding

    return ask


def _click_link(qtbot, view, link_text: str) -> None:
    """Click the link that reads ``link_text`` in a QTextBrowser, where it is drawn."""
    found = view.document().find(link_text)
    assert not found.isNull(), link_text
    cursor = QTextCursor(view.document())
    cursor.setPosition(found.selectionStart() + 1)
    view.setTextCursor(cursor)
    view.ensureCursorVisible()
    point = view.cursorRect(cursor).center()
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=point)


def test_clicking_the_evidence_opens_the_text_page_with_the_passage_highlighted(qtbot, window, ask_with_answer):
    evidence = ask_with_answer(SAMPLE_STORY, "Who kept the light before Barnaby?",
                               "Aurelio Penhallow kept the light from 1842 to 1860.").evidence
    reader, panel = window.reader, window.chat_panel
    assert "Aurelio Penhallow kept Gannet Point Light for eighteen years, from 1842 to 1860." in evidence.quote
    shown = panel.view.toPlainText()
    assert evidence.quote in shown and f"page {evidence.page}" in shown
    assert "not found" not in shown

    reader.go_to_page(reader._page_count())  # somewhere else
    assert reader.page != evidence.page
    _click_link(qtbot, panel.view, f"page {evidence.page}")
    assert reader.page == evidence.page
    marks = reader.text_view.extraSelections()
    assert len(marks) == 1
    marked = marks[0].cursor.selectedText().replace("\u2029", " ")
    assert " ".join(marked.split()) == evidence.quote


def test_clicking_the_evidence_marks_the_passage_on_the_rendered_pdf_page(qtbot, window, sample_pdf, ask_with_answer):
    evidence = ask_with_answer(sample_pdf, "How was the brass lantern kept bright?",
                               "It was polished with vinegar.").evidence
    reader, panel = window.reader, window.chat_panel
    assert evidence.quote == "The brass lantern was polished with vinegar." and evidence.page == 2
    assert reader.page == 1 and reader.image_view.canvas._highlights == []
    _click_link(qtbot, panel.view, "page 2")
    assert reader.page == 2
    rects = reader.image_view.canvas._highlights
    assert rects, "the passage is highlighted on the page"
    # The marks cover the words of the passage as MuPDF draws them.
    words = " ".join(reader.pages.text_in(1, rect) for rect in rects)
    assert "polished with vinegar" in words


def test_an_invented_name_is_marked_in_the_chat(qtbot, window, ask_with_answer):
    grounding = ask_with_answer(SAMPLE_STORY, "Who was the keeper?",
                                "The keeper was Captain John Hinchliffe, who came after Aurelio Penhallow.")
    panel = window.chat_panel
    assert grounding.not_found == ("Captain John Hinchliffe",)
    assert "“Captain John Hinchliffe”: not found in the book." in panel.view.toPlainText()
    assert "title='not found in the book'>Captain John Hinchliffe</span>" in panel.transcript.to_html("#888", "#00f")


def test_spoiler_safe_an_answer_from_later_pages_says_the_book_has_not_said_yet(qtbot, window, ask_with_answer):
    ask_with_answer(SAMPLE_STORY, "Who raised Kit Amberly?", "Margery Thule.", spoiler_safe=True)
    shown = window.chat_panel.view.toPlainText()
    assert "“Margery Thule”: not found in the book up to page 1." in shown
    assert "The book does not seem to say (yet)" in shown


def test_a_reopened_chat_shows_each_answer_s_evidence_and_check_again(qtbot, window, ask_with_answer):
    """The check is kept with the answer in the library (the CLI's answers too), not only in this session."""
    grounding = ask_with_answer(SAMPLE_STORY, "Who kept the light before Barnaby?",
                                "Aurelio Penhallow, and after him Captain John Hinchliffe.")
    panel = window.chat_panel
    record = panel.record
    panel.show_book(None)
    panel.show_book(record)  # built again from the library, as when the app starts
    assert panel.transcript.last_answer().grounding == grounding
    shown = panel.view.toPlainText()
    assert grounding.evidence.quote in shown and f"page {grounding.evidence.page}" in shown
    assert "“Captain John Hinchliffe”: not found in the book." in shown
