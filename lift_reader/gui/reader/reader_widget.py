"""The reader: one page at a time, page navigation, zoom and fit-width, find in book.

Page numbers are 1-based everywhere outside this class, as in citations.
Find searches the book's clean text (``book_search``); on a rendered page
MuPDF then marks where the words are drawn.  An answer's evidence passage
(``show_passage``) is marked the same way while find is closed.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QLabel, QSpinBox, QStackedWidget, QToolBar, QVBoxLayout, QWidget

from lift_reader.core.text.book import BookText
from lift_reader.gui.reader.book_search import BookSearch
from lift_reader.gui.reader.find_bar import FindBar
from lift_reader.gui.reader.page_sources import TEXT_FORMATS, MupdfPages, TextPages, open_pages
from lift_reader.gui.reader.page_views import ImagePageView, TextPageView
from lift_reader.store.records import BookRecord

ZOOM_STEP, ZOOM_MIN, ZOOM_MAX = 1.2, 0.25, 6.0
_RETRY_MS = 80  # MuPDF busy in a worker (a book being added): try the render again soon


class ReaderWidget(QWidget):
    page_changed = Signal(int)  # 1-based page now shown
    page_rendered = Signal(int)  # the page is on screen (screenshots wait for this)
    ask_about = Signal(str)  # a passage the reader selected

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.record: BookRecord | None = None
        self.book: BookText | None = None
        self.pages: MupdfPages | TextPages | None = None
        self.page_index = 0
        self.zoom = 1.0
        self.fit_width = True
        self.search = BookSearch()
        self.passage: tuple[int, int] | None = None  # [start, end) of the book text shown as evidence
        self._render_timer = QTimer(self, singleShot=True, interval=_RETRY_MS, timeout=self._render)

        self.image_view = ImagePageView()
        self.image_view.ask_about.connect(self.ask_about)
        self.image_view.resized.connect(self._on_view_resized)
        self.text_view = TextPageView()
        self.text_view.ask_about.connect(self.ask_about)
        self.placeholder = QLabel("Open a book from the library, or add one with File > Open (Ctrl+O).\n"
                                  "You can also drop book files on this window.")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.stack = QStackedWidget()
        for widget in (self.placeholder, self.image_view, self.text_view):
            self.stack.addWidget(widget)
        self.find_bar = FindBar()
        self.find_bar.find_requested.connect(self._on_find_requested)
        self.find_bar.closed.connect(self._on_find_closed)
        self.find_bar.hide()

        self._make_actions()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self._make_toolbar())
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.find_bar)
        self._update_controls()

    # --- actions and toolbar -----------------------------------------------------

    def _action(self, text: str, slot, shortcuts=(), checkable: bool = False, short: str = "") -> QAction:
        action = QAction(text, self, checkable=checkable)
        if short:  # the toolbar shows the short text; menus the full one
            action.setIconText(short)
            keys = ", ".join(QKeySequence(k).toString(QKeySequence.SequenceFormat.NativeText) for k in shortcuts)
            action.setToolTip(f"{text.rstrip('…')} ({keys})" if keys else text)
        action.setShortcuts([QKeySequence(s) for s in shortcuts])
        action.triggered.connect(slot)
        return action

    def _make_actions(self) -> None:
        K = QKeySequence.StandardKey
        self.previous_action = self._action("Previous Page", self.previous_page, ["Left", "Ctrl+PgUp"], short="◀")
        self.next_action = self._action("Next Page", self.next_page, ["Right", "Ctrl+PgDown"], short="▶")
        self.zoom_in_action = self._action("Zoom In", self.zoom_in, [K.ZoomIn, "Ctrl+="], short="+")
        self.zoom_out_action = self._action("Zoom Out", self.zoom_out, [K.ZoomOut], short="−")
        self.fit_width_action = self._action("Fit Width", self.set_fit_width, ["Ctrl+0"], checkable=True,
                                             short="Fit Width")
        self.fit_width_action.setChecked(True)
        self.find_action = self._action("Find in Book…", self.open_find, [K.Find], short="Find")
        self.find_next_action = self._action("Find Next", lambda: self._find_step(True), [K.FindNext])
        self.find_previous_action = self._action("Find Previous", lambda: self._find_step(False), [K.FindPrevious])
        # Arrow keys turn pages only while the reader has focus (not in the chat box).
        for action in (self.previous_action, self.next_action):
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.addAction(action)

    @property
    def view_actions(self) -> list[QAction]:
        return [self.previous_action, self.next_action, self.zoom_in_action, self.zoom_out_action,
                self.fit_width_action]

    @property
    def find_actions(self) -> list[QAction]:
        return [self.find_action, self.find_next_action, self.find_previous_action]

    def _make_toolbar(self) -> QToolBar:
        bar = QToolBar("Reader")
        bar.addAction(self.previous_action)
        self.page_spin = QSpinBox(minimum=1, maximum=1, keyboardTracking=False, toolTip="Go to page")
        self.page_spin.valueChanged.connect(self._on_page_spin_changed)
        self.page_total = QLabel(" of 1 ")
        bar.addWidget(self.page_spin)
        bar.addWidget(self.page_total)
        bar.addAction(self.next_action)
        bar.addSeparator()
        bar.addAction(self.zoom_out_action)
        self.zoom_label = QLabel("100%")
        self.zoom_label.setMinimumWidth(44)
        self.zoom_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        bar.addWidget(self.zoom_label)
        bar.addAction(self.zoom_in_action)
        bar.addAction(self.fit_width_action)
        bar.addSeparator()
        bar.addAction(self.find_action)
        return bar

    def _update_controls(self) -> None:
        count = self.pages.page_count if self.pages is not None else 1
        has_pages = self.pages is not None
        self.page_spin.blockSignals(True)
        self.page_spin.setMaximum(count)
        self.page_spin.setValue(self.page_index + 1)
        self.page_spin.blockSignals(False)
        self.page_total.setText(f" of {count} ")
        self.page_spin.setEnabled(has_pages)
        self.previous_action.setEnabled(has_pages and self.page_index > 0)
        self.next_action.setEnabled(has_pages and self.page_index < count - 1)
        for action in (self.zoom_in_action, self.zoom_out_action, self.fit_width_action):
            action.setEnabled(has_pages)
        for action in self.find_actions:
            action.setEnabled(self.book is not None)
        self.zoom_label.setText(f"{round(self.zoom * 100)}%")

    # --- the book ------------------------------------------------------------------

    def show_book(self, record: BookRecord, book: BookText | None = None) -> None:
        """Show ``record`` at its last page; a text book waits for its BookText."""
        self.close_book()
        self.record, self.book = record, book
        self.pages = open_pages(Path(record.path), record.format, book)
        if record.format in TEXT_FORMATS:
            self.zoom = 1.0  # text zooms by font size; a PDF's fit-width zoom would make it huge
        self.page_index = max(0, min(record.last_page, self._page_count()) - 1)
        self._show_current()

    def set_book_text(self, book: BookText) -> None:
        """The book's clean text arrived (find, and the pages of a text book)."""
        if self.record is None or book.content_hash != self.record.content_hash:
            return
        self.book = book
        if self.pages is None:
            self.pages = TextPages(book)
            self.page_index = min(self.page_index, self._page_count() - 1)
            self._show_current()
        self._update_controls()

    def close_book(self) -> None:
        if self.pages is not None:
            self.pages.close()
        self.record = self.book = self.pages = self.passage = None
        self.search.clear()
        self.find_bar.set_status("")
        self.stack.setCurrentWidget(self.placeholder)
        self._update_controls()

    def _page_count(self) -> int:
        return self.pages.page_count if self.pages is not None else max(1, self.record.pages if self.record else 1)

    # --- pages ---------------------------------------------------------------------

    @property
    def page(self) -> int:
        return self.page_index + 1

    def go_to_page(self, page: int) -> None:
        index = max(0, min(page - 1, self._page_count() - 1))
        if index != self.page_index:
            self.page_index = index
            self._show_current()
            self.page_changed.emit(self.page)

    def next_page(self) -> None:
        self.go_to_page(self.page + 1)

    def previous_page(self) -> None:
        self.go_to_page(self.page - 1)

    def _on_page_spin_changed(self, value: int) -> None:
        self.go_to_page(value)

    def _show_current(self) -> None:
        self._update_controls()
        if self.pages is None:
            self.stack.setCurrentWidget(self.placeholder)
            self.placeholder.setText("Reading the book…" if self.record else self.placeholder.text())
            return
        self._render()

    def _render(self) -> None:
        pages = self.pages
        if isinstance(pages, TextPages):
            self.stack.setCurrentWidget(self.text_view)
            self.text_view.set_zoom(self.zoom)
            self.text_view.show_text(pages.text(self.page_index))
        elif isinstance(pages, MupdfPages):
            if self.fit_width:
                self.zoom = self._fit_width_zoom(pages)
            ratio = self.devicePixelRatioF()
            image = pages.render(self.page_index, self.zoom * ratio)
            if image is None:
                self._render_timer.start()
                return
            image.setDevicePixelRatio(ratio)
            self.stack.setCurrentWidget(self.image_view)
            self.image_view.show_page(pages, self.page_index, image, self.zoom)
        else:
            return
        self._apply_find_marks()
        self._update_controls()
        self.page_rendered.emit(self.page)

    def _fit_width_zoom(self, pages: MupdfPages) -> float:
        width = self.image_view.viewport().width() - 24  # a margin each side, and room for the scroll bar
        page_width = pages.page_size(self.page_index).width() or 1.0
        return max(ZOOM_MIN, min(ZOOM_MAX, width / page_width))

    def _on_view_resized(self) -> None:
        if self.fit_width and isinstance(self.pages, MupdfPages):
            self._render_timer.start()

    # --- zoom ----------------------------------------------------------------------

    def _set_zoom(self, zoom: float) -> None:
        self.fit_width = False
        self.fit_width_action.setChecked(False)
        self.zoom = max(ZOOM_MIN, min(ZOOM_MAX, zoom))
        if self.pages is not None:
            self._render()
        self._update_controls()

    def zoom_in(self) -> None:
        self._set_zoom(self.zoom * ZOOM_STEP)

    def zoom_out(self) -> None:
        self._set_zoom(self.zoom / ZOOM_STEP)

    def set_fit_width(self, on: bool = True) -> None:
        self.fit_width = bool(on)
        self.fit_width_action.setChecked(self.fit_width)
        if self.pages is not None:
            self._render()

    # --- find ----------------------------------------------------------------------

    def open_find(self) -> None:
        selected = self.text_view.selected_text() if self.stack.currentWidget() is self.text_view else ""
        self.find_bar.open_bar(selected[:80])

    def find(self, query: str, forward: bool = True) -> int:
        """Go to the next (or previous) match of ``query``; returns how many matches the book has."""
        if self.find_bar.query_edit.text() != query:
            self.find_bar.open_bar(query)
        self._on_find_requested(query, forward)
        return len(self.search.matches)

    def _on_find_requested(self, query: str, forward: bool) -> None:
        if self.book is None:
            return
        if query != self.search.query:
            here = self.book.page_starts[self.page_index] if self.book.page_starts else 0
            self.search.start(self.book, query, here, forward)
        self._find_step(forward)

    def _find_step(self, forward: bool) -> None:
        offset = self.search.step(forward) if self.book is not None else None
        self.find_bar.set_status(self.search.status)
        if offset is not None and self.book.page_at(offset) != self.page:
            self.go_to_page(self.book.page_at(offset))  # renders, which applies the marks
        else:
            self._apply_find_marks()

    def _apply_find_marks(self) -> None:
        if self.book is not None and not self.find_bar.isVisible() and self.passage is not None:
            self._apply_passage_mark()
            return
        offsets, current = [], -1
        if self.search.query and self.book is not None and self.find_bar.isVisible():
            offsets, current = self.search.on_page(self.book, self.page)
        if isinstance(self.pages, TextPages):
            start, _ = self.pages.span(self.page_index)
            length = len(self.search.query)
            self.text_view.highlight([(o - start, o - start + length) for o in offsets], current)
        elif isinstance(self.pages, MupdfPages):
            rects = self.pages.find(self.page_index, self.search.query) if offsets else []
            self.image_view.canvas.set_highlights(rects, current if current < len(rects) else -1)
            self.image_view.reveal(self.image_view.canvas.highlight_center(current))

    # --- evidence ------------------------------------------------------------------

    def show_passage(self, start: int, end: int) -> None:
        """Open the page where ``book.text[start:end]`` begins and mark the passage there (an answer's evidence)."""
        if self.book is None or end <= start:
            return
        self.passage = (start, end)
        if self.find_bar.isVisible():
            self.find_bar.close_bar()
        page = self.book.page_at(start)
        if page != self.page:
            self.go_to_page(page)  # renders, which applies the mark
        else:
            self._apply_find_marks()

    def _apply_passage_mark(self) -> None:
        """Mark the evidence passage's part on this page (nothing on other pages)."""
        start, end = self.passage
        if isinstance(self.pages, TextPages):
            page_start, page_end = self.pages.span(self.page_index)
            on_page = max(start, page_start) < min(end, page_end)
            spans = [(max(start, page_start) - page_start, min(end, page_end) - page_start)] if on_page else []
            self.text_view.highlight(spans, 0 if spans else -1)
        elif isinstance(self.pages, MupdfPages):
            on_page = self.book.page_at(start) <= self.page <= self.book.page_at(max(start, end - 1))
            rects = self.pages.find_passage(self.page_index, self.book.text[start:end]) if on_page else []
            self.image_view.canvas.set_highlights(rects, 0 if rects else -1)
            self.image_view.reveal(self.image_view.canvas.highlight_center(0))

    def _on_find_closed(self) -> None:
        self._apply_find_marks()
