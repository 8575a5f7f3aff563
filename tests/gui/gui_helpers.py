"""Helpers shared by the GUI tests (a module of its own: every test folder has a conftest)."""

from __future__ import annotations

from pathlib import Path

SAMPLE_STORY = Path(__file__).resolve().parents[2] / "resources" / "samples" / "the-lighthouse-keepers-ledger.txt"


def open_book(qtbot, window, path: Path):
    """Open a file in the window and wait until its text (and contents) are shown."""
    with qtbot.waitSignal(window.book_opened, timeout=30_000) as blocker:
        window.open_path(path)
    reader = window.reader
    # A page waits for MuPDF while a worker holds it (a cover being rendered): wait for it too.
    qtbot.waitUntil(lambda: reader.stack.currentWidget() is not reader.placeholder, timeout=10_000)
    return blocker.args[0]
