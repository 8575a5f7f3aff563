"""The extracted text of each library book, cached as JSON in the data folder.

Re-extracting a PDF takes seconds and the file may have moved since it was
added; the cache makes a book's text available at once (and without torch,
so the GUI can show a book before the model has loaded).
"""

from __future__ import annotations

import json
from pathlib import Path

from lift_reader.core.text.book import BookText, TocEntry
from lift_reader.store.atomic import atomic_write_json
from lift_reader.store.paths import cache_dir


def save_book_text(book: BookText) -> None:
    atomic_write_json(cache_dir("books") / f"{book.content_hash}.json", {
        "text": book.text, "page_starts": book.page_starts, "title": book.title, "author": book.author,
        "format": book.format, "source_path": str(book.source_path or ""),
        "toc": [[e.title, e.level, e.offset, e.page] for e in book.toc],
    })


def load_book_text(content_hash: str) -> BookText | None:
    """The cached text, or None when it is missing, unreadable or does not match its hash."""
    path = cache_dir("books") / f"{content_hash}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        book = BookText(text=data["text"], page_starts=data["page_starts"], title=data["title"],
                        author=data["author"], format=data["format"],
                        source_path=Path(data["source_path"]) if data["source_path"] else None,
                        toc=[TocEntry(*e) for e in data["toc"]])
        matches = book.content_hash == content_hash
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return book if matches else None
