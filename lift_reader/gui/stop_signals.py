"""SIGTERM (logout, shutdown, ``kill``) and SIGHUP quit the app the way File > Quit does, without asking.

A memorize run is paused, which writes its checkpoint, so the next start can
resume it; without this the process died where it stood and lost every step
since the last checkpoint.  Python runs signal handlers only when the
interpreter gets control, and Qt's event loop waits in C++: a timer wakes
the interpreter a few times a second so the handler runs promptly.
"""

from __future__ import annotations

import signal

from PySide6.QtCore import QObject, QTimer

STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))
WAKE_MS = 250


def install_stop_signals(window, parent: QObject) -> QTimer:
    """Make SIGTERM/SIGHUP call ``window.quit_for_signal()``; returns the wake-up timer (keep it alive)."""

    def handler(signum, _frame) -> None:
        # Only schedule: the handler runs between two Python bytecodes, anywhere in the GUI thread.
        QTimer.singleShot(0, window.quit_for_signal)

    for signum in STOP_SIGNALS:
        signal.signal(signum, handler)
    timer = QTimer(parent)
    timer.timeout.connect(lambda: None)  # an empty slot: returning to Python is what runs the handler
    timer.start(WAKE_MS)
    return timer
