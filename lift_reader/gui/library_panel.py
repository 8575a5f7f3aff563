"""The library list: every book with its cover, pages and memorize state."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QListWidget, QListWidgetItem, QMenu, QPushButton, QVBoxLayout, QWidget

from lift_reader.gui.covers import cached_cover, needs_rendering, placeholder_cover, render_cover
from lift_reader.store.records import BookRecord
from lift_reader.workers.session import Session

_HASH_ROLE = Qt.ItemDataRole.UserRole


def memorize_state(record: BookRecord, live_state: str | None, paused_fraction: float | None = None) -> str:
    """One line: memorizing 42% / queued / paused at 40% / memorized (adapter) / not memorized."""
    if live_state:
        return live_state
    memorized = f"memorized ({record.active_adapter})" if record.active_adapter else ""
    if paused_fraction is not None:
        paused = f"paused at {paused_fraction:.0%}"
        return f"{memorized}; a new run {paused}" if memorized else paused
    return memorized or "not memorized"


class LibraryPanel(QWidget):
    book_selected = Signal(object)  # BookRecord
    add_requested = Signal()
    remove_requested = Signal(object)  # BookRecord
    memorize_requested = Signal(object)  # BookRecord

    def __init__(self, session: Session, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.records: dict[str, BookRecord] = {}
        self._live_states: dict[str, str] = {}  # content hash -> "memorizing 42%", "queued", ...
        self._paused: dict[str, float] = {}  # content hash -> how far its paused run got (0..1)
        self._covers: dict[str, QIcon] = {}
        self._covers_pending: set[str] = set()

        self.list = QListWidget()
        self.list.setIconSize(QSize(30, 42))
        self.list.setSpacing(2)
        self.list.setWordWrap(True)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._on_context_menu_requested)
        self.list.currentItemChanged.connect(self._on_current_item_changed)
        self.add_button = QPushButton("Add Book…")
        self.add_button.clicked.connect(self.add_requested)
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("Remove from the library (the file stays where it is)")
        self.remove_button.clicked.connect(self._on_remove_clicked)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        self.refresh()

    # --- contents ------------------------------------------------------------------

    def refresh(self, select_hash: str | None = None) -> None:
        """Reload the books from the library, keeping (or moving) the selection."""
        keep = select_hash or self.current_hash()
        self.records = {r.content_hash: r for r in self.session.library.list_books()}
        self.list.blockSignals(True)
        self.list.clear()
        for record in self.records.values():
            item = QListWidgetItem(self._cover(record), self._item_text(record))
            item.setData(_HASH_ROLE, record.content_hash)
            item.setToolTip(record.path)
            self.list.addItem(item)
            if record.content_hash == keep:
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)
        self.remove_button.setEnabled(self.current_hash() is not None)

    def _item_text(self, record: BookRecord) -> str:
        by = record.author or record.format.upper()
        pages = f"{record.pages} page{'s' if record.pages != 1 else ''}"
        h = record.content_hash
        state = memorize_state(record, self._live_states.get(h), self._paused.get(h))
        return f"{record.title}\n{by} · {pages}\n{state}"

    def set_live_state(self, content_hash: str, state: str | None) -> None:
        """Show a running state (memorizing 42%, queued) instead of the stored one."""
        if state:
            self._live_states[content_hash] = state
        else:
            self._live_states.pop(content_hash, None)
        self._update_text(content_hash)

    def set_paused(self, fractions: dict[str, float]) -> None:
        """The books with a run Resume can continue, and how far each got (replaces the previous set)."""
        changed = set(fractions) | set(self._paused)
        self._paused = dict(fractions)
        for content_hash in changed:
            self._update_text(content_hash)

    def _update_text(self, content_hash: str) -> None:
        item = self._item(content_hash)
        if item is not None and content_hash in self.records:
            item.setText(self._item_text(self.records[content_hash]))

    def _item(self, content_hash: str) -> QListWidgetItem | None:
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item.data(_HASH_ROLE) == content_hash:
                return item
        return None

    def current_hash(self) -> str | None:
        item = self.list.currentItem()
        return item.data(_HASH_ROLE) if item is not None else None

    def current_record(self) -> BookRecord | None:
        content_hash = self.current_hash()
        return self.records.get(content_hash) if content_hash else None

    def follow_current_book(self, record: BookRecord | None) -> None:
        """The session's current book changed: mark it here (None: keep the list as it is)."""
        if record is not None:
            self.select(record.content_hash)

    def select(self, content_hash: str) -> None:
        """Mark a book as current without announcing it (the window is already showing it)."""
        item = self._item(content_hash)
        if item is not None:
            self.list.blockSignals(True)
            self.list.setCurrentItem(item)
            self.list.blockSignals(False)
            self.remove_button.setEnabled(True)

    # --- covers --------------------------------------------------------------------

    def _cover(self, record: BookRecord) -> QIcon:
        icon = self._covers.get(record.content_hash)
        if icon is not None:
            return icon
        image = cached_cover(record)
        if image is None and needs_rendering(record):
            self._render_cover_later(record)
        if image is None:
            image = placeholder_cover(record.title, seed=record.content_hash)
        icon = QIcon(QPixmap.fromImage(image))
        self._covers[record.content_hash] = icon
        return icon

    def _render_cover_later(self, record: BookRecord) -> None:
        if record.content_hash in self._covers_pending:
            return
        self._covers_pending.add(record.content_hash)
        self.session.background(render_cover, record, label="Rendering a cover", owner=self,
                                on_done=lambda image, h=record.content_hash: self._on_cover_rendered(h, image),
                                on_finished=lambda h=record.content_hash: self._covers_pending.discard(h))

    def _on_cover_rendered(self, content_hash: str, image: QImage) -> None:
        icon = QIcon(QPixmap.fromImage(image))
        self._covers[content_hash] = icon
        item = self._item(content_hash)
        if item is not None:
            item.setIcon(icon)

    # --- user actions --------------------------------------------------------------

    def _on_current_item_changed(self, current: QListWidgetItem | None, _previous) -> None:
        self.remove_button.setEnabled(current is not None)
        record = self.current_record()
        if record is not None:
            self.book_selected.emit(record)

    def _on_remove_clicked(self) -> None:
        record = self.current_record()
        if record is not None:
            self.remove_requested.emit(record)

    def _on_context_menu_requested(self, pos: QPoint) -> None:
        item = self.list.itemAt(pos)
        record = self.records.get(item.data(_HASH_ROLE)) if item is not None else None
        if record is None:
            return
        menu = QMenu(self)
        menu.addAction("Memorize", lambda: self.memorize_requested.emit(record))
        menu.addAction("Remove from Library", lambda: self.remove_requested.emit(record))
        menu.popup(self.list.viewport().mapToGlobal(pos))
