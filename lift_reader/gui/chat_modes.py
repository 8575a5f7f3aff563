"""Each ask mode in one plain line, for the place it is chosen and the empty chat.

The labels live in ``core.modes`` (the CLI names them too); these sentences are
the app's: they say where an answer's knowledge comes from, without jargon.
"""

from __future__ import annotations

from lift_reader.core.ask.modes import MODE_LABELS

MODE_HELP = {
    "lift+rag": "The memorized book plus the passages that best match your question (recommended).",
    "lift+icl": "The memorized book plus its opening and closing pages.",
    "icl": "Only the book's opening and closing pages; nothing memorized.",
    "lift": "Only what was memorized; no book text is shown to the model.",
    "rag": "Only the passages that best match your question; nothing memorized.",
}

# Modes whose answers were shown book text, so they can list its pages.
_SHOWS_PAGES = ("lift+rag", "lift+icl", "icl", "rag")


def mode_help(mode: str) -> str:
    return MODE_HELP.get(mode, "")


def empty_chat_text(mode: str) -> str:
    """What the chat says before the first question: which mode will answer (its line is right above)."""
    label = MODE_LABELS.get(mode, mode)
    pages = ", and each answer lists the pages it was shown" if mode in _SHOWS_PAGES else ""
    return f"Ask anything about this book. Answers use {label}, the mode chosen above{pages}."
