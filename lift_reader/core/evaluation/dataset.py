"""Question sets: one JSON document per line, each with its text and questions.

The format of ``../shared/data/`` (see its README)::

    {"doc_id", "title", "text", "items": [{"id", "type", "question",
      "options"?, "gold"?, "answers"?, "meta"?}], ...}

``type: "mc"`` items have ``options`` and the 0-based ``gold`` index;
``type: "open"`` items have reference ``answers``.  A user can evaluate on
their own book by writing their questions in the same format.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from lift_reader.core.text.book import BookText
from lift_reader.errors import BadInputError

ITEM_TYPES = ("mc", "open")


@dataclass(frozen=True)
class QuestionItem:
    """One question about a document."""

    id: str
    type: str  # "mc" or "open"
    question: str
    options: tuple[str, ...] = ()
    gold: int | None = None
    answers: tuple[str, ...] = ()
    evidence: str | None = None  # a quote of the passage that answers it, when the set has one

    @property
    def reference(self) -> str:
        """The answer whose likelihood is measured: the gold option, or the first reference answer."""
        return self.options[self.gold] if self.type == "mc" else self.answers[0]


@dataclass(frozen=True)
class EvalDocument:
    """A document of a question set."""

    doc_id: str
    title: str
    text: str
    items: tuple[QuestionItem, ...]
    dataset: str = ""

    def book(self) -> BookText:
        """The text as a one-page book (question sets carry no page breaks)."""
        return BookText(text=self.text, page_starts=[0], title=self.title or self.doc_id, format="txt")


def _item(raw: dict, where: str) -> QuestionItem:
    def need(key, kind):
        value = raw.get(key)
        if not isinstance(value, kind):
            raise BadInputError(f"{where}: field {key!r} is missing or not a {kind.__name__}")
        return value

    kind = need("type", str)
    if kind not in ITEM_TYPES:
        raise BadInputError(f"{where}: type must be one of {', '.join(ITEM_TYPES)}, not {kind!r}")
    question = need("question", str).strip()
    if not question:
        raise BadInputError(f"{where}: the question is empty")
    meta = raw.get("meta") if isinstance(raw.get("meta"), dict) else {}
    evidence = meta.get("evidence") if isinstance(meta.get("evidence"), str) else None
    item_id = str(raw.get("id", where))
    if kind == "mc":
        options = need("options", list)
        gold = raw.get("gold")
        if len(options) < 2 or not all(isinstance(o, str) and o.strip() for o in options):
            raise BadInputError(f"{where}: a multiple-choice item needs at least two non-empty options")
        if not isinstance(gold, int) or not 0 <= gold < len(options):
            raise BadInputError(f"{where}: gold must be the 0-based index of one of the {len(options)} options")
        return QuestionItem(item_id, kind, question, options=tuple(options), gold=gold, evidence=evidence)
    answers = [a for a in need("answers", list) if isinstance(a, str) and a.strip()]
    if not answers:
        raise BadInputError(f"{where}: an open item needs at least one reference answer")
    return QuestionItem(item_id, kind, question, answers=tuple(answers), evidence=evidence)


def parse_document(line: str, where: str) -> EvalDocument:
    try:
        raw = json.loads(line)
    except ValueError as err:
        raise BadInputError(f"{where}: not valid JSON ({err})") from None
    if not isinstance(raw, dict):
        raise BadInputError(f"{where}: each line must be a JSON object")
    text = raw.get("text")
    if not isinstance(text, str) or not text.strip():
        raise BadInputError(f"{where}: field 'text' is missing or empty")
    doc_id = str(raw.get("doc_id") or where)
    items = raw.get("items")
    if not isinstance(items, list) or not items:
        raise BadInputError(f"{where}: field 'items' must be a non-empty list")
    parsed = tuple(_item(it if isinstance(it, dict) else {}, f"{where}, item {i + 1}") for i, it in enumerate(items))
    ids = [it.id for it in parsed]
    if len(set(ids)) != len(ids):
        raise BadInputError(f"{where}: item ids repeat")
    return EvalDocument(doc_id, str(raw.get("title") or doc_id), text, parsed, str(raw.get("dataset") or ""))


def load_question_set(path: str | Path) -> list[EvalDocument]:
    """Every document of a question-set file, checked; BadInputError says which line is wrong."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as err:
        raise BadInputError(f"cannot read {path}: {err.strerror or err}") from None
    except UnicodeDecodeError:
        raise BadInputError(f"{path.name} is not a question set: a .jsonl file is UTF-8 text, one JSON "
                            "document per line") from None
    docs = [parse_document(line, f"{path.name} line {n}") for n, line in enumerate(lines, 1) if line.strip()]
    if not docs:
        raise BadInputError(f"{path} holds no document")
    seen: set[str] = set()
    for doc in docs:
        if doc.doc_id in seen:
            raise BadInputError(f"{path.name}: doc_id {doc.doc_id!r} appears twice")
        seen.add(doc.doc_id)
    return docs
