"""Telling the reader that long work is done: the status bar always, the system tray where there is one,
and the taskbar entry asks for attention when the window is not the active one."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication, QMainWindow, QSystemTrayIcon

STATUS_MS = 60_000  # a run may end while the reader looks elsewhere: the line stays a minute


class Notifier:
    def __init__(self, window: QMainWindow):
        self.window = window
        self.tray: QSystemTrayIcon | None = None
        if QSystemTrayIcon.isSystemTrayAvailable():
            self.tray = QSystemTrayIcon(window.windowIcon(), window)
            self.tray.setToolTip("LIFT Reader")
            self.tray.messageClicked.connect(self._on_message_clicked)

    def notify(self, title: str, message: str) -> None:
        self.window.statusBar().showMessage(message, STATUS_MS)
        QApplication.alert(self.window)  # no-op when the window is active
        if self.tray is not None:
            self.tray.setIcon(self.window.windowIcon())
            self.tray.show()  # a tray message needs a visible icon
            self.tray.showMessage(title, message, QSystemTrayIcon.MessageIcon.Information, 8000)

    def _on_message_clicked(self) -> None:
        self.window.showNormal()
        self.window.raise_()
        self.window.activateWindow()
