"""The errors LIFT Reader raises on purpose.

Every error a user can cause or meet carries a one-line message meant for
them.  The CLI maps ``BadInputError`` to exit code 2 and every other
``LiftReaderError`` to exit code 1; the GUI shows the message in a dialog.
"""

from __future__ import annotations


class LiftReaderError(Exception):
    """Base class: ``str(err)`` is a one-line message a reader can act on."""

    exit_code = 1


class BadInputError(LiftReaderError):
    """The user gave us something we cannot use (a file, an option, a name)."""

    exit_code = 2


# --- books -----------------------------------------------------------------


class BookError(BadInputError):
    """A book file that cannot be turned into text."""


class UnsupportedFormatError(BookError):
    pass


class CorruptBookError(BookError):
    pass


class EmptyBookError(BookError):
    pass


class ScannedBookError(BookError):
    """A PDF (or similar) whose pages carry no text layer."""


class BookTooLargeError(BookError):
    pass


class PasswordRequiredError(BookError):
    """The book is encrypted; ask for a password (``--password`` on the CLI)."""

    def __init__(self, message: str, *, wrong_password: bool = False):
        super().__init__(message)
        self.wrong_password = wrong_password


# --- models, adapters, store -------------------------------------------------


class ModelError(LiftReaderError):
    """A model could not be found, downloaded or loaded."""


class AdapterError(LiftReaderError):
    """An adapter is missing, broken, or does not fit the loaded model."""


class AdapterMismatchError(AdapterError, BadInputError):
    """The adapter was trained on a different base model."""


class UnsafeArchiveError(AdapterError, BadInputError):
    """An adapter archive tries to write outside its folder, holds pickles, etc."""


class StoreError(LiftReaderError):
    """The data folder or library database could not be read or written."""


class NotFoundError(BadInputError):
    """A book, adapter or chat the user named does not exist."""


class Cancelled(LiftReaderError):
    """Long work was stopped on request (not an error for the user)."""
