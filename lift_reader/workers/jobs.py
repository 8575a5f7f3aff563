"""The functions that run in worker threads: thin calls into the Workspace.

Each takes the ``Session`` (to get the Workspace, created on first use in a
worker thread: importing it imports torch) and returns plain data: records,
``BookText``, ``TrainEvent``s, text pieces.  Nothing here touches a widget.
Core modules are imported inside the functions so that importing the GUI
never imports torch.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from collections.abc import Iterator

# The answer stream's request and items are core's (torch-free): the chat panel builds and reads them.
from lift_reader.core.ask.conversation import AnswerChecked, AnswerRequest, AnswerStarted

# Loading a book holds MuPDF's lock (core/text/documents/mupdf.py): the reader and covers use MuPDF too.
from lift_reader.core.text.documents.mupdf import MUPDF_LOCK

if TYPE_CHECKING:
    from lift_reader.workers.session import Session



# --- books ---------------------------------------------------------------------


def add_book(session: Session, path: Path):
    with MUPDF_LOCK:
        return session.workspace().add_book(path)


def load_book_text(session: Session, record):
    """The book's text: from the text cache at once (no torch), else through the Workspace."""
    from lift_reader.core.text.book_cache import load_book_text as cached_text

    book = cached_text(record.content_hash)
    if book is not None:
        return book
    with MUPDF_LOCK:
        return session.workspace().book_text(record)


def doctor_rows() -> list[tuple[str, str]]:
    from lift_reader.core.model.hardware import doctor_report

    return doctor_report()


# --- memorize ------------------------------------------------------------------


def estimate(session: Session, record, settings):
    """In the model lane, so a first estimate on a new machine can time the model (a probe), not guess."""
    return session.workspace().estimate(record, settings)


def sweep_checkpoints(session: Session) -> list[Path]:
    """On start: remove what a crash or a removed book left among the checkpoints (in the model lane,
    like a memorize run's own sweep, so that the two never meet)."""
    ws = session.workspace()
    with ws.model_lock:
        return ws.sweep_checkpoints()


def paused_runs(session: Session, fingerprint: str) -> list:
    """The Workspace's PausedRuns on the base model with ``fingerprint`` (reads files only: no model needed)."""
    return session.workspace().paused_runs(fingerprint)


def discard_checkpoint(session: Session, record, settings) -> None:
    """Forget a paused run (Cancel): its checkpoint folder goes."""
    session.workspace().discard_checkpoint(record, settings)


def memorize(session: Session, record, settings, resume: bool, *, cancel, step_breaks=None) -> Iterator:
    """TrainEvents of one run; returns its MemorizeOutcome (``Workspace.memorize``'s).

    Jobs handed to ``step_breaks`` (questions: ``ModelLane.submit_between_steps``) run between two steps;
    one handed over after the last step is run here once the run has ended, as if it had waited its turn.
    """
    ws = session.workspace()
    try:
        outcome = yield from ws.memorize(record, settings, resume=resume, cancel=cancel, step_breaks=step_breaks)
    finally:
        for late in step_breaks.close() if step_breaks is not None else ():
            late.run()
    return outcome


# --- ask -----------------------------------------------------------------------


def answer(session: Session, record, request: AnswerRequest, *, cancel) -> Iterator:
    """``Workspace.answer``: an AnswerStarted, the answer's text pieces, an AnswerChecked; returns the text.

    The CLI asks through the same call, so the app and the CLI answer alike (mode fallback, notice,
    context budget, saved rows).
    """
    return (yield from session.workspace().answer(record, request, cancel=cancel))


# --- adapters ------------------------------------------------------------------


def activate_adapter(session: Session, name: str):
    return session.workspace().activate_adapter(name)


def rename_adapter(session: Session, old: str, new: str):
    return session.workspace().rename_adapter(old, new)


def remove_adapter(session: Session, name: str):
    return session.workspace().remove_adapter(name)


def export_adapter(session: Session, name: str, zip_path: Path) -> Path:
    return session.workspace().export_adapter(name, zip_path)


def import_adapter(session: Session, zip_path: Path):
    return session.workspace().import_adapter(zip_path)
