"""A book's conversation as the chat tab shows it, rendered to simple HTML.

Messages come from the library (``ChatMessage``) or are being streamed; the
transcript is re-rendered whole, at most a few times a second while an answer
streams, which stays cheap for any conversation a person reads.  Page numbers
become ``page:N`` links that the chat panel turns into reader jumps.  Under a
finished answer: its evidence quote, an ``evidence:START-END`` link that opens
the passage highlighted in the reader, and the grounding check's notes, with
the names and numbers the book does not hold marked in the answer.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

from lift_reader.core.ask.grounding import Grounding
from lift_reader.core.ask.modes import MODE_LABELS
from lift_reader.gui.chat_modes import empty_chat_text
from lift_reader.store.records import ChatMessage

_MAX_PAGE_LINKS = 40
_NOT_FOUND_STYLE = "background-color:#f9d4d0; color:#000000"  # a name or number the book does not hold
_WARNING = "#b3261e"


@dataclass
class ChatEntry:
    role: str  # "user" or "assistant"
    text: str
    mode: str = ""
    pages: tuple[int, ...] = ()
    complete: bool = True
    message_id: int | None = None
    note: str = ""  # said beside the answer (ICL fallback, waiting for the model)
    streaming: bool = False
    grounding: Grounding | None = None  # the finished answer's evidence and check

    @classmethod
    def from_message(cls, message: ChatMessage) -> ChatEntry:
        grounding = Grounding.from_dict(message.check) if message.check else None
        return cls(message.role, message.content, message.mode, message.pages, message.complete, message.id,
                   grounding=grounding)


@dataclass
class Transcript:
    entries: list[ChatEntry] = field(default_factory=list)

    def last_answer(self) -> ChatEntry | None:
        return next((e for e in reversed(self.entries) if e.role == "assistant"), None)

    def question_before(self, answer: ChatEntry) -> str | None:
        index = self.entries.index(answer)
        return next((e.text for e in reversed(self.entries[:index]) if e.role == "user"), None)

    def to_html(self, muted: str, accent: str, mode: str = "") -> str:
        """The conversation; before the first question, what ``mode`` (the one selected) will answer from."""
        if not self.entries:
            return f"<p style='color:{muted}'>{html.escape(empty_chat_text(mode))}</p>"
        return "".join(self._entry_html(e, muted, accent) for e in self.entries)

    @staticmethod
    def _entry_html(entry: ChatEntry, muted: str, accent: str) -> str:
        body = _marked(entry.text, entry.grounding.not_found if entry.grounding else ())
        if entry.role == "user":
            return (f"<p style='margin-top:14px; margin-bottom:2px'><b style='color:{accent}'>You</b></p>"
                    f"<p style='margin-top:0'>{body}</p>")
        mode = MODE_LABELS.get(entry.mode, entry.mode)
        head = f"<b>Book</b> <span style='color:{muted}'>· {html.escape(mode)}</span>" if mode else "<b>Book</b>"
        if entry.streaming:
            body += " ▍"
        elif not entry.complete:
            body += f" <i style='color:{muted}'>(stopped)</i>"
        elif not entry.text:
            body = f"<i style='color:{muted}'>(no answer)</i>"
        parts = [f"<p style='margin-top:10px; margin-bottom:2px'>{head}</p>", f"<p style='margin-top:0'>{body}</p>"]
        if entry.grounding is not None and not entry.streaming:
            parts.append(grounding_html(entry.grounding, muted))
        if entry.note:
            parts.append(f"<p style='color:{muted}; margin-top:0'><i>{html.escape(entry.note)}</i></p>")
        if entry.pages:
            parts.append(f"<p style='color:{muted}; margin-top:0'>{page_links(entry.pages)}</p>")
        return "".join(parts)


def page_links(pages: tuple[int, ...]) -> str:
    """'Context: pages 1, 2, 9' with every page a link (long lists are cut)."""
    shown = [f"<a href='page:{p}'>{p}</a>" for p in pages[:_MAX_PAGE_LINKS]]
    more = f" and {len(pages) - _MAX_PAGE_LINKS} more" if len(pages) > _MAX_PAGE_LINKS else ""
    word = "page" if len(pages) == 1 else "pages"
    return f"Context: {word} {', '.join(shown)}{more}"


def _marked(text: str, not_found: tuple[str, ...]) -> str:
    """``text`` as HTML with every name or number in ``not_found`` marked."""
    body = html.escape(text)
    for specific in not_found:
        escaped = html.escape(specific)
        body = body.replace(escaped, f"<span style='{_NOT_FOUND_STYLE}' title='not found in the book'>{escaped}</span>")
    return body.replace("\n", "<br>")


def grounding_html(grounding: Grounding, muted: str) -> str:
    """The evidence quote (a link to the passage in the reader) and what the book does not hold."""
    parts = []
    evidence = grounding.evidence
    if evidence is not None:
        parts.append(f"<p style='color:{muted}; margin-top:0; margin-left:12px'>“{html.escape(evidence.quote)}” "
                     f"<a href='evidence:{evidence.start}-{evidence.end}'>page {evidence.page}</a></p>")
    for line in grounding.notes():
        parts.append(f"<p style='color:{_WARNING}; margin-top:0'>{html.escape(line)}</p>")
    return "".join(parts)
