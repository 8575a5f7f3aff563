"""Auxiliary training items synthesized from short windows of the book.

The method trains question/answer pairs beside the raw segments so the model
keeps answering while it memorizes (DESIGN.md section 4 measured that raw
segments alone can pull a base model away from answering).  Items are made
from short windows only, never by running over the whole book:

- base models get cloze and recitation items in the answer format they are
  asked in ("Question: ...\\nAnswer: ..."): which name, number or phrase is
  missing from a sentence; which sentence comes next;
- chat models are asked (with their chat template) to write a question and
  its answer about a window, and a pair is kept only if the answer appears
  verbatim in that window, as in the method authors' evidence check.

The loss falls on the answer tokens only.  The items are saved beside the
adapter (``auxiliary_qa.jsonl``) so a reader can see what was trained.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from lift_reader.core.text.book import BookText
from lift_reader.core.ask.prompts import encode_prompt
from lift_reader.core.text.book_tokens import BookTokens
from lift_reader.store.atomic import atomic_write_text

MAX_ITEMS = 400
_SENTENCE_END = re.compile(r"[.!?][\"'”’)]?(\s+)(?=[\"'“‘(]?[A-Z0-9])")
# A "fact" worth a cloze: a capitalized word that does not start the sentence,
# or a number (digits or a spelled-out year or count).
_FACT = re.compile(r"(?<=\s)([A-Z][a-z]+(?:\s[A-Z][a-z]+)*|\d[\d,.]*)")


@dataclass(frozen=True)
class AuxItem:
    """One auxiliary example: the loss falls only where labels != -100."""

    input_ids: list[int]
    labels: list[int]
    question: str = ""
    answer: str = ""
    source_offset: int = 0


def split_sentences(text: str) -> list[tuple[int, str]]:
    """(offset, sentence) pairs; a simple splitter is enough for item making."""
    out: list[tuple[int, str]] = []
    pos = 0
    for match in _SENTENCE_END.finditer(text):
        sentence = text[pos:match.start(1)].strip()
        if sentence:
            out.append((pos, sentence))
        pos = match.end()
    if text[pos:].strip():
        out.append((pos, text[pos:].strip()))
    return out


def _cloze(sentence: str, rng: np.random.Generator) -> tuple[str, str] | None:
    facts = [m for m in _FACT.finditer(sentence) if len(m.group(1)) > 1]
    if not facts:
        return None
    fact = facts[int(rng.integers(len(facts)))]
    blanked = sentence[:fact.start()] + "____" + sentence[fact.end():]
    return f'Fill in the blank from the book: "{blanked}"', fact.group(1)


def _recitation(sentence: str, following: str) -> tuple[str, str]:
    return f'In the book, what comes right after "{sentence}"?', following


def base_model_pairs(book: BookText, end_char: int, count: int, seed: int) -> list[tuple[str, str, int]]:
    """(question, answer, offset) cloze and recitation pairs from the book's text."""
    rng = np.random.default_rng([seed, 7])
    sentences = [(o, s) for o, s in split_sentences(book.text[:end_char]) if 20 <= len(s) <= 300]
    if len(sentences) < 2:
        return []
    pairs: list[tuple[str, str, int]] = []
    for i in rng.permutation(len(sentences) - 1)[: count * 2]:
        offset, sentence = sentences[int(i)]
        made = _cloze(sentence, rng) if rng.random() < 0.6 else _recitation(sentence, sentences[int(i) + 1][1])
        if made is not None:
            pairs.append((made[0], made[1], offset))
        if len(pairs) >= count:
            break
    return pairs


def chat_model_pairs(lm, book: BookText, end_char: int, count: int, seed: int) -> list[tuple[str, str, int]]:
    """Ask an instruction-tuned model for one QA pair per window; keep verified ones."""
    from lift_reader.core.ask.generation import SamplingSettings, stream_tokens

    rng = np.random.default_rng([seed, 11])
    sentences = split_sentences(book.text[:end_char])
    pairs: list[tuple[str, str, int]] = []
    for _ in range(count * 2):
        if len(pairs) >= count or len(sentences) < 4:
            break
        start = int(rng.integers(max(1, len(sentences) - 16)))
        window = " ".join(s for _, s in sentences[start:start + 16])
        request = (
            "Write one question about the passage below and its short answer. The answer must be copied "
            "word for word from the passage.\n\nPassage:\n" + window + "\n\nReply exactly as:\nQuestion: ...\nAnswer: ..."
        )
        ids = encode_prompt(lm.tokenizer, book.title, "", [], request)
        reply = "".join(stream_tokens(lm.model, lm.tokenizer, ids, SamplingSettings(max_new_tokens=96)))
        match = re.search(r"Question:\s*(.+?)\s*Answer:\s*(.+)", reply, re.S)
        if match:
            question, answer = match.group(1).strip(), match.group(2).strip().splitlines()[0].strip()
            if answer and answer.lower().rstrip(".") in window.lower():
                pairs.append((question, answer, sentences[start][0]))
    return pairs


def passage_around(text: str, offset: int, end_char: int, before: int = 500, after: int = 700) -> str:
    """The text around ``offset`` (cut at spaces, never past ``end_char``): a retrieved-passage stand-in."""
    start = max(0, offset - before)
    stop = min(end_char, offset + after)
    if start > 0:
        start = text.find(" ", start, offset) + 1 or start
    if stop < end_char:
        cut = text.rfind(" ", offset, stop)
        stop = cut if cut > offset else stop
    return text[start:stop].strip()


def encode_item(lm, title: str, question: str, answer: str, offset: int, context: str = "",
                end: str = "\n") -> AuxItem:
    """Prompt tokens masked out, answer tokens trained; ``context`` is book text shown before the question.

    ``end`` closes a base model's answer ("\n\n" is one of the app's stop strings: an answer trained
    to end with it stops there).
    """
    prompt = encode_prompt(lm.tokenizer, title, context, [], question)
    answer_text = answer if lm.is_chat_model else " " + answer.strip() + end
    answer_ids = lm.tokenizer(answer_text, add_special_tokens=False)["input_ids"]
    if lm.is_chat_model and lm.tokenizer.eos_token_id is not None:
        answer_ids = answer_ids + [lm.tokenizer.eos_token_id]
    return AuxItem(prompt + answer_ids, [-100] * len(prompt) + answer_ids, question, answer, offset)


def aux_item_count(n_tokens: int, settings) -> int:
    """How many auxiliary items a run over ``n_tokens`` book tokens asks for (0 without aux tasks)."""
    if not settings.aux_tasks:
        return 0
    return min(MAX_ITEMS, max(1, round(n_tokens / 1000 * settings.aux_items_per_1k_tokens)))


def build_aux_items(lm, book: BookText, tokens: BookTokens, settings) -> list[AuxItem]:
    count = aux_item_count(len(tokens), settings)
    if lm.is_chat_model:
        pairs = chat_model_pairs(lm, book, tokens.end_char, count, settings.seed)
    else:
        pairs = base_model_pairs(book, tokens.end_char, count, settings.seed)
    if not settings.aux_reading:
        return [encode_item(lm, book.title, q, a, o) for q, a, o in pairs]
    # Reading practice: every other item shows the passage it was made from, as rag modes show
    # retrieved passages, so the adapter keeps the base model's habit of answering from the prompt.
    return [encode_item(lm, book.title, q, a, o, passage_around(book.text, o, tokens.end_char) if i % 2 else "")
            for i, (q, a, o) in enumerate(pairs)]


def write_aux_items(path: Path, items: list[AuxItem]) -> None:
    lines = [json.dumps({k: v for k, v in asdict(i).items() if k not in ("input_ids", "labels")}) for i in items]
    atomic_write_text(path, "\n".join(lines) + ("\n" if lines else ""))


__all__ = ["AuxItem", "build_aux_items", "write_aux_items", "split_sentences"]
