"""``--screenshot FILE``: show a book, wait until its page is on screen, save the window, quit."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from lift_reader.gui.errors import set_dialogs_enabled
from lift_reader.gui.main_window import MainWindow

log = logging.getLogger("lift_reader.gui")
TIMEOUT_MS = 90_000  # a large PDF may take a while to read the first time
SETTLE_MS = 400  # let covers arrive and layouts settle before grabbing


def wait_until_shown(window: MainWindow, open_path: str | None, timeout_ms: int = TIMEOUT_MS) -> bool:
    """Open ``open_path`` (or the last book) and wait for its page and contents; False on timeout."""
    loop = QEventLoop()
    ready = {"ok": False}

    def _on_book_opened(_record) -> None:
        ready["ok"] = True
        QTimer.singleShot(SETTLE_MS, loop.quit)

    window.book_opened.connect(_on_book_opened)
    timer = QTimer(singleShot=True, interval=timeout_ms, timeout=loop.quit)
    timer.start()
    if open_path:
        window.open_path(open_path)
    elif not window.show_last_book():
        QTimer.singleShot(SETTLE_MS, loop.quit)  # an empty library: the welcome screen is the shot
        ready["ok"] = True
    loop.exec()
    timer.stop()
    window.book_opened.disconnect(_on_book_opened)
    return ready["ok"]


def take_screenshot(app: QApplication, window: MainWindow, path: Path, open_path: str | None) -> int:
    set_dialogs_enabled(False)  # nobody is there to close a dialog
    try:
        ok = wait_until_shown(window, open_path)
        app.processEvents()
    finally:
        set_dialogs_enabled(True)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not window.grab().save(str(path)):
        log.error("could not write the screenshot to %s", path)
        return 1
    if not ok:
        log.error("the book did not appear within %d s; the screenshot shows what there was", TIMEOUT_MS // 1000)
        return 1
    return 0  # no close(): an unattended run leaves the reader's saved window layout alone
