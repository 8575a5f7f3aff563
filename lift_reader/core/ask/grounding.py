"""The grounding check: names, numbers and dates of an answer that the book never mentions.

A small model invents plausible specifics ("Captain John Hinchliffe", "wrecked
in 1861" where the book says 1860).  Every such specific of the answer is looked
up in the book's text (up to the reading position when asking spoiler-safe);
the ones found nowhere are named to the reader.  When none of the answer's
specifics and none of its content words are in the book (no evidence passage),
the honest reply is that the book does not seem to say, or not yet.

Names are runs of capitalised words (a sentence's first word counts only when
it is not a common word: "The", "She"); numbers are digit runs ("1,000" =
"1000"); dates are both (a month's name, a year).  Matching is by whole words,
ignoring case.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from lift_reader.core.ask.evidence import Evidence
from lift_reader.core.ask.passages import terms

_NAME = re.compile(r"\b[A-Z][\w'\u2019-]*(?:\s+(?:of\s+|de\s+|van\s+|von\s+)?[A-Z][\w'\u2019-]*)*")
_NUMBER = re.compile(r"\b\d[\d,.]*\d\b|\b\d\b")
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Grounding:
    """What the check found for one answer."""

    specifics: tuple[str, ...]
    """Names and numbers of the answer, in order."""
    not_found: tuple[str, ...]
    """Those that occur nowhere in the text searched."""
    evidence: Evidence | None
    up_to_page: int | None = None
    """Spoiler-safe: the text searched ended with this page."""

    @property
    def unsupported(self) -> bool:
        """Nothing in the answer is backed by the book: no evidence passage and no specific found."""
        found_any = len(self.not_found) < len(self.specifics)
        return self.evidence is None and not found_any

    @property
    def invented(self) -> bool:
        """The answer names specifics and the book holds none of them."""
        return bool(self.specifics) and len(self.not_found) == len(self.specifics)

    def to_dict(self) -> dict:
        """JSON-able, for the library to keep with the answer (``from_dict`` reads it back)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, saved: dict) -> Grounding | None:
        """A check saved by ``to_dict``; None when it cannot be read (an older or hand-edited row)."""
        try:
            evidence = saved.get("evidence")
            return cls(tuple(str(s) for s in saved["specifics"]), tuple(str(s) for s in saved["not_found"]),
                       None if evidence is None else Evidence(str(evidence["quote"]), int(evidence["start"]),
                                                              int(evidence["end"]), int(evidence["page"])),
                       None if saved.get("up_to_page") is None else int(saved["up_to_page"]))
        except (KeyError, TypeError, ValueError, AttributeError):
            return None

    def notes(self) -> list[str]:
        """What to tell the reader under the answer (nothing when every specific was found)."""
        where = "in the book" if self.up_to_page is None else f"in the book up to page {self.up_to_page}"
        lines = []
        if self.not_found:
            lines.append(", ".join(f"“{s}”" for s in self.not_found) + f": not found {where}.")
        if self.unsupported or self.invented:
            yet = "" if self.up_to_page is None else " (yet)"
            lines.append(f"The book does not seem to say{yet}: nothing in this answer was found {where}."
                         if self.unsupported else f"The book does not seem to say{yet}.")
        return lines


def specifics(answer: str, common_words: frozenset[str] = frozenset()) -> list[str]:
    """Names and numbers in ``answer``, in order, each once.

    ``common_words`` (lower case) are words that start a name only when the
    book itself writes them capitalised in mid-sentence; a sentence's first
    word is dropped from a name when it is a common word ("The", "She").
    """
    found: list[tuple[int, str]] = []
    for m in _NAME.finditer(answer):
        words = m.group().split()
        while words and _is_common(words[0], common_words):
            words.pop(0)
        if words:
            found.append((m.start() + m.group().index(words[0]), " ".join(words)))
    found += [(m.start(), m.group()) for m in _NUMBER.finditer(answer)]
    seen: set[str] = set()
    return [s for _, s in sorted(found) if not (s.lower() in seen or seen.add(s.lower()))]


def _is_common(word: str, common_words: frozenset[str]) -> bool:
    lower = word.lower().strip("'\u2019")
    return lower in common_words or not terms(lower)  # terms() drops stop words ("the", "she", "in")


def check_answer(answer: str, book_text: str, evidence: Evidence | None, *,
                 up_to_page: int | None = None) -> Grounding:
    """Look every name and number of ``answer`` up in ``book_text`` (already cut at the reading position)."""
    lower = book_text.lower()
    words = set(_WORD.findall(lower))
    found = specifics(answer, frozenset({"yes", "no", "answer", "question"}))
    missing = tuple(s for s in found if not _occurs(s, lower, words))
    return Grounding(tuple(found), missing, evidence, up_to_page)


def _occurs(specific: str, lower_text: str, words: set[str]) -> bool:
    """Whether ``specific`` is in the text as whole words (a name as the same words in a row)."""
    key = specific.lower()
    if _NUMBER.fullmatch(specific):
        plain = key.replace(",", "")
        return plain in words or key in words or bool(re.search(rf"(?<![\w.,]){re.escape(key)}(?![\w])", lower_text))
    parts = _WORD.findall(key)
    if not all(p in words for p in parts):
        return False
    pattern = r"\b" + r"\W+".join(re.escape(p) for p in parts) + r"\b"
    return re.search(pattern, lower_text) is not None
