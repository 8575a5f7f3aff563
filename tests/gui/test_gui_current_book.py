"""The app's state has one home (issue 17): the session's current book and library signals, which the
window's parts follow, instead of the window handing the book to each part."""

from __future__ import annotations

from gui_helpers import SAMPLE_STORY, open_book


def _shown(window) -> dict:
    return {"memorize": window.memorize_panel.record, "chat": window.chat_panel.record,
            "reader": window.reader.record, "selected": window.library_panel.current_hash(),
            "title": window.windowTitle()}


def test_the_parts_follow_the_sessions_current_book(qtbot, window, session, sample_pdf):
    story = open_book(qtbot, window, SAMPLE_STORY)
    pdf = open_book(qtbot, window, sample_pdf)
    assert window.record.content_hash == pdf.content_hash == window.library_panel.current_hash()

    session.set_current_book(None)  # from the session, not through the window
    assert _shown(window) == {"memorize": None, "chat": None, "reader": None, "selected": pdf.content_hash,
                              "title": "LIFT Reader"}

    session.set_current_book(story)
    assert window.memorize_panel.record.content_hash == window.chat_panel.record.content_hash == story.content_hash
    assert window.library_panel.current_hash() == story.content_hash
    assert window.windowTitle().startswith("The Lighthouse")


def test_an_adapter_removed_elsewhere_reaches_the_list_memorize_and_chat(qtbot, window, session, memorized_story):
    window.library_panel.refresh()
    with qtbot.waitSignal(window.book_opened, timeout=10_000):
        window.show_record(memorized_story)
    assert window.memorize_panel.record.active_adapter == "Ledger v1"
    assert "memorized (Ledger v1)" in window.library_panel.list.item(0).text()

    session.workspace().remove_adapter("Ledger v1")  # what the adapters manager does, then it says so:
    session.library_updated()
    assert window.memorize_panel.record.active_adapter is None
    assert window.chat_panel.record.active_adapter is None
    assert window.library_panel.list.item(0).text().endswith("not memorized")
    assert window.reader.record is not None  # the reader keeps the book open


def test_removing_the_current_book_clears_every_part(qtbot, window, session, dialogs):
    record = open_book(qtbot, window, SAMPLE_STORY)
    window.remove_book(record)  # the question is answered Yes
    assert session.current_book is None and session.library.get_book(record.content_hash) is None
    assert _shown(window) == {"memorize": None, "chat": None, "reader": None, "selected": None,
                              "title": "LIFT Reader"}
    assert window.library_panel.list.count() == 0


def test_a_closed_window_no_longer_follows_the_session(qtbot, window, session, prefs):
    from lift_reader.gui.main_window import MainWindow

    record = open_book(qtbot, window, SAMPLE_STORY)
    window.close()
    reopened = MainWindow(session, prefs)  # the next start of the app
    qtbot.addWidget(reopened)
    assert reopened.record is None and window.memorize_panel.record.content_hash == record.content_hash
    session.set_current_book(None)
    assert reopened.memorize_panel.record is None
    assert window.memorize_panel.record.content_hash == record.content_hash  # closed: left as it was
