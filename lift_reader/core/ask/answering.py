"""Ask: answer a question about a book with the adapted model and a truncated context.

Modes (``modes.py`` has each one's facts):
- ``icl``: the base model (adapter off) with the head and tail of the book;
- ``lift``: the adapter alone, no book text in the prompt;
- ``lift+icl``: the adapter plus the head-and-tail context (the method's LIFT+ICL);
- ``rag``: the base model with the passages most relevant to the question;
- ``lift+rag`` (the app's default, ``modes.DEFAULT_MODE``): the adapter plus those passages (``retrieval.py``).

``prepare_answer()`` builds the prompt and says which pages it holds;
iterating the returned ``AnswerStream`` yields the answer's text pieces.
Spoiler-safe asking (``AskSettings.up_to_page``): ``Workspace.ask`` passes
the book's tokens cut at the end of that page, so neither the head/tail
window nor retrieval looks past it, and flags an adapter that has read further.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

from lift_reader.core.ask.answer_rule import AnswerRule, rule_for_mode
from lift_reader.core.text.book import BookText
from lift_reader.core.ask.context import EMPTY_CONTEXT, ContextWindow, head_tail_context
from lift_reader.core.ask.evidence import find_evidence
from lift_reader.core.ask.generation import SamplingSettings, stream_tokens
from lift_reader.core.ask.grounding import Grounding, check_answer
from lift_reader.core.model.models import LoadedModel
from lift_reader.core.ask.modes import DEFAULT_MODE
from lift_reader.core.ask.modes import mode as ask_mode
from lift_reader.core.ask.prompts import Turn, encode_prompt, encode_prompt_parts, stop_strings_for
from lift_reader.core.text.book_tokens import BookTokens
from lift_reader.errors import BadInputError

RETRIEVAL_METHODS = ("bm25", "hybrid")

CPU_CONTEXT_TOKENS = 1024
"""Book tokens in the prompt on the CPU: prompt processing, not the window, is what limits there."""
CUDA_CONTEXT_TOKENS = 7800
"""On CUDA: the method authors' window (3,900 head + 3,900 tail tokens)."""


@dataclass(frozen=True)
class AskSettings:
    mode: str = DEFAULT_MODE
    """lift+rag (adapter + retrieved passages), rag (retrieved passages only), lift+icl (adapter +
    truncated context), icl (context only) or lift (adapter only)."""
    context_tokens: int = CPU_CONTEXT_TOKENS
    """Book tokens in the prompt (head + tail, or retrieved passages); capped by the model's window."""
    history_turns: int = 4
    """Earlier exchanges kept in the prompt, newest first, as long as they fit."""
    sampling: SamplingSettings = field(default_factory=SamplingSettings)
    retrieval: str = "bm25"
    """How rag modes rank passages: bm25, or hybrid (BM25 + embeddings, needs the 'embed' extra)."""
    up_to_page: int | None = None
    """Spoiler-safe: the book text in the prompt (head/tail or passages) ends with this page."""
    answer_rule: AnswerRule | None = None
    """Where answers end and the loop guard; None: the mode's rule (``answer_rule.rule_for_mode``)."""

    def __post_init__(self):
        ask_mode(self.mode)  # an unknown mode is bad input
        if self.retrieval not in RETRIEVAL_METHODS:
            raise BadInputError(f"unknown retrieval {self.retrieval!r}; choose one of {', '.join(RETRIEVAL_METHODS)}")
        if self.context_tokens < 0:
            raise BadInputError("context size must be zero or more tokens")
        if self.up_to_page is not None and self.up_to_page < 1:
            raise BadInputError("up_to_page must be a page number (1 or more)")

    @classmethod
    def for_hardware(cls, device: str) -> "AskSettings":
        """The app's settings on ``device``: the context budget of its device class (CUDA or CPU)."""
        return cls(context_tokens=CUDA_CONTEXT_TOKENS if device.startswith("cuda") else CPU_CONTEXT_TOKENS)

    @property
    def rule(self) -> AnswerRule:
        return self.answer_rule if self.answer_rule is not None else rule_for_mode(self.mode)

    @property
    def uses_adapter(self) -> bool:
        return ask_mode(self.mode).uses_adapter

    @property
    def uses_context(self) -> bool:
        return ask_mode(self.mode).uses_context

    @property
    def uses_retrieval(self) -> bool:
        return ask_mode(self.mode).uses_retrieval


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
    prefix_len: int = 0  # prompt tokens shared with later questions (cached between them)
    adapter_read_past_page: int | None = None
    """Set when the adapter was memorized beyond the page limit (``settings.up_to_page``)."""
    book: BookText | None = None
    question: str = ""
    search_end: int | None = None
    """Spoiler-safe: where the reading position is; evidence and the grounding check look no further."""

    @property
    def spoiler_notice(self) -> str:
        """What to tell the reader when the adapter may give away what comes after their page."""
        page = self.adapter_read_past_page
        if page is None:
            return ""
        return (f"This book's adapter has read past page {page}: its answers may give away later parts. "
                f"Memorize up to page {page} for a spoiler-free adapter.")

    def __iter__(self) -> Iterator[str]:
        if self.adapter is not None:
            self.lm.select_adapter(self.adapter)
            yield from self._collect(self._pieces())
        else:
            with self.lm.adapter_disabled():
                yield from self._collect(self._pieces())

    def _pieces(self) -> Iterator[str]:
        lm = self.lm
        return stream_tokens(
            lm.model, lm.tokenizer, self.prompt_ids, self.settings.sampling,
            stop_strings=stop_strings_for(lm.tokenizer), rule=self.settings.rule, cancel=self.cancel,
            prefix_len=self.prefix_len,
            prompt_cache=lm.prompt_cache, cache_key=(lm.weights_version, self.adapter),
        )

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
        from lift_reader.core.ask.generation import sequence_logprob

        text = answer.strip() if self.lm.is_chat_model else " " + answer.strip()
        answer_ids = self.lm.tokenizer(text, add_special_tokens=False)["input_ids"]
        if self.adapter is not None:
            self.lm.select_adapter(self.adapter)
            return sequence_logprob(self.lm.model, self.prompt_ids, answer_ids), len(answer_ids)
        with self.lm.adapter_disabled():
            return sequence_logprob(self.lm.model, self.prompt_ids, answer_ids), len(answer_ids)

    def check(self) -> Grounding | None:
        """The finished answer's evidence passage and grounding check (None for an empty answer or no book)."""
        answer = self.text.strip()
        if not answer or self.book is None:
            return None
        end = self.search_end
        evidence = find_evidence(self.book, answer, self.question, shown_spans=self.context.spans, end_char=end)
        searched = self.book.text if end is None else self.book.text[:end]
        return check_answer(answer, searched, evidence,
                            up_to_page=None if end is None else self.book.page_at(max(0, end - 1)))

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
        raise BadInputError("this book has no memorized adapter yet: memorize it first, or ask in icl or rag mode")
    reserve = settings.sampling.max_new_tokens + len(lm.tokenizer(question, add_special_tokens=False)["input_ids"]) + 64
    window = lm.context_window
    book_budget = min(settings.context_tokens, max(0, window - reserve)) if settings.uses_context else 0
    if not book_budget:
        context = EMPTY_CONTEXT
    elif settings.uses_retrieval:
        from lift_reader.core.ask.retrieval import retrieve_context

        context = retrieve_context(book, tokens, question, book_budget, method=settings.retrieval)
    else:
        context = head_tail_context(book, tokens, book_budget)
    kept = _fit_history(lm, book.title, context, history or [], question, settings, window - reserve)
    prompt_ids, prefix_len = encode_prompt_parts(lm.tokenizer, book.title, context.text, kept, question)
    return AnswerStream(
        lm=lm,
        prompt_ids=prompt_ids,
        context=context,
        pages=context.pages(book),
        settings=settings,
        adapter=adapter if settings.uses_adapter else None,
        cancel=cancel,
        prefix_len=prefix_len,
        book=book,
        question=question,
        search_end=tokens.end_char if tokens.end_char < len(book.text) else None,
    )


def _fit_history(lm, title, context, history, question, settings, limit) -> list[Turn]:
    """The newest turns that still fit within the model's window."""
    kept = list(history[-settings.history_turns:]) if settings.history_turns else []
    while kept and len(encode_prompt(lm.tokenizer, title, context.text, kept, question)) > limit:
        kept.pop(0)
    return kept
