"""What a reader asks and what comes back: the request, the stream's first and last items, and the
conversation so far, shared by the app and the CLI (``Workspace.answer`` answers them).

Free of torch: the GUI builds requests and reads the items without loading the model stack.
"""

from __future__ import annotations

from dataclasses import dataclass

from lift_reader.core.ask.modes import DEFAULT_MODE
from lift_reader.core.ask.prompts import Turn
from lift_reader.store.records import ChatMessage

SAVE_EVERY_S = 0.5
"""Seconds between saves of a streaming answer: a crash keeps what was shown, without a write per piece."""


@dataclass(frozen=True)
class AnswerRequest:
    question: str
    mode: str = DEFAULT_MODE
    """The mode asked for; a book without an adapter is answered in ``modes.without_adapter(mode)``."""
    regenerate_id: int | None = None
    """An assistant message to answer again, in its place (sampling, or it would repeat the greedy answer)."""
    max_new_tokens: int = 200
    up_to_page: int | None = None
    """Spoiler-safe: the book as read up to the end of this page."""
    history: tuple[Turn, ...] | None = None
    """Earlier exchanges for the prompt; None: the book's saved chat (``conversation_turns``)."""
    context_tokens: int | None = None
    """Book tokens in the prompt; None: the hardware's (``AskSettings.for_hardware``)."""
    sample: bool = False
    """Sample instead of greedy decoding (a regenerated answer always samples)."""
    temperature: float = 0.7
    seed: int | None = None
    """Seed for sampling; None: a fresh one for a regenerated answer, unseeded otherwise."""


@dataclass(frozen=True)
class AnswerStarted:
    """The first item of an answer stream: where it is saved and what it was shown."""

    message_id: int
    mode: str  # the mode actually used
    pages: tuple[int, ...]
    note: str = ""  # said to the reader: why the mode changed, an adapter that read past the page, ...


@dataclass(frozen=True)
class AnswerChecked:
    """The last item of a finished answer: its evidence passage and grounding check (core.ask.grounding)."""

    grounding: object  # Grounding | None (None: an empty answer)


def conversation_turns(messages: list[ChatMessage], *, before_id: int | None = None) -> list[Turn]:
    """Earlier exchanges as Turns (complete answers only), up to ``before_id``."""
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
