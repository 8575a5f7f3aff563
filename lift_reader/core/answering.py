"""Ask: answer a question about a book with the adapted model and a truncated context.

Modes, as in the method:
- ``icl``: the base model (adapter off) with the head and tail of the book;
- ``lift``: the adapter alone, no book text in the prompt;
- ``lift+icl`` (default): the adapter plus the head-and-tail context.

``prepare_answer()`` builds the prompt and says which pages it holds;
iterating the returned ``AnswerStream`` yields the answer's text pieces.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

from lift_reader.core.book import BookText
from lift_reader.core.context import EMPTY_CONTEXT, ContextWindow, head_tail_context
from lift_reader.core.generation import SamplingSettings, stream_tokens
from lift_reader.core.models import LoadedModel
from lift_reader.core.prompts import Turn, encode_prompt, stop_strings_for
from lift_reader.core.segments import BookTokens
from lift_reader.errors import BadInputError

MODES = ("lift+icl", "icl", "lift")


@dataclass(frozen=True)
class AskSettings:
    mode: str = "lift+icl"
    """lift+icl (adapter + truncated context), icl (context only) or lift (adapter only)."""
    context_tokens: int = 1024
    """Book tokens in the prompt (head + tail); capped by the model's window."""
    history_turns: int = 4
    """Earlier exchanges kept in the prompt, newest first, as long as they fit."""
    sampling: SamplingSettings = field(default_factory=SamplingSettings)

    def __post_init__(self):
        if self.mode not in MODES:
            raise BadInputError(f"unknown mode {self.mode!r}; choose one of {', '.join(MODES)}")
        if self.context_tokens < 0:
            raise BadInputError("context size must be zero or more tokens")

    @property
    def uses_adapter(self) -> bool:
        return self.mode.startswith("lift")

    @property
    def uses_context(self) -> bool:
        return self.mode in ("icl", "lift+icl")


@dataclass
class AnswerStream:
    """A prepared answer: iterate it for text pieces; ``pages`` says what it was shown."""

    lm: LoadedModel
    prompt_ids: list[int]
    context: ContextWindow
    pages: list[int]
    settings: AskSettings
    adapter: str | None
    cancel: object = None
    text: str = ""

    def __iter__(self) -> Iterator[str]:
        stops = stop_strings_for(self.lm.tokenizer)
        if self.adapter is not None:
            self.lm.select_adapter(self.adapter)
            pieces = stream_tokens(self.lm.model, self.lm.tokenizer, self.prompt_ids, self.settings.sampling,
                                   stop_strings=stops, cancel=self.cancel)
            yield from self._collect(pieces)
        else:
            with self.lm.adapter_disabled():
                pieces = stream_tokens(self.lm.model, self.lm.tokenizer, self.prompt_ids, self.settings.sampling,
                                       stop_strings=stops, cancel=self.cancel)
                yield from self._collect(pieces)

    def _collect(self, pieces: Iterator[str]) -> Iterator[str]:
        for piece in pieces:
            if not self.text:
                piece = piece.lstrip()
                if not piece:
                    continue
            self.text += piece
            yield piece

    def answer_logprob(self, answer: str) -> tuple[float, int]:
        """(sum of log-probabilities, token count) of ``answer`` as the reply to this prompt.

        The evaluation's likelihood measure: a memorizing recipe that makes
        the right answer less likely is hurting, even when greedy text looks fine.
        """
        from lift_reader.core.generation import sequence_logprob

        text = answer.strip() if self.lm.is_chat_model else " " + answer.strip()
        answer_ids = self.lm.tokenizer(text, add_special_tokens=False)["input_ids"]
        if self.adapter is not None:
            self.lm.select_adapter(self.adapter)
            return sequence_logprob(self.lm.model, self.prompt_ids, answer_ids), len(answer_ids)
        with self.lm.adapter_disabled():
            return sequence_logprob(self.lm.model, self.prompt_ids, answer_ids), len(answer_ids)

    def full_text(self) -> str:
        for _ in self:
            pass
        return self.text.strip()


def prepare_answer(
    lm: LoadedModel,
    book: BookText,
    tokens: BookTokens,
    question: str,
    *,
    adapter: str | None,
    settings: AskSettings = AskSettings(),
    history: list[Turn] | None = None,
    cancel=None,
) -> AnswerStream:
    """Build the prompt for ``question``; the caller iterates the result to generate."""
    question = question.strip()
    if not question:
        raise BadInputError("the question is empty")
    if settings.uses_adapter and adapter is None:
        raise BadInputError("this book has no memorized adapter yet: memorize it first, or ask in icl mode")
    reserve = settings.sampling.max_new_tokens + len(lm.tokenizer(question, add_special_tokens=False)["input_ids"]) + 64
    window = lm.context_window
    book_budget = min(settings.context_tokens, max(0, window - reserve)) if settings.uses_context else 0
    context = head_tail_context(book, tokens, book_budget) if book_budget else EMPTY_CONTEXT
    kept = _fit_history(lm, book.title, context, history or [], question, settings, window - reserve)
    prompt_ids = encode_prompt(lm.tokenizer, book.title, context.text, kept, question)
    return AnswerStream(
        lm=lm,
        prompt_ids=prompt_ids,
        context=context,
        pages=context.pages(book),
        settings=settings,
        adapter=adapter if settings.uses_adapter else None,
        cancel=cancel,
    )


def _fit_history(lm, title, context, history, question, settings, limit) -> list[Turn]:
    """The newest turns that still fit within the model's window."""
    kept = list(history[-settings.history_turns:]) if settings.history_turns else []
    while kept and len(encode_prompt(lm.tokenizer, title, context.text, kept, question)) > limit:
        kept.pop(0)
    return kept
