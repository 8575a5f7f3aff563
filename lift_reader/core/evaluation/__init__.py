"""The built-in evaluation: how well the app answers questions about a book, per way of asking.

``evaluate(ws, "questions.jsonl", EvalConfig(...), "out/")`` runs every
condition (closed, icl, lift, lift+icl, rag, lift+rag, full) on every
question and writes ``results.json`` (every item's scores), ``results.md``
(a table with 95% bootstrap intervals, headed by the command that
reproduces it) and ``results.png``.  ``lift-reader eval`` is its command line.
"""

from lift_reader.core.evaluation.conditions import CONDITION_NAMES, parse_conditions
from lift_reader.core.evaluation.dataset import EvalDocument, QuestionItem, load_question_set
from lift_reader.core.evaluation.evaluate import EvalOutputs, evaluate, select_documents
from lift_reader.core.evaluation.runner import EvalConfig, EvalStopped, run_evaluation

__all__ = [
    "CONDITION_NAMES", "EvalConfig", "EvalDocument", "EvalOutputs", "EvalStopped", "QuestionItem",
    "evaluate", "load_question_set", "parse_conditions", "run_evaluation", "select_documents",
]
