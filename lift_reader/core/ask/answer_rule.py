"""Where an answer ends, and the guard that keeps it from looping.

A small base model that has answered goes on: it copies the next sentences of
the passage it was shown ("...on a sunny day. January 2012A few hours before
the Y") or repeats a phrase until the token limit ("She was painted in a blue
light blue." ten times).  One rule, used by the app's stream and by the
evaluation's greedy answers alike (``generation.generate_pieces``):

- the answer ends at a stop string (for base models a new "Question:", a new
  "Answer:" or a blank line: the end of the first paragraph) or after
  ``max_sentences`` sentences;
- no n-gram of ``no_repeat_ngram`` tokens is generated twice (counted over the
  answer only, not the prompt: copying a phrase of the book is what a good
  answer does), and the answer ends before a word that would make a word
  n-gram of the same size occur a third time: the token ban alone let "very
  very very very\rvery very ..." through, the same words in other tokens;
- a light ``repetition_penalty`` on tokens the answer already holds (again
  the answer only), as in Keskar et al. (2019), CTRL.

docs/EVAL.md has the measurements behind the defaults.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import torch

# A sentence ends at . ! or ? (and any closing quote or bracket) followed by white space,
# unless the word before the point is an initial or a usual abbreviation ("Mr. Voss", "J. Smith").
_SENTENCE_END = re.compile(r"[.!?][\"'\u2019\u201d)\]]*(?=\s)")
_ABBREVIATION = re.compile(
    r"(?:\b[A-Z]|\b(?:Mr|Mrs|Ms|Dr|St|Mt|Jr|Sr|Prof|Capt|Col|Gen|Lt|Sgt|Rev|No|vs|etc|e\.g|i\.e|approx|ca|cf|Vol|pp?))\.$"
)


@dataclass(frozen=True)
class AnswerRule:
    max_sentences: int | None = 1
    """The answer ends after this many sentences (None: no limit)."""
    no_repeat_ngram: int = 4
    """No token n-gram of this size occurs twice in the answer (0: off)."""
    repetition_penalty: float = 1.0
    """Logits of tokens already in the answer are divided (if positive) or multiplied by this (1: off)."""

    def describe(self) -> str:
        parts = [f"at most {self.max_sentences} sentence{'s' if self.max_sentences != 1 else ''}"
                 if self.max_sentences else "no sentence limit"]
        parts.append(f"no repeated {self.no_repeat_ngram}-gram" if self.no_repeat_ngram else "n-grams may repeat")
        if self.repetition_penalty != 1.0:
            parts.append(f"repetition penalty {self.repetition_penalty:g}")
        return ", ".join(parts)


NO_RULE = AnswerRule(max_sentences=None, no_repeat_ngram=0, repetition_penalty=1.0)
"""Stop strings only: what answers did before this rule (kept to measure against)."""

MODE_RULES: dict[str, AnswerRule] = {}
"""Per-mode exceptions to ``DEFAULT_RULE`` (none measured to need one yet)."""

DEFAULT_RULE = AnswerRule()
"""One sentence, no repeated 4-gram: of the rules measured (bench/answer_rules.py, docs/EVAL.md) the only
one whose F1 was at least the old answers' in every condition, and the shortest answers."""


def rule_for_mode(mode: str) -> AnswerRule:
    return MODE_RULES.get(mode, DEFAULT_RULE)


def sentence_ends(text: str) -> list[int]:
    """Character offsets just after each finished sentence of ``text`` (one needs the white space after it)."""
    ends = []
    for m in _SENTENCE_END.finditer(text):
        if text[m.start()] == "." and _ABBREVIATION.search(text[: m.start() + 1]):
            continue
        ends.append(m.end())
    return ends


def answer_end(text: str, rule: AnswerRule, stop_strings: tuple[str, ...]) -> int | None:
    """Where the answer in ``text`` (generated so far) ends, or None if it has not ended.

    Blank lines before the answer's first word do not end it: a base model often opens with "\n\n",
    and cutting there gave an empty answer."""
    start = len(text) - len(text.lstrip())
    if start == len(text):
        return None
    cuts = [i for i in (text.find(s, start) for s in stop_strings) if i >= 0]
    if rule.no_repeat_ngram:
        loop = repeated_words_end(text, rule.no_repeat_ngram)
        if loop is not None:
            cuts.append(loop)
    if rule.max_sentences:
        ends = sentence_ends(text)
        if len(ends) >= rule.max_sentences:
            cuts.append(ends[rule.max_sentences - 1])
    return min(cuts) if cuts else None


def banned_tokens(generated: list[int], n: int) -> list[int]:
    """Tokens that would complete an n-gram the answer already holds."""
    if n <= 0 or len(generated) < n:
        return []
    tail = tuple(generated[len(generated) - n + 1:])
    return [generated[i + n - 1] for i in range(len(generated) - n + 1) if tuple(generated[i:i + n - 1]) == tail]


def guard_logits(logits: torch.Tensor, generated: list[int], rule: AnswerRule) -> torch.Tensor:
    """``logits`` for the next token with the rule's repetition guard applied (a new tensor when changed)."""
    if not generated:
        return logits
    if rule.repetition_penalty != 1.0:
        seen = torch.tensor(sorted(set(generated)), dtype=torch.long)
        values = logits[seen]
        logits = logits.clone()
        logits[seen] = torch.where(values > 0, values / rule.repetition_penalty, values * rule.repetition_penalty)
    banned = banned_tokens(generated, rule.no_repeat_ngram)
    if banned:
        logits = logits.clone()
        logits[torch.tensor(banned, dtype=torch.long)] = float("-inf")
    return logits


_WORD = re.compile(r"\w+")
_OPEN_WORD = re.compile(r"\w+$")


def _word_ngrams(text: str, n: int) -> Iterator[tuple[tuple[str, ...], int]]:
    """Each word n-gram of ``text`` (lower case) with the offset of its last word."""
    words = list(_WORD.finditer(text))
    for i in range(n - 1, len(words)):
        yield tuple(w.group().lower() for w in words[i - n + 1:i + 1]), words[i].start()


def open_word_start(text: str) -> int:
    """Where the word ``text`` ends in starts (``len(text)`` if it ends in a space or a mark): that word
    may still grow, so ``repeated_words_end`` does not judge it yet and the stream holds it back."""
    match = _OPEN_WORD.search(text)
    return match.start() if match else len(text)


def repeated_words_end(text: str, n: int, times: int = 3) -> int | None:
    """The offset of the first finished word that makes a word n-gram (case ignored) occur ``times``
    times, or None.  Words, not tokens: a model loops past a token n-gram ban by writing the same word
    in another token ("very" after a line break, "Very").  Twice is allowed: "He was a good man, and he
    was a good friend." repeats "he was a good" once, in the tokens " he" and "He"; cutting there lost
    words in 24 of 1,056 dev-set answers, cutting at the third time in 1."""
    counts: dict[tuple[str, ...], int] = {}
    for gram, last_word in _word_ngrams(text[:open_word_start(text)], n):
        counts[gram] = counts.get(gram, 0) + 1
        if counts[gram] >= times:
            return last_word
    return None


def most_repeated_ngram(text: str, n: int = 4) -> int:
    """How often the most frequent word n-gram of ``text`` occurs (the issue's loop measure: 3+ is a loop)."""
    return max(Counter(gram for gram, _ in _word_ngrams(text, n)).values(), default=0)
