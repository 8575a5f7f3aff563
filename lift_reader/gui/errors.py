"""Errors as a reader sees them: one readable line in a dialog, the details in the log."""

from __future__ import annotations

import logging
import sys

from PySide6.QtWidgets import QMessageBox, QWidget

from lift_reader.errors import LiftReaderError

log = logging.getLogger("lift_reader.gui")
_dialogs = {"enabled": True}


def set_dialogs_enabled(enabled: bool) -> None:
    """Off for unattended runs (--screenshot): errors then only go to the log and stderr."""
    _dialogs["enabled"] = enabled


def user_message(err: BaseException) -> str:
    """The one line to show for ``err``.

    Our own errors carry a message written for the reader; anything else is a
    bug or an environment problem, so we name it and point at the log.
    """
    if isinstance(err, LiftReaderError):
        text = str(err).strip().splitlines()
        return text[0] if text else type(err).__name__
    if isinstance(err, OSError) and err.strerror:
        where = f": {err.filename}" if err.filename else ""
        return f"{err.strerror}{where}"
    return f"Something went wrong ({type(err).__name__}). The log file has the details."


def show_error(parent: QWidget | None, err: BaseException, action: str = "") -> None:
    """Log ``err`` (with its traceback, when it has one) and show it in a dialog."""
    if isinstance(err, LiftReaderError):
        log.warning("%s: %s", action or "error", err)
    else:
        log.error("%s failed", action or "an operation", exc_info=(type(err), err, err.__traceback__))
    message = user_message(err)
    if not _dialogs["enabled"]:
        print(f"lift-reader: {action + ': ' if action else ''}{message}", file=sys.stderr)
        return
    QMessageBox.warning(parent, "LIFT Reader", f"{action}:\n{message}" if action else message)
