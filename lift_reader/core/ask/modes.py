"""The ways of asking about a book, and which one the app uses unless told otherwise.

Kept free of torch so that the GUI and the CLI's argument parser can name the
modes without loading the model stack.  docs/EVAL.md has the measurements
behind the default.
"""

MODES = ("lift+icl", "icl", "lift", "rag", "lift+rag")
"""lift+icl: adapter + head and tail of the book; icl: head and tail only; lift: adapter only;
rag: passages retrieved for the question; lift+rag: adapter + retrieved passages."""

DEFAULT_MODE = "lift+rag"

MODE_LABELS = {"lift+icl": "LIFT + ICL", "icl": "ICL", "lift": "LIFT", "lift+rag": "LIFT + RAG", "rag": "RAG"}
