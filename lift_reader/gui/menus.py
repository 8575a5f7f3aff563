"""The main window's menus, with the standard shortcuts of each platform."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMenu, QMenuBar, QTabWidget, QWidget

from lift_reader.gui.chat_panel import ChatPanel
from lift_reader.gui.file_dialogs import remember_folder, start_folder
from lift_reader.gui.library_panel import LibraryPanel
from lift_reader.gui.preferences import Preferences
from lift_reader.gui.reader.reader_widget import ReaderWidget
from lift_reader.store.records import BookRecord
from lift_reader.workers.session import Session

K = QKeySequence.StandardKey


def book_file_filter() -> str:
    from lift_reader.core.text.documents import SUPPORTED_SUFFIXES

    patterns = " ".join(f"*{suffix}" for suffix in sorted(SUPPORTED_SUFFIXES))
    return f"Books ({patterns});;All files (*)"


def open_book_dialog(parent: QWidget, prefs: Preferences) -> list[str]:
    paths, _ = QFileDialog.getOpenFileNames(parent, "Open Book", str(start_folder(prefs, "books")), book_file_filter())
    if paths:
        remember_folder(prefs, "books", paths[0])
    return paths


class MenuWindow(Protocol):
    """What the menus use of the main window (a protocol, so that main_window.py imports this module and
    not the other way round)."""

    session: Session
    prefs: Preferences
    reader: ReaderWidget
    library_panel: LibraryPanel
    memorize_panel: QWidget
    chat_panel: ChatPanel
    tabs: QTabWidget

    def menuBar(self) -> QMenuBar: ...
    def close(self) -> bool: ...
    def open_dialog(self) -> None: ...
    def open_path(self, path: str | Path) -> None: ...
    def remove_book(self, record: BookRecord) -> None: ...


class Menus:
    """Builds the menu bar; keeps what changes later (Open Recent)."""

    def __init__(self, window: MenuWindow):
        self.window = window
        bar = window.menuBar()
        self.file_menu = bar.addMenu("&File")
        self._add(self.file_menu, "&Open…", window.open_dialog, K.Open)
        self.recent_menu = self.file_menu.addMenu("Open &Recent")
        self.file_menu.addSeparator()
        self._add(self.file_menu, "&Remove from Library", self._on_remove_triggered)
        self.file_menu.addSeparator()
        self._add(self.file_menu, "&Quit", window.close, K.Quit, fallback="Ctrl+Q")

        edit = bar.addMenu("&Edit")
        edit.addActions(window.reader.find_actions)
        edit.addSeparator()
        self._add(edit, "&Settings…", self._on_settings_triggered, K.Preferences, fallback="Ctrl+,")

        view = bar.addMenu("&View")
        view.addActions(window.reader.view_actions)
        view.addSeparator()
        self._add(view, "&Memorize Panel", lambda: window.tabs.setCurrentWidget(window.memorize_panel), "Ctrl+M")
        self._add(view, "&Chat Panel", self._on_chat_triggered, "Ctrl+J")

        tools = bar.addMenu("&Tools")
        self._add(tools, "&Adapters…", self._on_adapters_triggered, "Ctrl+Shift+A")

        help_menu = bar.addMenu("&Help")
        self._add(help_menu, "&About LIFT Reader", self._on_about_triggered)
        self.refresh_recent()

    def _add(self, menu: QMenu, text: str, slot, shortcut=None, fallback: str | None = None) -> QAction:
        action = menu.addAction(text)
        action.triggered.connect(slot)
        if shortcut is not None:
            keys = QKeySequence.keyBindings(shortcut) if isinstance(shortcut, K) else [QKeySequence(shortcut)]
            # Some platforms bind nothing to Quit or Preferences: give them the usual keys.
            action.setShortcuts(keys or ([QKeySequence(fallback)] if fallback else []))
        return action

    def refresh_recent(self) -> None:
        self.recent_menu.clear()
        files = self.window.prefs.recent_files()
        for path in files:
            action = self.recent_menu.addAction(Path(path).name)
            action.setToolTip(path)
            action.triggered.connect(lambda _checked=False, p=path: self.window.open_path(p))
        if files:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear Menu", self._on_clear_recent_triggered)
        self.recent_menu.setEnabled(bool(files))

    def _on_clear_recent_triggered(self) -> None:
        self.window.prefs.clear_recent_files()
        self.refresh_recent()

    def _on_remove_triggered(self) -> None:
        record = self.window.library_panel.current_record()
        if record is not None:
            self.window.remove_book(record)

    def _on_chat_triggered(self) -> None:
        self.window.tabs.setCurrentWidget(self.window.chat_panel)
        self.window.chat_panel.input.setFocus()

    def _on_settings_triggered(self) -> None:
        from lift_reader.gui.settings_dialog import SettingsDialog

        SettingsDialog(self.window.prefs, self.window).exec()

    def _on_adapters_triggered(self) -> None:
        from lift_reader.gui.adapters_dialog import AdaptersDialog

        dialog = AdaptersDialog(self.window.session, self.window.prefs, self.window)
        dialog.adapters_changed.connect(self.window.session.library_updated)
        dialog.exec()

    def _on_about_triggered(self) -> None:
        from lift_reader.gui.about_dialog import AboutDialog

        AboutDialog(self.window.session, self.window).exec()
