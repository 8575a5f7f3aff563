"""The conditions an evaluation compares, each a way of asking the same questions.

=========  =======================  ====================================
condition  model                    book text in the prompt
=========  =======================  ====================================
closed     base                     none
icl        base                     head + tail (the context budget)
lift       base + adapter           none
lift+icl   base + adapter           head + tail
rag        base                     retrieved passages (same budget)
lift+rag   base + adapter           retrieved passages (the app's default mode)
full       base                     the whole book, if it fits the window
=========  =======================  ====================================

Every condition goes through ``prepare_answer``, so the evaluation scores the
prompts the app really builds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from lift_reader.core.ask.answering import AskSettings
from lift_reader.core.ask.generation import SamplingSettings
from lift_reader.core.ask.modes import mode as ask_mode
from lift_reader.errors import BadInputError

APP_DEFAULT_MODE = AskSettings().mode


@dataclass(frozen=True)
class Condition:
    name: str
    mode: str  # the AskSettings mode
    context: str  # "none", "budget" or "whole"

    @property
    def uses_adapter(self) -> bool:
        return ask_mode(self.mode).uses_adapter

    @property
    def question_dependent_context(self) -> bool:
        """Retrieved context changes with the question; head + tail does not."""
        return ask_mode(self.mode).uses_retrieval


_CONDITIONS = {
    c.name: c
    for c in (
        Condition("closed", "icl", "none"),
        Condition("icl", "icl", "budget"),
        Condition("lift", "lift", "none"),
        Condition("lift+icl", "lift+icl", "budget"),
        Condition("rag", "rag", "budget"),
        Condition("lift+rag", "lift+rag", "budget"),
        Condition("full", "icl", "whole"),
    )
}
CONDITION_NAMES = tuple(_CONDITIONS)


def condition(name: str) -> Condition:
    try:
        return _CONDITIONS[name]
    except KeyError:
        raise BadInputError(f"unknown condition {name!r}; choose from {', '.join(CONDITION_NAMES)}") from None


def parse_conditions(names: Iterable[str]) -> tuple[str, ...]:
    """Condition names from a command line ("icl,lift+icl" or separate words; "all"), in canonical order."""
    wanted: set[str] = set()
    for chunk in names:
        for name in chunk.replace(",", " ").split():
            if name == "all":
                wanted.update(CONDITION_NAMES)
            else:
                wanted.add(condition(name).name)
    if not wanted:
        raise BadInputError("no condition to evaluate")
    return tuple(n for n in CONDITION_NAMES if n in wanted)


def ask_settings(cond: Condition, *, book_tokens: int, context_tokens: int, max_new_tokens: int,
                 retrieval: str = "bm25") -> AskSettings:
    """The AskSettings that realise ``cond`` (greedy decoding, no chat history)."""
    budget = {"none": 0, "budget": context_tokens, "whole": book_tokens}[cond.context]
    return AskSettings(mode=cond.mode, context_tokens=budget, history_turns=0, retrieval=retrieval,
                       sampling=SamplingSettings(greedy=True, max_new_tokens=max_new_tokens))


def full_context_problem(window: int, book_tokens: int, longest_question_tokens: int,
                         max_new_tokens: int) -> str | None:
    """Why the whole book cannot go in the prompt (None when it can).

    Mirrors ``prepare_answer``'s reserve: the answer, the question and 64
    tokens of prompt text must fit beside the book.
    """
    reserve = max_new_tokens + longest_question_tokens + 64
    if book_tokens + reserve > window:
        return f"the book ({book_tokens:,} tokens) does not fit the model's {window:,}-token window"
    return None
