"""The library: books, trained adapters and chat history, in one SQLite file.

``Library`` is what the GUI and the CLI use; it hands out frozen records
(``records.py``), never raw rows, and raises NotFoundError / BadInputError
with messages a reader can act on. Storage details (WAL, locking,
migrations) live in ``db.py``. The library stores rows only; adapter folders
on disk belong to ``adapters.py`` (removing an adapter here returns its
record so the caller can delete the folder).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from lift_reader.errors import BadInputError, NotFoundError
from lift_reader.store import paths
from lift_reader.store.db import Database
from lift_reader.store.records import ROLES, AdapterRecord, BookRecord, ChatMessage, utc_now, validate_adapter_name

HASH_PREFIX_MIN = 6  # shortest hash prefix accepted to name a book
_HEX = re.compile(r"[0-9a-fA-F]+")

_BOOK_SELECT = """
SELECT b.content_hash, b.path, b.title, b.author, b.format, b.pages, b.chars, b.tokens,
       b.added_at, b.last_opened_at, b.last_page, a.name
FROM books b LEFT JOIN adapters a ON a.id = b.active_adapter_id
"""
_ADAPTER_FIELDS = ("name", "book_hash", "base_model", "path", "created_at", "steps", "final_loss",
                   "size_bytes", "settings_json")
_ADAPTER_COLUMNS = ", ".join(_ADAPTER_FIELDS)
_MESSAGE_COLUMNS = "id, book_hash, role, content, mode, pages_json, created_at, complete, check_json"


def _book(row: tuple) -> BookRecord:
    return BookRecord(*row)


def _adapter(row: tuple) -> AdapterRecord:
    name, book_hash, base_model, path, created_at, steps, final_loss, size_bytes, settings_json = row
    try:
        settings = json.loads(settings_json)
    except ValueError:
        settings = {}  # a hand-edited row must not make the whole list unreadable
    return AdapterRecord(name, book_hash, base_model, path, created_at, steps, final_loss, size_bytes,
                         settings if isinstance(settings, dict) else {})


def _message(row: tuple) -> ChatMessage:
    mid, book_hash, role, content, mode, pages_json, created_at, complete, check_json = row
    try:
        pages = tuple(int(p) for p in json.loads(pages_json))
    except (ValueError, TypeError):
        pages = ()
    try:
        check = json.loads(check_json) if check_json else None
    except ValueError:
        check = None  # a damaged check only loses the note under the answer, never the answer
    return ChatMessage(mid, book_hash, role, content, mode, pages, created_at, bool(complete),
                       check if isinstance(check, dict) else None)


def _pages_json(pages: Iterable[int]) -> str:
    return json.dumps(sorted({int(p) for p in pages}))


def storable(text: str) -> str:
    """``text`` as SQLite can store it (UTF-8).

    Python keeps the undecodable bytes of a file name (or of a command-line
    argument) as lone surrogates, which UTF-8 cannot encode; they are stored
    as ``\\xNN`` escapes instead. Everything else passes unchanged, and the
    same mapping is applied when looking a path up, so lookups still match.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return text


def _no_book(content_hash: str) -> NotFoundError:
    return NotFoundError(f"no book with hash {content_hash[:12]} in the library")


class Library(Database):
    """Books, adapters and chats (default file: ``paths.library_db_path()``).

    Safe to share between threads. Use as a context manager or call
    ``close()`` when done.
    """

    def __init__(self, db_path: Path | str | None = None):
        super().__init__(Path(db_path) if db_path is not None else paths.library_db_path())

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- books ----------------------------------------------------------------

    def add_book(self, record: BookRecord) -> BookRecord:
        """Insert the book, or update it if its content hash is known.

        Re-adding a known book (e.g. the file was moved) updates its path and
        descriptive fields and marks it opened; reading position, token count,
        active adapter and chats are kept.
        """
        content_hash = record.content_hash.lower()
        if not (len(content_hash) >= HASH_PREFIX_MIN and _HEX.fullmatch(content_hash)):
            raise BadInputError(f"not a content hash: {record.content_hash!r}")
        now = utc_now()
        path = storable(str(Path(record.path).expanduser().resolve()))
        with self.write() as conn:
            conn.execute(
                """INSERT INTO books (content_hash, path, title, author, format, pages, chars, tokens,
                                      added_at, last_opened_at, last_page)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (content_hash) DO UPDATE SET
                       path = excluded.path, title = excluded.title, author = excluded.author,
                       format = excluded.format, pages = excluded.pages, chars = excluded.chars,
                       tokens = COALESCE(excluded.tokens, books.tokens),
                       last_opened_at = excluded.last_opened_at""",
                (content_hash, path, storable(record.title), storable(record.author), record.format, record.pages,
                 record.chars, record.tokens, now, now, max(1, record.last_page)),
            )
        return self._require_book(content_hash)

    def get_book(self, content_hash: str) -> BookRecord | None:
        """The book with exactly this hash, or None."""
        with self.read() as conn:
            row = conn.execute(_BOOK_SELECT + " WHERE b.content_hash = ?", (content_hash.lower(),)).fetchone()
        return _book(row) if row else None

    def _require_book(self, content_hash: str) -> BookRecord:
        book = self.get_book(content_hash)
        if book is None:
            raise _no_book(content_hash)
        return book

    def find_book(self, key: str | Path) -> BookRecord:
        """A book named by hash, unique hash prefix (>= 6 hex digits), file path, or a word of its title.

        A title matches when ``key`` is part of it (any case) and names no file: the titles are what
        ``lift-reader books`` shows.  Raises NotFoundError, or BadInputError when a prefix or a title
        word fits several books.
        """
        text = str(key).strip()
        if len(text) >= HASH_PREFIX_MIN and _HEX.fullmatch(text):
            with self.read() as conn:
                rows = conn.execute(
                    _BOOK_SELECT + " WHERE b.content_hash LIKE ? ORDER BY b.content_hash LIMIT 2",
                    (text.lower() + "%",),
                ).fetchall()
            if len(rows) > 1:
                raise BadInputError(f"hash prefix {text} fits several books; give more digits")
            if rows:
                return _book(rows[0])
        # Not a hash (or no hash matched): try it as a path; a file named like
        # a hex string still works.
        path = storable(str(Path(text).expanduser().resolve()))
        with self.read() as conn:
            row = conn.execute(
                _BOOK_SELECT + " WHERE b.path = ? ORDER BY b.last_opened_at DESC LIMIT 1", (path,)
            ).fetchone()
        if row is not None:
            return _book(row)
        is_file = Path(path).exists()
        if not is_file:
            titled = [book for book in self.list_books() if text and text.casefold() in book.title.casefold()]
            if len(titled) == 1:
                return titled[0]
            if titled:
                names = "; ".join(f"{b.short_hash} {b.title}" for b in titled[:5])
                raise BadInputError(f"{text!r} fits several books ({names}): give more of the title or a hash prefix")
        missing = "" if is_file or _HEX.fullmatch(text) else f"{text} does not exist, and "
        raise NotFoundError(f"{missing}no book in the library matches {text!r} (see: lift-reader books)")

    def list_books(self) -> list[BookRecord]:
        """All books, most recently opened first."""
        with self.read() as conn:
            rows = conn.execute(_BOOK_SELECT + " ORDER BY b.last_opened_at DESC, b.rowid DESC").fetchall()
        return [_book(r) for r in rows]

    def remove_book(self, content_hash: str, *, remove_adapters: bool = False) -> list[AdapterRecord]:
        """Forget a book and its chats; with ``remove_adapters`` its adapters too.

        Returns the adapter records removed, so the caller can delete their
        folders (the library only holds rows, never files).
        """
        content_hash = content_hash.lower()
        removed: list[AdapterRecord] = []
        with self.write() as conn:
            if conn.execute("SELECT 1 FROM books WHERE content_hash = ?", (content_hash,)).fetchone() is None:
                raise _no_book(content_hash)
            if remove_adapters:
                rows = conn.execute(
                    f"SELECT {_ADAPTER_COLUMNS} FROM adapters WHERE book_hash = ?", (content_hash,)
                ).fetchall()
                removed = [_adapter(r) for r in rows]
                conn.execute("DELETE FROM adapters WHERE book_hash = ?", (content_hash,))
            # messages go by ON DELETE CASCADE
            conn.execute("DELETE FROM books WHERE content_hash = ?", (content_hash,))
        return removed

    def _update_book(self, content_hash: str, sql: str, params: tuple) -> None:
        with self.write() as conn:
            cur = conn.execute(sql, (*params, content_hash.lower()))
        if cur.rowcount == 0:
            raise _no_book(content_hash)

    def set_last_page(self, content_hash: str, page: int) -> None:
        if int(page) < 1:
            raise BadInputError(f"page numbers start at 1, got {page}")
        self._update_book(content_hash, "UPDATE books SET last_page = ? WHERE content_hash = ?", (int(page),))

    def set_tokens(self, content_hash: str, tokens: int) -> None:
        if int(tokens) < 0:
            raise BadInputError(f"a token count cannot be negative, got {tokens}")
        self._update_book(content_hash, "UPDATE books SET tokens = ? WHERE content_hash = ?", (int(tokens),))

    def touch_book(self, content_hash: str) -> None:
        """Mark the book as opened now (moves it to the top of ``list_books``)."""
        self._update_book(content_hash, "UPDATE books SET last_opened_at = ? WHERE content_hash = ?", (utc_now(),))

    # --- adapters -------------------------------------------------------------

    def record_adapter(
        self,
        name: str,
        book_hash: str,
        base_model: str,
        path: Path | str,
        *,
        steps: int = 0,
        final_loss: float | None = None,
        size_bytes: int = 0,
        settings: dict[str, Any] | None = None,
        created_at: str | None = None,
        replace: bool = False,
    ) -> AdapterRecord:
        """Register a saved adapter folder under a unique, user-visible name.

        A name already taken (case-insensitively) raises BadInputError unless
        ``replace`` is set, in which case the row is overwritten in place (so
        a book that had it active keeps it active). The book need not be in
        the library: imported adapters may arrive before their book.
        """
        name = validate_adapter_name(name)
        settings_json = json.dumps(settings or {}, sort_keys=True, default=str)
        values = (name, book_hash.lower(), base_model, str(Path(path)), created_at or utc_now(),
                  int(steps), None if final_loss is None else float(final_loss), int(size_bytes), settings_json)
        with self.write() as conn:
            row = conn.execute("SELECT id FROM adapters WHERE name = ?", (name,)).fetchone()
            if row is not None and not replace:
                raise BadInputError(f"an adapter named {name!r} already exists")
            if row is None:
                conn.execute(f"INSERT INTO adapters ({_ADAPTER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", values)
            else:
                conn.execute(
                    """UPDATE adapters SET name = ?, book_hash = ?, base_model = ?, path = ?, created_at = ?,
                       steps = ?, final_loss = ?, size_bytes = ?, settings_json = ? WHERE id = ?""",
                    (*values, row[0]),
                )
        return self._require_adapter(name)

    def list_adapters(self, book_hash: str | None = None) -> list[AdapterRecord]:
        """All adapters (or one book's), newest first."""
        sql = f"SELECT {_ADAPTER_COLUMNS} FROM adapters"
        params: tuple = ()
        if book_hash is not None:
            sql += " WHERE book_hash = ?"
            params = (book_hash.lower(),)
        with self.read() as conn:
            rows = conn.execute(sql + " ORDER BY created_at DESC, id DESC", params).fetchall()
        return [_adapter(r) for r in rows]

    def get_adapter(self, name: str) -> AdapterRecord | None:
        """The adapter with this name (case-insensitive), or None."""
        with self.read() as conn:
            row = conn.execute(f"SELECT {_ADAPTER_COLUMNS} FROM adapters WHERE name = ?", (name.strip(),)).fetchone()
        return _adapter(row) if row else None

    def _require_adapter(self, name: str) -> AdapterRecord:
        adapter = self.get_adapter(name)
        if adapter is None:
            raise NotFoundError(f"no adapter named {name!r}")
        return adapter

    def rename_adapter(self, old: str, new: str) -> AdapterRecord:
        """Rename an adapter. Only the library row changes; the folder keeps its
        name (call ``adapters.update_meta_name`` to keep its metadata in step)."""
        new = validate_adapter_name(new)
        with self.write() as conn:
            row = conn.execute("SELECT id FROM adapters WHERE name = ?", (old.strip(),)).fetchone()
            if row is None:
                raise NotFoundError(f"no adapter named {old!r}")
            clash = conn.execute("SELECT id FROM adapters WHERE name = ? AND id != ?", (new, row[0])).fetchone()
            if clash is not None:
                raise BadInputError(f"an adapter named {new!r} already exists")
            conn.execute("UPDATE adapters SET name = ? WHERE id = ?", (new, row[0]))
        return self._require_adapter(new)

    def remove_adapter(self, name: str) -> AdapterRecord:
        """Forget an adapter (books using it fall back to none). Returns the
        removed record so the caller can delete its folder."""
        adapter = self._require_adapter(name)
        with self.write() as conn:
            conn.execute("DELETE FROM adapters WHERE name = ?", (adapter.name,))
        return adapter

    def set_active_adapter(self, book_hash: str, name: str | None) -> None:
        """Choose the adapter that answers for this book (None: the bare model).

        Any adapter may be chosen, not only one trained on this exact hash:
        a re-extracted edition of a book gets a new hash but the same content.
        """
        with self.write() as conn:
            adapter_id = None
            if name is not None:
                row = conn.execute("SELECT id FROM adapters WHERE name = ?", (name.strip(),)).fetchone()
                if row is None:
                    raise NotFoundError(f"no adapter named {name!r}")
                adapter_id = row[0]
            cur = conn.execute(
                "UPDATE books SET active_adapter_id = ? WHERE content_hash = ?", (adapter_id, book_hash.lower())
            )
            if cur.rowcount == 0:
                raise _no_book(book_hash)

    def active_adapter(self, book_hash: str) -> AdapterRecord | None:
        """The adapter chosen for this book, or None."""
        with self.read() as conn:
            row = conn.execute(
                f"SELECT {', '.join('a.' + c for c in _ADAPTER_FIELDS)} "
                "FROM books b JOIN adapters a ON a.id = b.active_adapter_id WHERE b.content_hash = ?",
                (book_hash.lower(),),
            ).fetchone()
        return _adapter(row) if row else None

    # --- chat -----------------------------------------------------------------

    def add_message(
        self,
        book_hash: str,
        role: str,
        content: str,
        *,
        mode: str = "",
        pages: Iterable[int] = (),
        complete: bool = True,
    ) -> int:
        """Append a chat message and return its id.

        For a streamed answer, add it with ``complete=False`` (content may be
        empty) and call ``update_message`` as text arrives.
        """
        if role not in ROLES:
            raise BadInputError(f"a chat role is 'user' or 'assistant', not {role!r}")
        with self.write() as conn:
            if conn.execute("SELECT 1 FROM books WHERE content_hash = ?", (book_hash.lower(),)).fetchone() is None:
                raise _no_book(book_hash)
            cur = conn.execute(
                f"INSERT INTO messages ({_MESSAGE_COLUMNS}) VALUES (NULL, ?, ?, ?, ?, ?, ?, ?, '')",
                (book_hash.lower(), role, storable(content), mode, _pages_json(pages), utc_now(), int(complete)),
            )
        assert cur.lastrowid is not None  # always set after a successful INSERT
        return cur.lastrowid

    def update_message(
        self, message_id: int, content: str, complete: bool, *, pages: Iterable[int] | None = None
    ) -> None:
        """Replace a message's text (and cited pages, when given) as it streams in; its old check goes."""
        sql, params = "UPDATE messages SET content = ?, complete = ?, check_json = ''", [storable(content),
                                                                                      int(complete)]
        if pages is not None:
            sql += ", pages_json = ?"
            params.append(_pages_json(pages))
        self._update_message(message_id, sql, params)

    def save_answer_check(self, message_id: int, check: dict) -> None:
        """Keep a finished answer's evidence and grounding check (JSON-able), to show it when the chat reopens."""
        self._update_message(message_id, "UPDATE messages SET check_json = ?", [storable(json.dumps(check))])

    def _update_message(self, message_id: int, sql: str, params: list) -> None:
        with self.write() as conn:
            cur = conn.execute(sql + " WHERE id = ?", (*params, int(message_id)))
        if cur.rowcount == 0:
            raise NotFoundError(f"no chat message with id {message_id}")

    def list_messages(self, book_hash: str) -> list[ChatMessage]:
        """A book's conversation, oldest first."""
        with self.read() as conn:
            rows = conn.execute(
                f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE book_hash = ? ORDER BY id", (book_hash.lower(),)
            ).fetchall()
        return [_message(r) for r in rows]

    def clear_chat(self, book_hash: str) -> int:
        """Delete a book's conversation; returns how many messages went."""
        with self.write() as conn:
            cur = conn.execute("DELETE FROM messages WHERE book_hash = ?", (book_hash.lower(),))
        return cur.rowcount
