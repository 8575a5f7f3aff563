"""The find-in-book bar under the page (Ctrl+F): a query, next/previous, "3 of 12"."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QToolButton, QWidget


def _keys(key: QKeySequence.StandardKey) -> str:
    return QKeySequence(key).toString(QKeySequence.SequenceFormat.NativeText)


class FindBar(QWidget):
    """Asks for matches; the reader finds them and says where it is (``set_status``)."""

    find_requested = Signal(str, bool)  # query, forward
    closed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.query_edit = QLineEdit(placeholderText="Find in book")
        self.query_edit.setClearButtonEnabled(True)
        self.query_edit.returnPressed.connect(lambda: self._request(forward=True))
        self.status_label = QLabel()
        K = QKeySequence.StandardKey
        previous = QToolButton(text="Previous", toolTip=f"Previous match ({_keys(K.FindPrevious)})")
        previous.clicked.connect(lambda: self._request(forward=False))
        following = QToolButton(text="Next", toolTip=f"Next match ({_keys(K.FindNext)})")
        following.clicked.connect(lambda: self._request(forward=True))
        close = QToolButton(text="✕", toolTip="Close (Esc)", autoRaise=True)
        close.clicked.connect(self.close_bar)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        for widget in (self.query_edit, previous, following, self.status_label):
            layout.addWidget(widget)
        layout.addStretch(1)
        layout.addWidget(close)

    def open_bar(self, text: str = "") -> None:
        if text:
            self.query_edit.setText(text)
        self.show()
        self.query_edit.setFocus()
        self.query_edit.selectAll()

    def close_bar(self) -> None:
        self.hide()
        self.status_label.clear()
        self.closed.emit()

    def set_status(self, text: str) -> None:
        self.status_label.setText(text)

    def _request(self, forward: bool) -> None:
        query = self.query_edit.text().strip()
        if query:
            self.find_requested.emit(query, forward)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.close_bar()
            return
        super().keyPressEvent(event)
