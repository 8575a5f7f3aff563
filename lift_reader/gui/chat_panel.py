"""The Chat tab: ask about the open book; answers stream in and name their pages.

One answer is generated at a time, in the model lane; a question asked while
a book is being memorized is answered between two of its training steps.  The worker saves the
exchange in the library as it streams; this panel only shows it, and shows
the book's saved history again when the book is reopened.  "Spoiler-safe"
limits answers to the book up to the page open in the reader; an answer
whose adapter has read further says so.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QGuiApplication, QKeyEvent, QPalette
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QTextBrowser, QVBoxLayout, QWidget,
)

from lift_reader.core.ask.modes import MODE_LABELS, without_adapter
from lift_reader.core.ask.modes import mode as ask_mode
from lift_reader.gui.chat_modes import mode_help
from lift_reader.gui.chat_transcript import ChatEntry, Transcript
from lift_reader.gui.errors import show_error, user_message
from lift_reader.gui.preferences import Preferences
from lift_reader.store.records import BookRecord
from lift_reader.workers import jobs
from lift_reader.workers.background import Worker
from lift_reader.workers.session import Session

_RENDER_MS = 60  # redraw a streaming answer at most this often


class ChatPanel(QWidget):
    page_requested = Signal(int)
    passage_requested = Signal(int, int)  # an answer's evidence: [start, end) of the book's text
    answer_finished = Signal()  # an answer completed, stopped or failed

    def __init__(self, session: Session, prefs: Preferences, parent: QWidget | None = None):
        super().__init__(parent)
        self.session, self.prefs = session, prefs
        self.record: BookRecord | None = None
        self.transcript = Transcript()
        self._worker: Worker | None = None
        self._streaming: ChatEntry | None = None
        self._streaming_hash: str | None = None
        self._pending_question: ChatEntry | None = None  # asked, not yet saved by the answer job
        self._answer_failed = False
        self._render_timer = QTimer(self, singleShot=True, interval=_RENDER_MS, timeout=self._render)

        self.mode_combo = QComboBox(toolTip="What the answers are made from")
        for mode, label in MODE_LABELS.items():
            self.mode_combo.addItem(label, mode)
            self.mode_combo.setItemData(self.mode_combo.count() - 1, mode_help(mode), Qt.ItemDataRole.ToolTipRole)
        self.mode_combo.setCurrentIndex(max(0, self.mode_combo.findData(prefs.chat_mode())))
        self.mode_combo.currentIndexChanged.connect(self._on_mode_changed)
        self.mode_help = QLabel(wordWrap=True)  # the chosen mode in one line, right under its name
        self.reading_page = 1  # the page open in the reader (the main window keeps it up to date)
        self.spoiler_box = QCheckBox("Spoiler-safe: only up to the page I'm reading")
        self.spoiler_box.setChecked(prefs.chat_spoiler_safe())
        self.spoiler_box.toggled.connect(self.prefs.set_chat_spoiler_safe)
        self.notice = QLabel(wordWrap=True)
        self.view = QTextBrowser(openLinks=False)
        self.view.anchorClicked.connect(self._on_anchor_clicked)
        # Keep the newest message in sight while the reader is at the end (also when the document is laid
        # out later, e.g. the first time a hidden tab is shown), but not once they have scrolled back.  Only
        # the reader's own scrolling counts: setHtml and re-layouts move the bar too.
        self._follow_end = True
        self.view.verticalScrollBar().actionTriggered.connect(self._on_scrolled)
        self.view.verticalScrollBar().rangeChanged.connect(self._on_scroll_range_changed)
        self.input = QPlainTextEdit(placeholderText="Ask about this book (Enter to send, Shift+Enter for a new line)")
        self.input.setMaximumHeight(80)
        self.input.installEventFilter(self)
        self.ask_button = QPushButton("Ask", clicked=self.ask)
        self.stop_button = QPushButton("Stop", clicked=self.stop)
        self.regenerate_button = QPushButton("Regenerate", clicked=self.regenerate)
        self.copy_button = QPushButton("Copy", clicked=self.copy_last_answer, toolTip="Copy the last answer")

        top = QHBoxLayout()
        top.addWidget(QLabel("Mode"))
        top.addWidget(self.mode_combo, 1)
        buttons = QHBoxLayout()
        for button in (self.ask_button, self.stop_button, self.regenerate_button, self.copy_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.mode_help)
        layout.addWidget(self.spoiler_box)
        layout.addWidget(self.notice)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.input)
        layout.addLayout(buttons)
        self.set_reading_page(1)
        for lane_signal in (session.lane.job_started, session.lane.busy_changed):  # a run starts or ends
            lane_signal.connect(self._on_lane_changed)
        self._show_mode_help()
        self.show_book(None)

    @property
    def mode(self) -> str:
        return self.mode_combo.currentData()

    @property
    def busy(self) -> bool:
        return self._worker is not None

    @property
    def up_to_page(self) -> int | None:
        """The page limit of the next question (None: the whole book)."""
        return self.reading_page if self.spoiler_box.isChecked() else None

    def set_reading_page(self, page: int) -> None:
        self.reading_page = max(1, page)
        self.spoiler_box.setToolTip(
            f"Answers use the book only up to the end of page {self.reading_page}, the page open in the reader, "
            "and an adapter memorized no further when there is one.")

    # --- the book ------------------------------------------------------------------

    def show_book(self, record: BookRecord | None) -> None:
        """Show ``record``'s saved conversation (an answer streaming for it stays live)."""
        self.record = record
        if record is None:
            self.transcript = Transcript()
        else:
            self.transcript = Transcript([ChatEntry.from_message(m)
                                          for m in self.session.library.list_messages(record.content_hash)])
            if self._streaming is not None and self._streaming_hash == record.content_hash:
                self._adopt_streaming_entry()
        self._follow_end = True  # a reopened conversation shows its newest message
        self._update_notice()
        self._update_buttons()
        self._render()

    def _adopt_streaming_entry(self) -> None:
        """The library already holds the streaming answer's row: show the live entry in its place."""
        live = self._streaming
        rows = [i for i, e in enumerate(self.transcript.entries) if e.message_id == live.message_id]
        if rows:
            self.transcript.entries[rows[0]] = live
        else:  # not saved yet (still waiting for the model): nor is its question
            if self._pending_question is not None:
                self.transcript.entries.append(self._pending_question)
            self.transcript.entries.append(live)

    def _update_notice(self) -> None:
        if self.record is None:
            self.notice.setText("Open a book to chat about it.")
        elif ask_mode(self.mode).uses_adapter and self.session.lane.memorizing(self.record.content_hash):
            self.notice.setText("This book is being memorized: a question is answered between two of its steps, "
                                "with the adapter as it stands.")
        elif not self.record.active_adapter and ask_mode(self.mode).uses_adapter:
            retrieves = without_adapter(self.mode).uses_retrieval
            shown = "passages found for each question" if retrieves else "its opening and ending"
            self.notice.setText(f"This book is not memorized yet: answers use {shown} only. "
                                "Memorize it for answers about the whole book.")
        else:
            self.notice.setText("")
        self.notice.setVisible(bool(self.notice.text()))

    def _update_buttons(self) -> None:
        has_book = self.record is not None
        last = self.transcript.last_answer()
        self.ask_button.setEnabled(has_book and not self.busy)
        self.input.setEnabled(has_book)
        self.stop_button.setEnabled(self.busy)
        self.regenerate_button.setEnabled(has_book and not self.busy and last is not None
                                          and last.message_id is not None)
        self.copy_button.setEnabled(last is not None and bool(last.text))

    def _render(self) -> None:
        palette = self.palette()
        muted = palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text).name()
        accent = palette.color(QPalette.ColorRole.Link).name()
        self.view.setHtml(self.transcript.to_html(muted, accent, self.mode))
        if self._follow_end:
            self.view.verticalScrollBar().setValue(self.view.verticalScrollBar().maximum())

    # --- asking ----------------------------------------------------------------------

    def prefill(self, passage: str) -> None:
        """"Ask about this": put a selected passage in the question box."""
        excerpt = passage if len(passage) <= 400 else passage[:400] + "…"
        self.input.setPlainText(f"About “{excerpt}”: ")
        self.input.moveCursor(self.input.textCursor().MoveOperation.End)
        self.input.setFocus()

    def ask(self) -> None:
        question = self.input.toPlainText().strip()
        if not question or self.record is None or self.busy:
            return
        self.input.clear()
        self._pending_question = ChatEntry("user", question, self.mode)
        self.transcript.entries.append(self._pending_question)
        request = jobs.AnswerRequest(question, self.mode, max_new_tokens=self.prefs.answer_tokens(),
                                     up_to_page=self.up_to_page)
        self._start(request, ChatEntry("assistant", "", self.mode, complete=False))

    def regenerate(self) -> None:
        last = self.transcript.last_answer()
        if self.record is None or self.busy or last is None or last.message_id is None:
            return
        question = self.transcript.question_before(last)
        if question is None:
            return
        last.text, last.pages, last.note, last.mode, last.grounding = "", (), "", self.mode, None
        request = jobs.AnswerRequest(question, self.mode, regenerate_id=last.message_id,
                                     max_new_tokens=self.prefs.answer_tokens(), up_to_page=self.up_to_page)
        self._start(request, last)

    def _start(self, request: jobs.AnswerRequest, entry: ChatEntry) -> None:
        entry.streaming, entry.complete = True, False
        if self.session.lane.busy:
            entry.note = "Waiting for the model…"
        if entry not in self.transcript.entries:
            self.transcript.entries.append(entry)
        self._follow_end = True  # the reader asked: show the answer as it comes
        self._streaming, self._streaming_hash = entry, self.record.content_hash
        self._answer_failed = False
        self._worker = self.session.model_job(
            jobs.answer, self.record, request, label="Answering", owner=self,
            on_yield=self._on_answer_yielded, on_error=self._on_answer_failed, on_finished=self._on_answer_finished,
            between_steps=True)
        if self._worker.between_steps:
            entry.note = "Memorize pauses for this question after its current step…"
        self._update_buttons()
        self._render()

    def stop(self) -> None:
        if self._worker is not None:
            self._worker.quit()

    def _on_answer_yielded(self, item) -> None:
        entry = self._streaming
        if entry is None:
            return
        if isinstance(item, jobs.AnswerStarted):  # question and answer rows are in the library now
            self._pending_question = None
            entry.message_id, entry.mode, entry.pages, entry.note = item.message_id, item.mode, item.pages, item.note
        elif isinstance(item, jobs.AnswerChecked):
            entry.grounding = item.grounding
        else:
            entry.text += item
        if not self._render_timer.isActive():
            self._render_timer.start()

    def _on_answer_failed(self, err: Exception) -> None:
        self._answer_failed = True
        if self._streaming is not None:
            self._streaming.note = "No answer: " + user_message(err)
        show_error(self, err, "Could not answer")

    def _on_answer_finished(self) -> None:
        entry, worker = self._streaming, self._worker
        self._worker = self._streaming = self._streaming_hash = self._pending_question = None
        if entry is not None:
            entry.streaming = False
            entry.complete = worker is not None and not worker.cancelled and not self._answer_failed
            entry.text = entry.text.strip()
        self._update_buttons()
        self._render()
        self.answer_finished.emit()

    def copy_last_answer(self) -> None:
        last = self.transcript.last_answer()
        if last is not None and last.text:
            QGuiApplication.clipboard().setText(last.text)

    # --- small slots -----------------------------------------------------------------

    def _on_lane_changed(self, *_args) -> None:
        self._update_notice()

    def _on_mode_changed(self) -> None:
        self.prefs.set_chat_mode(self.mode)
        self._show_mode_help()
        self._update_notice()
        if not self.transcript.entries:
            self._render()  # the empty chat describes the mode now selected

    def _show_mode_help(self) -> None:
        self.mode_help.setText(mode_help(self.mode))

    def _on_scrolled(self, _action: int) -> None:
        bar = self.view.verticalScrollBar()
        self._follow_end = bar.sliderPosition() >= bar.maximum() - 4  # where the action takes the bar

    def _on_scroll_range_changed(self, _minimum: int, maximum: int) -> None:
        if self._follow_end:
            # After the event that changed the range: when the view is resized (its tab shown),
            # QTextEdit sets the bar back to its old line after this signal, which left a
            # reopened chat near its top.
            QTimer.singleShot(0, self._scroll_to_end)

    def _scroll_to_end(self) -> None:
        if self._follow_end:
            bar = self.view.verticalScrollBar()
            bar.setValue(bar.maximum())

    def _on_anchor_clicked(self, url: QUrl) -> None:
        if url.scheme() == "page":
            self.page_requested.emit(int(url.path() or 0))
        elif url.scheme() == "evidence":
            start, _, end = url.path().partition("-")
            self.passage_requested.emit(int(start), int(end))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # Enter sends, Shift+Enter adds a line (as in most chat apps).
        if watched is self.input and event.type() == QEvent.Type.KeyPress:
            key_event: QKeyEvent = event
            if key_event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) \
                    and not key_event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                self.ask()
                return True
        return super().eventFilter(watched, event)
