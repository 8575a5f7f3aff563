"""The functions that run in worker threads: thin calls into the Workspace.

Each takes the ``Session`` (to get the Workspace, created on first use in a
worker thread: importing it imports torch) and returns plain data: records,
``BookText``, ``TrainEvent``s, text pieces.  Nothing here touches a widget.
Core modules are imported inside the functions so that importing the GUI
never imports torch.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from collections.abc import Iterator

from lift_reader.store.records import ChatMessage

# Loading a book holds MuPDF's lock (core/text/documents/mupdf.py): the reader and covers use MuPDF too.
from lift_reader.core.text.documents.mupdf import MUPDF_LOCK

if TYPE_CHECKING:
    from lift_reader.workers.session import Session


# Seconds between saves of a streaming answer (a crash keeps what was shown).
_SAVE_EVERY_S = 0.5


@dataclass(frozen=True)
class AnswerRequest:
    question: str
    mode: str  # the mode asked for: lift+icl, icl or lift
    regenerate_id: int | None = None  # an assistant message to answer again (sampling instead of greedy)
    max_new_tokens: int = 200  # the answer's length limit
    up_to_page: int | None = None  # spoiler-safe: the book as read up to the end of this page


@dataclass(frozen=True)
class AnswerStarted:
    """The first item of an answer stream: where it is saved and what it was shown."""

    message_id: int
    mode: str  # the mode actually used
    pages: tuple[int, ...]
    note: str = ""  # said to the reader, e.g. why the mode changed


@dataclass(frozen=True)
class AnswerChecked:
    """The last item of a finished answer: its evidence passage and grounding check (core.grounding)."""

    grounding: object  # Grounding | None (None: an empty answer)


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
    return session.workspace().estimate(record, settings, probe=False)


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
    """TrainEvents of one run; returns the Workspace's MemorizeOutcome.

    Jobs handed to ``step_breaks`` (questions: ``ModelLane.submit_between_steps``) run between two steps;
    one handed over after the last step is run here once the run has ended, as if it had waited its turn.
    """
    ws = session.workspace()
    try:
        yield from ws.memorize(record, settings, resume=resume, cancel=cancel, step_breaks=step_breaks)
    finally:
        for late in step_breaks.close() if step_breaks is not None else ():
            late.run()
    return ws.last_outcome


# --- ask -----------------------------------------------------------------------


def conversation_turns(messages: list[ChatMessage], *, before_id: int | None = None) -> list:
    """Earlier exchanges as core Turns (complete answers only), up to ``before_id``."""
    from lift_reader.core.ask.prompts import Turn

    turns, question = [], None
    for message in messages:
        if before_id is not None and message.id >= before_id:
            break
        if message.role == "user":
            question = message.content
        elif question is not None and message.complete and message.content:
            turns.append(Turn(question, message.content))
            question = None
    return turns


def answer(session: Session, record, request: AnswerRequest, *, cancel) -> Iterator:
    """An AnswerStarted, then the answer's text pieces; saved in the library as it grows."""
    from lift_reader.core.ask.answering import AskSettings
    from lift_reader.core.ask.generation import SamplingSettings

    ws = session.workspace()
    library, book = ws.library, record.content_hash
    mode, note = request.mode, ""
    pause = ws.training_pause  # set when a memorize run has paused between two steps for this question
    if pause is not None and mode.startswith("lift"):
        page = ws.page_limit(record, request.up_to_page)
        note, has_adapter = pause.note(book, page), pause.adapter_for(book, page) is not None
    else:
        has_adapter = ws.adapter_for(record, request.up_to_page) is not None
    if mode.startswith("lift") and not has_adapter:
        # Without an adapter, answer from the book text the mode would add anyway.
        mode = "rag" if mode.endswith("rag") else "icl"
        shown = "passages found for the question (RAG)" if mode == "rag" else "its opening and ending (ICL)"
        note = note or f"This book is not memorized yet: the answer uses only {shown}."
    history = conversation_turns(library.list_messages(book), before_id=request.regenerate_id)
    # A regenerated answer samples, or it would repeat the greedy one word for word.
    sampling = SamplingSettings(greedy=request.regenerate_id is None, seed=random.randrange(2**31),
                                max_new_tokens=request.max_new_tokens)
    context = 7800 if ws.lm.placement.device.startswith("cuda") else 1024
    settings = AskSettings(mode=mode, context_tokens=context, sampling=sampling, up_to_page=request.up_to_page)
    with ws.model_lock:
        stream = ws.ask(record, request.question, settings, history=history, cancel=cancel)
        note = " ".join(filter(None, (note, stream.spoiler_notice)))
        if request.regenerate_id is None:
            library.add_message(book, "user", request.question, mode=mode)
            message_id = library.add_message(book, "assistant", "", mode=mode, pages=stream.pages, complete=False)
        else:
            message_id = request.regenerate_id
            library.update_message(message_id, "", False, pages=stream.pages)
        yield AnswerStarted(message_id, mode, tuple(stream.pages), note)
        saved_at = time.monotonic()
        for piece in stream:
            yield piece
            if time.monotonic() - saved_at > _SAVE_EVERY_S:
                library.update_message(message_id, stream.text, False)
                saved_at = time.monotonic()
        text = stream.text.strip()
        # A stopped answer stays marked incomplete: the chat shows it as cut short.
        library.update_message(message_id, text, not cancel.cancelled)
    if not cancel.cancelled:
        yield AnswerChecked(stream.check())  # reads the book's text, not the model: outside the lock
    return text


# --- adapters ------------------------------------------------------------------


def rename_adapter(session: Session, old: str, new: str):
    return session.workspace().rename_adapter(old, new)


def remove_adapter(session: Session, name: str):
    return session.workspace().remove_adapter(name)


def export_adapter(session: Session, name: str, zip_path: Path) -> Path:
    return session.workspace().export_adapter(name, zip_path)


def import_adapter(session: Session, zip_path: Path):
    return session.workspace().import_adapter(zip_path)
