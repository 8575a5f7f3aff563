"""Library and reader: open books, turn pages, zoom, contents, find, ask about a passage."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRectF, Qt

from gui_helpers import SAMPLE_STORY, open_book


def test_text_book_opens_on_pages_with_contents(qtbot, window):
    record = open_book(qtbot, window, SAMPLE_STORY)
    reader = window.reader
    assert reader.stack.currentWidget() is reader.text_view
    assert reader.pages.page_count == record.pages > 1
    assert "Ysolde" in reader.text_view.toPlainText()
    assert window.toc_panel.topLevelItemCount() >= 3  # the story's chapters
    assert window.library_panel.list.count() == 1
    assert "not memorized" in window.library_panel.list.item(0).text()

    reader.next_page()
    assert reader.page == 2
    chapter = window.toc_panel.topLevelItem(window.toc_panel.topLevelItemCount() - 1)
    window.toc_panel.itemClicked.emit(chapter, 0)
    assert reader.page == int(chapter.text(1))


def test_find_goes_to_the_page_of_each_match(qtbot, window):
    open_book(qtbot, window, SAMPLE_STORY)
    reader = window.reader
    reader.open_find()
    count = reader.find("Admiral")
    assert count > 1
    first_page = reader.page
    assert reader.find_bar.status_label.text() == f"1 of {count}"
    assert reader.text_view.textCursor().selectedText().lower() == "admiral"
    reader.find_previous_action.trigger()  # wraps to the last match, further on in the book
    assert reader.find_bar.status_label.text() == f"{count} of {count}"
    assert reader.page >= first_page
    assert reader.find("no such words anywhere") == 0
    assert reader.find_bar.status_label.text() == "Not found"


def test_last_page_is_remembered(qtbot, window, session):
    record = open_book(qtbot, window, SAMPLE_STORY)
    window.reader.go_to_page(3)
    qtbot.waitUntil(lambda: session.library.get_book(record.content_hash).last_page == 3, timeout=3000)
    window.reader.close_book()
    window.show_record(record)
    assert window.reader.page == 3


def test_pdf_renders_zooms_and_finds(qtbot, window, sample_pdf):
    record = open_book(qtbot, window, sample_pdf)
    reader = window.reader
    assert record.format == "pdf" and reader.pages.page_count == 3
    assert reader.stack.currentWidget() is reader.image_view
    canvas = reader.image_view.canvas
    width_fit = canvas.width()
    assert width_fit > 100
    reader.zoom_in_action.trigger()
    assert not reader.fit_width and canvas.width() > width_fit
    reader.zoom_out_action.trigger()
    reader.zoom_out_action.trigger()
    assert canvas.width() < width_fit
    reader.fit_width_action.trigger()
    assert reader.fit_width

    reader.open_find()
    assert reader.find("vinegar") == 1
    assert reader.page == 2
    assert len(canvas._highlights) == 1
    assert [window.toc_panel.topLevelItem(i).text(0) for i in range(3)] == \
        ["The Harbour", "The Lantern Room", "The Storm"]


def test_selecting_a_passage_offers_ask_about_this(qtbot, window, sample_pdf):
    open_book(qtbot, window, sample_pdf)
    view = window.reader.image_view
    canvas = view.canvas
    # Drag over the top of the page, where the chapter heading is.
    zoom = window.reader.zoom
    start, end = QPoint(int(60 * zoom), int(60 * zoom)), QPoint(int(540 * zoom), int(110 * zoom))
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(canvas, end)
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=end)
    menu = view.selection_menu
    assert menu is not None
    ask = next(a for a in menu.actions() if a.text() == "Ask about this")
    ask.trigger()
    menu.close()
    assert window.tabs.currentWidget() is window.chat_panel
    assert "Chapter 1" in window.chat_panel.input.toPlainText()
    assert view.selected_text(QRectF(0, 0, 10, 10)) == ""  # an empty corner selects nothing


def test_remove_from_library_keeps_the_file(qtbot, window, sample_pdf, dialogs):
    record = open_book(qtbot, window, sample_pdf)
    window.remove_book(record)
    assert dialogs["questions"] and sample_pdf.exists()
    assert window.library_panel.list.count() == 0
    assert window.reader.record is None


def test_a_file_that_is_not_a_book_says_why(qtbot, window, tmp_path, dialogs):
    bad = tmp_path / "notes.pdf"
    bad.write_text("this is not a PDF")
    window.open_path(bad)
    qtbot.waitUntil(lambda: bool(dialogs["warnings"]), timeout=10_000)
    message = dialogs["warnings"].pop()
    assert "notes.pdf" in message and "Traceback" not in message and len(message.splitlines()) <= 2


def test_dropped_files_open_and_join_open_recent(qtbot, window, sample_pdf):
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDropEvent

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(sample_pdf))])
    drop = QDropEvent(QPointF(100, 100), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(window.book_opened, timeout=30_000):
        window.dropEvent(drop)
    assert window.record.title == "Harbour Notes"
    recent = [a for a in window.menus.recent_menu.actions() if a.toolTip() == str(sample_pdf.resolve())]
    assert len(recent) == 1
    window.reader.close_book()
    with qtbot.waitSignal(window.book_opened, timeout=30_000):
        recent[0].trigger()


def test_the_contents_follow_the_page_being_read(qtbot, window, sample_pdf):
    open_book(qtbot, window, sample_pdf)
    toc = window.toc_panel
    assert toc.currentItem().text(0) == "The Harbour"
    window.reader.go_to_page(3)
    assert toc.currentItem().text(0) == "The Storm" and window.reader.page == 3
    window.reader.go_to_page(2)
    assert toc.currentItem().text(0) == "The Lantern Room" and window.reader.page == 2  # no jump back


def test_a_damaged_pdf_says_its_name_once_and_leaves_the_status_bar(qtbot, window, tmp_path, dialogs):
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 garbage")  # a PDF header, then nothing MuPDF can open
    window.open_path(broken)
    assert window.statusBar().currentMessage() == "Opening broken.pdf…"
    qtbot.waitUntil(lambda: bool(dialogs["warnings"]), timeout=10_000)
    message = dialogs["warnings"].pop()
    assert message.count("broken.pdf") == 1 and str(tmp_path) not in message and "damaged" in message
    assert "Opening" not in window.statusBar().currentMessage()
