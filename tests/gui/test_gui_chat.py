"""Chat: answers stream in, name their pages, are saved, and come back when the book reopens."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt, QUrl

from gui_helpers import SAMPLE_STORY, open_book

from lift_reader.core.ask.modes import DEFAULT_MODE
from lift_reader.workers import jobs


def _ask(qtbot, panel, question: str, monkeypatch=None) -> list:
    pieces: list = []
    if monkeypatch is not None:
        original = panel._on_answer_yielded
        monkeypatch.setattr(panel, "_on_answer_yielded", lambda item: (pieces.append(item), original(item)))
    panel.input.setPlainText(question)
    with qtbot.waitSignal(panel.answer_finished, timeout=60_000):
        panel.ask_button.click()
        assert panel.busy and panel.stop_button.isEnabled() and not panel.ask_button.isEnabled()
    return pieces


def test_without_an_adapter_chat_answers_from_the_context_and_says_so(qtbot, window, session, monkeypatch):
    record = open_book(qtbot, window, SAMPLE_STORY)
    panel = window.chat_panel
    assert panel.mode == DEFAULT_MODE == "lift+rag"
    assert "not memorized" in panel.notice.text() and "passages found" in panel.notice.text()
    pieces = _ask(qtbot, panel, "Who is the keeper?", monkeypatch)
    started, texts, checked = pieces[0], pieces[1:-1], pieces[-1]
    assert started.mode == "rag" and "not memorized" in started.note and started.pages
    assert len(texts) >= 2 and all(isinstance(t, str) for t in texts)  # streamed piece by piece
    assert isinstance(checked, jobs.AnswerChecked)  # then the evidence and grounding check
    answer = panel.transcript.last_answer()
    assert answer.complete and answer.text == "".join(texts).strip()
    assert "page:1" in panel.view.toHtml() or "page:1" in panel.transcript.to_html("#888", "#00f")

    messages = session.library.list_messages(record.content_hash)
    assert [(m.role, m.complete) for m in messages] == [("user", True), ("assistant", True)]
    assert messages[1].content == answer.text and messages[1].pages == tuple(started.pages)

    panel.show_book(None)
    panel.show_book(record)  # reopening the book restores the conversation
    assert [e.text for e in panel.transcript.entries] == ["Who is the keeper?", answer.text]


def test_page_links_jump_the_reader(qtbot, window):
    open_book(qtbot, window, SAMPLE_STORY)
    window.chat_panel.view.anchorClicked.emit(QUrl("page:4"))
    assert window.reader.page == 4


def test_stop_keeps_a_partial_answer_marked_as_stopped(qtbot, window, session):
    record = open_book(qtbot, window, SAMPLE_STORY)
    panel = window.chat_panel
    panel.input.setPlainText("What happened to the heron?")
    with qtbot.waitSignal(panel.answer_finished, timeout=60_000):
        panel.ask_button.click()
        panel.stop_button.click()
    assert not panel.transcript.last_answer().complete
    assert "(stopped)" in panel.view.toPlainText()
    assert not session.library.list_messages(record.content_hash)[-1].complete


def test_regenerate_replaces_the_last_answer(qtbot, window, session):
    record = open_book(qtbot, window, SAMPLE_STORY)
    panel = window.chat_panel
    panel.mode_combo.setCurrentIndex(panel.mode_combo.findData("icl"))
    assert not panel.notice.isVisible()
    _ask(qtbot, panel, "Where is the lighthouse?")
    first = panel.transcript.last_answer()
    first_id, first_text = first.message_id, first.text
    panel.copy_button.click()
    assert qtbot_clipboard() == first_text
    # A regenerated answer samples up to its length limit: stop it once a few pieces are in.
    with qtbot.waitSignal(panel.answer_finished, timeout=60_000):
        panel.regenerate_button.click()
        qtbot.waitUntil(lambda: len(first.text) > 0, timeout=30_000)
        panel.stop_button.click()
    messages = session.library.list_messages(record.content_hash)
    assert len(messages) == 2 and messages[1].id == first_id  # the same answer, answered again
    assert panel.transcript.last_answer() is first and first.text == messages[1].content


def qtbot_clipboard() -> str:
    from PySide6.QtGui import QGuiApplication

    return QGuiApplication.clipboard().text()


def test_a_memorized_book_answers_with_its_adapter(qtbot, window, memorized_story):
    window.library_panel.refresh()
    with qtbot.waitSignal(window.book_opened, timeout=10_000):
        window.show_record(memorized_story)
    panel = window.chat_panel
    assert not panel.notice.isVisible()
    _ask(qtbot, panel, "Who is Admiral?")
    answer = panel.transcript.last_answer()
    assert answer.mode == DEFAULT_MODE and not answer.note


def test_lift_plus_rag_without_an_adapter_falls_back_to_rag(qtbot, window, monkeypatch):
    open_book(qtbot, window, SAMPLE_STORY)
    panel = window.chat_panel
    panel.mode_combo.setCurrentIndex(panel.mode_combo.findData("lift+rag"))
    assert "passages found" in panel.notice.text()
    started = _ask(qtbot, panel, "What did Ysolde carry?", monkeypatch)[0]
    assert started.mode == "rag" and "(RAG)" in started.note and started.pages


def test_a_refresh_before_the_answer_starts_keeps_the_question(qtbot, window, session):
    """The library refreshes the book (e.g. a memorize run just ended) while a question waits."""
    record = open_book(qtbot, window, SAMPLE_STORY)
    panel = window.chat_panel
    panel.input.setPlainText("Who rang the bell?")
    with qtbot.waitSignal(panel.answer_finished, timeout=60_000):
        panel.ask_button.click()
        panel.show_book(record)  # before the worker has saved anything
        assert [e.role for e in panel.transcript.entries] == ["user", "assistant"]
    assert [e.text for e in panel.transcript.entries][0] == "Who rang the bell?"
    panel.show_book(record)
    assert [e.role for e in panel.transcript.entries] == ["user", "assistant"]


@pytest.fixture
def story_memorized_also_up_to_page_1(workspace, memorized_story):
    """memorized_story (its whole-book adapter "Ledger v1" is active), then memorized again up to page 1 only."""
    from lift_reader.core.memorize.settings import MemorizeSettings

    settings = MemorizeSettings(segment_length=64, stride=64, epochs=1, up_to_page=1, checkpoint_every=1000)
    for _event in workspace.memorize(memorized_story, settings):
        pass
    return workspace.library.get_book(memorized_story.content_hash)


def test_spoiler_safe_chat_stops_at_the_reading_page_and_says_when_the_adapter_read_further(
        qtbot, story_memorized_also_up_to_page_1, window, prefs, session, monkeypatch):
    from lift_reader.gui.chat_panel import ChatPanel

    record = story_memorized_also_up_to_page_1
    safe = session.library.get_adapter(f"{record.title}, up to p. 1")
    assert safe is not None and safe.settings["up_to_page"] == 1
    assert record.active_adapter == "Ledger v1"  # a spoiler-safe adapter never replaces the whole-book one
    window.library_panel.refresh()
    with qtbot.waitSignal(window.book_opened, timeout=10_000):
        window.show_record(record)
    panel = window.chat_panel
    assert not panel.notice.isVisible()  # memorized: its whole-book adapter answers
    assert not panel.spoiler_box.isChecked() and panel.up_to_page is None
    panel.spoiler_box.setChecked(True)
    window.reader.go_to_page(3)
    assert panel.up_to_page == 3 and "page 3" in panel.spoiler_box.toolTip()
    assert session.workspace().adapter_for(record, 3).name == safe.name  # the one that read page 1 only
    started = _ask(qtbot, panel, "Who rang the bell?", monkeypatch)[0]
    assert started.mode == DEFAULT_MODE and started.pages and max(started.pages) <= 3
    assert not started.note  # an adapter that read page 1 only gives nothing away

    # The same adapter as if it had read the whole book: none is spoiler-safe, the answer says so.
    session.library.record_adapter(safe.name, safe.book_hash, safe.base_model, safe.path, steps=safe.steps,
                                   settings={**safe.settings, "up_to_page": None}, replace=True)
    started = _ask(qtbot, panel, "Who rang the bell?", monkeypatch)[0]
    assert max(started.pages) <= 3 and "read past page 3" in started.note
    assert "read past page 3" in panel.view.toPlainText()

    panel.spoiler_box.setChecked(False)
    started = _ask(qtbot, panel, "Who rang the bell?", monkeypatch)[0]
    assert not started.note and max(started.pages) > 3  # the whole book again: its ending is shown

    panel.spoiler_box.setChecked(True)
    reopened = ChatPanel(session, prefs)  # the choice is remembered
    qtbot.addWidget(reopened)
    assert reopened.spoiler_box.isChecked()


def test_the_empty_chat_and_the_mode_line_describe_the_mode_selected(qtbot, window):
    from lift_reader.gui.chat_modes import MODE_HELP

    open_book(qtbot, window, SAMPLE_STORY)
    panel = window.chat_panel
    assert panel.mode == "lift+rag"
    shown = panel.view.toPlainText()
    assert "Answers use LIFT + RAG" in shown and "LIFT + ICL" not in shown
    assert panel.mode_help.text() == MODE_HELP["lift+rag"]
    panel.mode_combo.setCurrentIndex(panel.mode_combo.findData("icl"))
    assert "Answers use ICL" in panel.view.toPlainText()
    assert panel.mode_help.text() == MODE_HELP["icl"]
    for index in range(panel.mode_combo.count()):  # each choice explains itself in the list too
        assert panel.mode_combo.itemData(index, Qt.ItemDataRole.ToolTipRole) == MODE_HELP[panel.mode_combo.itemData(index)]


def test_the_chat_reopens_at_its_newest_message(qtbot, window, session):
    record = open_book(qtbot, window, SAMPLE_STORY)
    check = {"specifics": [], "not_found": [], "up_to_page": None,  # each answer quotes the book under it
             "evidence": {"quote": "Aurelio Penhallow kept Gannet Point Light. " * 2, "start": 0, "end": 9, "page": 1}}
    for n in range(25):
        session.library.add_message(record.content_hash, "user", f"Question {n}?")
        answer = session.library.add_message(record.content_hash, "assistant", f"Answer {n}. " + "The keeper wrote. " * 20)
        session.library.save_answer_check(answer, check)
    window.tabs.setCurrentWidget(window.memorize_panel)  # the chat is laid out only once it is shown
    window.chat_panel.show_book(None)
    window.chat_panel.show_book(record)
    window.resize(1400, 900)
    window.show()
    window.tabs.setCurrentWidget(window.chat_panel)  # the view gets its size now, and lays the chat out again
    bar = window.chat_panel.view.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0 and bar.value() == bar.maximum(), timeout=5000)
    qtbot.wait(200)  # and it stays there: Qt used to set the bar back to the top after the resize
    assert bar.value() == bar.maximum() > 0

    bar.triggerAction(bar.SliderAction.SliderToMinimum)  # the reader scrolls back: a re-render leaves them there
    window.chat_panel._render()
    assert bar.value() < bar.maximum()
