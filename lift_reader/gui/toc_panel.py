"""The book's table of contents: a tree that jumps the reader to a chapter's page, and marks the chapter of the
page being read."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QTreeWidget, QTreeWidgetItem, QTreeWidgetItemIterator, QWidget

from lift_reader.core.text.book import TocEntry

_PAGE_ROLE = Qt.ItemDataRole.UserRole


class TocPanel(QTreeWidget):
    page_requested = Signal(int)  # 1-based

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setHeaderLabels(["Contents", "Page"])
        self.setColumnCount(2)
        self.header().setStretchLastSection(False)
        self.header().setSectionResizeMode(0, self.header().ResizeMode.Stretch)
        self.header().setSectionResizeMode(1, self.header().ResizeMode.ResizeToContents)
        self.setUniformRowHeights(True)
        self.itemActivated.connect(self._on_item_activated)
        self.itemClicked.connect(self._on_item_activated)
        self.show_entries(None)

    def show_entries(self, entries: list[TocEntry] | None) -> None:
        """Fill the tree from ``BookText.toc`` (None: no book yet)."""
        self.clear()
        if not entries:
            note = QTreeWidgetItem(["No table of contents" if entries is not None else "No book open", ""])
            note.setFlags(Qt.ItemFlag.NoItemFlags)
            self.addTopLevelItem(note)
            return
        parents: list[QTreeWidgetItem] = []  # parents[i]: the latest item at level i+1
        for entry in entries:
            level = max(1, entry.level)
            del parents[level - 1:]
            item = QTreeWidgetItem([entry.title, str(entry.page)])
            item.setData(0, _PAGE_ROLE, entry.page)
            item.setTextAlignment(1, Qt.AlignmentFlag.AlignRight)
            item.setToolTip(0, entry.title)
            if parents:
                parents[-1].addChild(item)
            else:
                self.addTopLevelItem(item)
            # A level skipped (1 -> 3) nests under the nearest parent instead of failing.
            parents.extend([item] * (level - len(parents)))
        self.expandToDepth(0)

    def follow_page(self, page: int) -> None:
        """Select the entry the reader is in: the last one (in reading order) that starts at or before ``page``."""
        current = None
        iterator = QTreeWidgetItemIterator(self)
        while iterator.value() is not None:
            item = iterator.value()
            start = item.data(0, _PAGE_ROLE)
            if start is not None and int(start) <= page:
                current = item
            iterator += 1
        if current is None:
            self.clearSelection()
            return
        self.setCurrentItem(current)  # no itemClicked: the reader is not sent anywhere
        self.scrollToItem(current)

    def _on_item_activated(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        page = item.data(0, _PAGE_ROLE)
        if page is not None:
            self.page_requested.emit(int(page))
