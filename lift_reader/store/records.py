"""The small immutable records the library hands out, and name rules.

The library never returns raw sqlite rows: callers (GUI models, the CLI)
get these frozen dataclasses, which are safe to pass between threads.
Timestamps are ISO 8601 strings in UTC (``2025-01-31T12:00:00.123456+00:00``);
they sort correctly as text, which the database relies on.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from lift_reader.errors import BadInputError

ADAPTER_NAME_MAX = 80
ROLES = ("user", "assistant")


def utc_now() -> str:
    """Current time as an ISO 8601 UTC string with microseconds (sortable)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class BookRecord:
    """A book in the library, keyed by the SHA-256 of its extracted text.

    To add a book fill in the first seven fields; ``Library.add_book`` sets
    the timestamps and returns the stored record.
    """

    content_hash: str
    path: str
    title: str
    author: str = ""
    format: str = ""
    pages: int = 0
    chars: int = 0
    tokens: int | None = None  # known only once a tokenizer has seen the text
    added_at: str = ""
    last_opened_at: str = ""
    last_page: int = 1  # 1-based, where the reader left off
    active_adapter: str | None = None  # name of the adapter answering for this book

    @property
    def short_hash(self) -> str:
        """The first 12 hex digits: enough to name a book on the command line."""
        return self.content_hash[:12]


@dataclass(frozen=True)
class AdapterRecord:
    """A trained adapter as the library knows it (its folder holds the rest)."""

    name: str
    book_hash: str
    base_model: str  # base model id, e.g. "google/gemma-3-270m" or a folder
    path: str  # the adapter folder
    created_at: str
    steps: int
    final_loss: float | None
    size_bytes: int
    settings: dict[str, Any] = field(default_factory=dict, hash=False, compare=True)

    @property
    def settings_json(self) -> str:
        return json.dumps(self.settings, sort_keys=True)


@dataclass(frozen=True)
class ChatMessage:
    """One turn of a conversation about a book.

    An assistant answer is saved as ``complete=False`` when streaming starts
    and updated as it grows, so a crash mid-answer keeps what was shown.
    """

    id: int
    book_hash: str
    role: str  # "user" or "assistant"
    content: str
    mode: str  # how the answer was produced (e.g. "memory", "rag"); free text
    pages: tuple[int, ...]  # pages the answer cites, 1-based
    created_at: str
    complete: bool
    check: dict | None = None
    """A finished answer's evidence and grounding check as core saved it (None: not checked)."""


def validate_adapter_name(name: str) -> str:
    """Return ``name`` stripped of surrounding spaces, or raise BadInputError.

    Names are shown to users and appear in exported archives, so: 1-80
    characters, no path separators, no control characters, not "." or "..".
    Folder names are derived separately (``adapters.adapter_folder_for``), so
    any other Unicode is fine.
    """
    if not isinstance(name, str):
        raise BadInputError("an adapter name must be text")
    cleaned = name.strip()
    if not cleaned:
        raise BadInputError("an adapter name cannot be empty")
    if len(cleaned) > ADAPTER_NAME_MAX:
        raise BadInputError(f"an adapter name can have at most {ADAPTER_NAME_MAX} characters")
    if "/" in cleaned or "\\" in cleaned:
        raise BadInputError(f"an adapter name cannot contain '/' or '\\': {cleaned!r}")
    if cleaned in (".", ".."):
        raise BadInputError(f"{cleaned!r} is not a usable adapter name")
    # Cc: control characters (newlines, tabs, NUL); Cf: invisible format
    # characters such as right-to-left overrides, which can disguise a name;
    # Cs: lone surrogates (undecodable command-line bytes), not storable.
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs") for ch in cleaned):
        raise BadInputError(f"an adapter name cannot contain control characters: {cleaned!r}")
    return cleaned
