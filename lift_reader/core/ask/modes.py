"""The ways of asking about a book, and which one the app uses unless told otherwise.

Each mode is one ``Mode`` value: what it is called, whether the book's adapter
answers, which book text the prompt shows, and the mode that shows the same
text without an adapter (what a book that is not memorized yet falls back to).
Kept free of torch so that the GUI and the CLI's argument parser can name the
modes without loading the model stack.  docs/EVAL.md has the measurements
behind the default.
"""

from __future__ import annotations

from dataclasses import dataclass

from lift_reader.errors import BadInputError


@dataclass(frozen=True)
class Mode:
    name: str
    label: str
    uses_adapter: bool
    uses_retrieval: bool
    """The prompt shows passages retrieved for the question (else the book's head and tail, or nothing)."""
    uses_context: bool
    """The prompt shows book text at all."""
    fallback: str | None
    """The mode without the adapter that shows the same book text (None: the mode needs no adapter)."""
    shows: str
    """The book text the prompt holds, in a reader's words (the adapter aside)."""


# In the order the app's mode menu lists them: each adapter mode beside the one without.
_TABLE = (
    Mode("lift+icl", "LIFT + ICL", uses_adapter=True, uses_retrieval=False, uses_context=True, fallback="icl",
         shows="its opening and ending"),
    Mode("icl", "ICL", uses_adapter=False, uses_retrieval=False, uses_context=True, fallback=None,
         shows="its opening and ending"),
    Mode("lift", "LIFT", uses_adapter=True, uses_retrieval=False, uses_context=False, fallback="icl",
         shows="no book text"),
    Mode("lift+rag", "LIFT + RAG", uses_adapter=True, uses_retrieval=True, uses_context=True, fallback="rag",
         shows="passages found for the question"),
    Mode("rag", "RAG", uses_adapter=False, uses_retrieval=True, uses_context=True, fallback=None,
         shows="passages found for the question"),
)
_BY_NAME = {m.name: m for m in _TABLE}

MODES = tuple(_BY_NAME)
"""lift+icl: adapter + head and tail of the book; icl: head and tail only; lift: adapter only;
lift+rag: adapter + retrieved passages; rag: passages retrieved for the question."""

DEFAULT_MODE = "lift+rag"

MODE_LABELS = {m.name: m.label for m in _TABLE}


def mode(name: str) -> Mode:
    """The ``Mode`` called ``name``."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise BadInputError(f"unknown mode {name!r}; choose one of {', '.join(MODES)}") from None


def without_adapter(name: str) -> Mode:
    """The mode a book with no adapter answers in instead of ``name`` (``name`` itself if it needs none)."""
    m = mode(name)
    return mode(m.fallback) if m.fallback is not None else m
