"""The main window: library and contents on the left, the reader in the middle,
Memorize and Chat on the right.  It wires the parts together; each part does
its own work (``library_panel``, ``reader``, ``memorize_panel``, ``chat_panel``).
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QMainWindow, QMessageBox, QSplitter, QTabWidget, QVBoxLayout, QWidget

from lift_reader.gui.chat_panel import ChatPanel
from lift_reader.gui.errors import show_error, user_message
from lift_reader.gui.library_panel import LibraryPanel
from lift_reader.gui.memorize_panel import MemorizePanel
from lift_reader.gui.memorize_queue import MemorizeQueue
from lift_reader.gui.menus import Menus, open_book_dialog
from lift_reader.gui.notifier import Notifier
from lift_reader.gui.preferences import Preferences
from lift_reader.gui.reader.reader_widget import ReaderWidget
from lift_reader.gui.resume_notice import ResumeNotice
from lift_reader.gui.status import StatusArea
from lift_reader.gui.toc_panel import TocPanel
from lift_reader.store.records import BookRecord
from lift_reader.workers import jobs
from lift_reader.workers.session import Session

log = logging.getLogger("lift_reader.gui")
_SAVE_PAGE_MS = 600  # remember the page once the reader settles on it


class MainWindow(QMainWindow):
    book_opened = Signal(object)  # BookRecord, once its text is loaded

    def __init__(self, session: Session, prefs: Preferences):
        super().__init__()
        self.session, self.prefs = session, prefs
        session.set_current_book(None)  # a new window shows no book until one is opened
        self.setWindowTitle("LIFT Reader")
        self.setAcceptDrops(True)
        self.queue = MemorizeQueue(session, self)
        self.library_panel = LibraryPanel(session)
        self.toc_panel = TocPanel()
        self.reader = ReaderWidget()
        self.memorize_panel = MemorizePanel(session, self.queue, prefs)
        self.chat_panel = ChatPanel(session, prefs)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.memorize_panel, "Memorize")
        self.tabs.addTab(self.chat_panel, "Chat")
        self.status = StatusArea(self.statusBar(), session)
        self.notifier = Notifier(self)
        self.resume_notice = ResumeNotice()
        self._offer_resume = True  # the first paused runs found are those of earlier starts: offered once
        self._ask_before_quit = True  # False once a stop signal quits (quit_for_signal)
        self._save_page_timer = QTimer(self, singleShot=True, interval=_SAVE_PAGE_MS, timeout=self._save_page)
        self._following = False  # the parts follow the session's library and current book (_follow_session)

        left = QSplitter(Qt.Orientation.Vertical)
        left.addWidget(self.library_panel)
        left.addWidget(self.toc_panel)
        left.setStretchFactor(0, 3)
        left.setStretchFactor(1, 2)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.reader)
        self.splitter.addWidget(self.tabs)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([260, 700, 380])
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(4, 4, 4, 0)
        layout.addWidget(self.resume_notice)
        layout.addWidget(self.splitter, 1)
        self.setCentralWidget(central)
        self.menus = Menus(self)
        self._connect()
        self._restore_layout()

    @property
    def record(self) -> BookRecord | None:
        """The book shown: the session's current book."""
        return self.session.current_book

    def _follow_session(self, follow: bool) -> None:
        """While the window is open its parts show the session's library and current book; a closed one
        stops following (the next start of the app builds a new window on the same session in tests)."""
        if follow == self._following:
            return
        self._following = follow
        s = self.session
        for signal, slot in ((s.library_changed, self.library_panel.refresh),
                             (s.current_book_changed, self.library_panel.follow_current_book),
                             (s.current_book_changed, self.memorize_panel.show_book),
                             (s.current_book_changed, self.chat_panel.show_book),
                             (s.current_book_changed, self._on_current_book_changed)):
            if follow:
                signal.connect(slot)
            else:
                signal.disconnect(slot)

    def _connect(self) -> None:
        self._follow_session(True)
        self.library_panel.book_selected.connect(self.show_record)
        self.library_panel.add_requested.connect(self.open_dialog)
        self.library_panel.remove_requested.connect(self.remove_book)
        self.library_panel.memorize_requested.connect(self._on_memorize_requested)
        self.toc_panel.page_requested.connect(self.reader.go_to_page)
        self.reader.page_changed.connect(lambda _page: self._save_page_timer.start())
        self.reader.page_changed.connect(self._on_reading_page_changed)
        self.reader.ask_about.connect(self._on_ask_about)
        self.chat_panel.page_requested.connect(self.reader.go_to_page)
        self.chat_panel.passage_requested.connect(self.reader.show_passage)
        self.queue.changed.connect(self._on_queue_changed)
        self.queue.done.connect(self._on_memorize_done)
        self.queue.failed.connect(self._on_memorize_failed)
        self.queue.paused_changed.connect(self._on_paused_runs_changed)
        self.resume_notice.resume_requested.connect(self._on_resume_requested)
        # A bound method, not a lambda: the session outlives the window, and Qt drops
        # connections to a deleted receiver's methods only.
        self.session.model_failed.connect(self._on_model_failed)

    # --- opening books -----------------------------------------------------------------

    def open_dialog(self) -> None:
        for path in open_book_dialog(self, self.prefs):
            self.open_path(path)

    def open_path(self, path: str | Path) -> None:
        """Add a book file to the library (in the background) and show it."""
        path = Path(path).expanduser()
        self.status.show_message(f"Opening {path.name}…")
        self.session.book_job(jobs.add_book, path, label=f"Opening {path.name}", owner=self,
                              on_done=lambda record: self._on_book_added(path, record),
                              on_error=lambda err: self._on_open_failed(path, err))

    def _on_open_failed(self, path: Path, err: Exception) -> None:
        self.status.show_message(f"Could not open {path.name}", 8000)  # not "Opening …" for ever
        # A book error names the file itself: the dialog should not say it twice.
        show_error(self, err, "" if path.name in user_message(err) else f"Could not open {path.name}")

    def _on_book_added(self, path: Path, record: BookRecord) -> None:
        self.prefs.add_recent_file(str(path.resolve()))
        self.menus.refresh_recent()
        self.status.show_message(f"Opened “{record.title}”", 4000)
        self.session.library_updated(record.content_hash)
        self.show_record(record)

    def show_last_book(self) -> bool:
        """At start: the book read last, if the library has one."""
        records = list(self.library_panel.records.values())
        if records:
            self.show_record(records[0])
        return bool(records)

    def show_record(self, record: BookRecord) -> None:
        """Show a library book in the reader, Memorize and Chat."""
        if self.record is not None and self.record.content_hash != record.content_hash:
            self._save_page()
        self.session.library.touch_book(record.content_hash)  # read last: shown first next time
        self.session.set_current_book(record)  # the title, the library list, Memorize and Chat follow
        record = self.record  # read fresh: its last page
        # The reader opens the file here, not on every current_book_changed: a book read again after a run
        # saved its adapter keeps its page.
        try:
            self.reader.show_book(record)
        except Exception as err:  # a moved or damaged file: the chat and adapters still work from the cached text
            self.reader.close_book()
            show_error(self, err, f"Cannot show “{record.title}”")
        self.toc_panel.show_entries(None)
        self._on_reading_page_changed(self.reader.page if self.reader.record is not None else record.last_page)
        self.session.book_job(jobs.load_book_text, record, label="Reading the book", owner=self,
                              on_done=self._on_book_text_loaded,
                              on_error=lambda err: show_error(self, err, f"Could not read “{record.title}”"))

    def _on_book_text_loaded(self, book) -> None:
        if self.record is None or book.content_hash != self.record.content_hash:
            return  # another book was opened meanwhile
        self.reader.set_book_text(book)
        self.toc_panel.show_entries(book.toc)
        if self.reader.record is not None:
            self._on_reading_page_changed(self.reader.page)  # a text book's pages exist only now
        self.book_opened.emit(self.record)

    def _save_page(self) -> None:
        if self.reader.record is not None:
            try:
                self.session.library.set_last_page(self.reader.record.content_hash, self.reader.page)
            except Exception as err:  # the book was removed meanwhile: nothing to remember
                log.info("could not save the reading position: %s", err)

    def remove_book(self, record: BookRecord) -> None:
        if self.queue.run_for(record.content_hash) is not None:
            QMessageBox.information(self, "LIFT Reader", "This book is being memorized: pause or cancel that first.")
            return
        answer = QMessageBox.question(
            self, "Remove from library", f"Remove “{record.title}” from the library?\n\n"
            "The file stays where it is, and its adapters stay in the adapters manager.")
        if answer != QMessageBox.StandardButton.Yes:
            return
        self.session.remove_book(record.content_hash)

    # --- reacting to the parts -------------------------------------------------------------

    def _on_current_book_changed(self, record: BookRecord | None) -> None:
        self.setWindowTitle(f"{record.title} — LIFT Reader" if record is not None else "LIFT Reader")
        if record is None:
            self.reader.close_book()
            self.toc_panel.show_entries(None)

    def _on_ask_about(self, passage: str) -> None:
        self.tabs.setCurrentWidget(self.chat_panel)
        self.chat_panel.prefill(passage)

    def _on_reading_page_changed(self, page: int) -> None:
        """The contents and the spoiler-safe options in Memorize and Chat follow the page being read."""
        self.toc_panel.follow_page(page)
        self.memorize_panel.set_reading_page(page)
        self.chat_panel.set_reading_page(page)

    def _on_memorize_requested(self, record: BookRecord) -> None:
        self.show_record(record)
        self.tabs.setCurrentWidget(self.memorize_panel)

    def _on_queue_changed(self, content_hash: str) -> None:
        run = self.queue.run_for(content_hash)
        self.library_panel.set_live_state(content_hash, run.describe() if run else None)
        self._update_resume_notice()

    def _on_paused_runs_changed(self) -> None:
        self.library_panel.set_paused({h: paused.fraction for h, paused in self.queue.paused.items()})
        if self._offer_resume and self.queue.paused_known:
            self._offer_resume = False
            self.resume_notice.offer(list(self.queue.paused.values()))
        self._update_resume_notice()

    def _update_resume_notice(self) -> None:
        """Offer only runs still paused and not queued meanwhile (from the Memorize tab, say)."""
        self.resume_notice.retain({h for h in self.queue.paused if self.queue.run_for(h) is None})

    def _on_resume_requested(self, paused) -> None:
        """Resume from the start-up notice: the book in the Memorize tab, with its checkpoint's settings."""
        record = self.library_panel.records.get(paused.record.content_hash)
        if record is None:  # removed from the library meanwhile
            return
        self._on_memorize_requested(record)
        self.memorize_panel.resume(paused)

    def _title_of(self, content_hash: str) -> str:
        record = self.library_panel.records.get(content_hash)
        return f"“{record.title}”" if record is not None else "The book"

    def _on_memorize_done(self, content_hash: str, outcome) -> None:
        self.session.library_updated(content_hash)  # its new adapter: in the list, Memorize and Chat
        name = outcome.adapter.name if outcome.adapter else "?"
        self.notifier.notify("Memorized", f"{self._title_of(content_hash)} is memorized (adapter “{name}”). "
                                          "Ask away in the Chat tab.")

    def _on_memorize_failed(self, content_hash: str, err: Exception) -> None:
        # The reader may be in another window by now: the desktop hears of it too, then the dialog says why.
        self.notifier.notify("Memorizing stopped", f"{self._title_of(content_hash)} was not memorized: "
                                                   f"{user_message(err)}")
        show_error(self, err, "Memorizing stopped")

    def _on_model_failed(self, err: Exception) -> None:
        show_error(self, err, "The model could not be loaded")

    # --- drag and drop, layout, closing ------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        for url in event.mimeData().urls():
            if url.isLocalFile() and Path(url.toLocalFile()).is_file():
                self.open_path(url.toLocalFile())
        event.acceptProposedAction()

    def _restore_layout(self) -> None:
        geometry, state = self.prefs.window_state()
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1360, 860)
        if state is not None:
            self.splitter.restoreState(state)

    def quit_for_signal(self) -> None:
        """SIGTERM/SIGHUP (gui/stop_signals.py): close without asking; a memorize run pauses with a checkpoint."""
        self._ask_before_quit = False
        self.close()  # the last window closed: Qt's event loop ends and run_app waits for the checkpoint

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.queue.active is not None and self._ask_before_quit:
            answer = QMessageBox.question(
                self, "Memorizing in progress",
                "A book is being memorized. Pause it and quit? Resume continues from where it stopped.")
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
        self.queue.stop_all()
        self.chat_panel.stop()
        self._save_page()
        self.prefs.set_window_state(self.saveGeometry(), self.splitter.saveState())
        self._follow_session(False)
        event.accept()
