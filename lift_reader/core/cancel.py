"""Cooperative cancellation, shared by core loops and the GUI's workers (no torch, no Qt)."""

from __future__ import annotations

import threading


class CancelToken:
    """A flag the GUI or a signal handler sets; long loops check it between steps."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until the flag is set (or ``timeout_s`` passes); whether it is set."""
        return self._event.wait(timeout_s)
