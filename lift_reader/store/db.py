"""SQLite plumbing for the library: schema, migrations, locking, error messages.

One SQLite file (stdlib ``sqlite3``) in WAL mode, so the GUI can read while
a worker writes and a CLI process can run next to the GUI.

Threading: one connection shared by all threads of a process
(``check_same_thread=False``), every call serialised by a lock. Each call
is a short transaction (milliseconds), so the lock is never held long, and
one connection means no per-thread connections to leak when worker threads
come and go. Writes start with ``BEGIN IMMEDIATE``: taking the write lock up
front lets ``busy_timeout`` wait for another *process* instead of failing
with "database is locked" when a read transaction tries to upgrade.

Schema changes: append a step to ``_MIGRATIONS``; ``PRAGMA user_version``
records how far a file has been migrated, and a file from a newer app
version is refused rather than damaged.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from lift_reader.errors import StoreError

BUSY_TIMEOUT_MS = 5000

# Foreign keys: a chat belongs to its book (deleted with it); an adapter
# outlives its book unless asked (it can be re-attached when the book is
# re-added, since the key is the content hash). The active adapter is
# referenced by id, so renaming needs no cascade and removing one clears it.
# Adapter names are unique case-insensitively (NOCASE folds ASCII only).
# Statements are split on ";" below, so none may contain one in a literal.
_SCHEMA_V1 = """
CREATE TABLE books (
    content_hash   TEXT PRIMARY KEY,
    path           TEXT NOT NULL,
    title          TEXT NOT NULL,
    author         TEXT NOT NULL DEFAULT '',
    format         TEXT NOT NULL DEFAULT '',
    pages          INTEGER NOT NULL DEFAULT 0,
    chars          INTEGER NOT NULL DEFAULT 0,
    tokens         INTEGER,
    added_at       TEXT NOT NULL,
    last_opened_at TEXT NOT NULL,
    last_page      INTEGER NOT NULL DEFAULT 1,
    active_adapter_id INTEGER REFERENCES adapters(id) ON DELETE SET NULL
);
CREATE TABLE adapters (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE COLLATE NOCASE,
    book_hash     TEXT NOT NULL,
    base_model    TEXT NOT NULL,
    path          TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    steps         INTEGER NOT NULL DEFAULT 0,
    final_loss    REAL,
    size_bytes    INTEGER NOT NULL DEFAULT 0,
    settings_json TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX adapters_by_book ON adapters(book_hash);
CREATE TABLE messages (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    book_hash   TEXT NOT NULL REFERENCES books(content_hash) ON DELETE CASCADE,
    role        TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
    content     TEXT NOT NULL,
    mode        TEXT NOT NULL DEFAULT '',
    pages_json  TEXT NOT NULL DEFAULT '[]',
    created_at  TEXT NOT NULL,
    complete    INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX messages_by_book ON messages(book_hash, id);
"""

# An answer's evidence quote and grounding check (core.ask.grounding), as JSON written by core;
# '' for questions, unfinished answers and answers saved before version 2.
_V2_ANSWER_CHECKS = """
ALTER TABLE messages ADD COLUMN check_json TEXT NOT NULL DEFAULT ''
"""

# _MIGRATIONS[i] takes a file from user_version i to i + 1.
_MIGRATIONS: list[str] = [_SCHEMA_V1, _V2_ANSWER_CHECKS]
SCHEMA_VERSION = len(_MIGRATIONS)


def _primary_code(exc: sqlite3.Error) -> int:
    """The primary result code of an sqlite error (SQLITE_BUSY for SQLITE_BUSY_RECOVERY...), 0 if unknown."""
    return (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF


def sqlite_store_error(exc: sqlite3.Error, db_path: Path) -> StoreError:
    """A one-line StoreError for an sqlite failure on the library file."""
    code = _primary_code(exc)
    if code == sqlite3.SQLITE_FULL:
        return StoreError(f"disk full while saving the library {db_path}")
    if code == sqlite3.SQLITE_READONLY:
        return StoreError(f"data folder is read-only: {db_path}")
    if code in (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT):
        return StoreError(f"the library database is damaged: {db_path}")
    if code == sqlite3.SQLITE_BUSY:
        return StoreError(f"the library is busy in another LIFT Reader window: {db_path}")
    if code == sqlite3.SQLITE_CANTOPEN:
        return StoreError(f"cannot open the library database: {db_path}")
    return StoreError(f"library database error ({exc}): {db_path}")


def _rollback(conn: sqlite3.Connection) -> None:
    """Undo the open transaction, if SQLite has not already done so.

    After some errors (SQLITE_FULL, SQLITE_IOERR, SQLITE_NOMEM...) SQLite
    rolls the transaction back by itself; a second ROLLBACK would then fail
    with "no transaction is active" and hide the error that matters.
    """
    if conn.in_transaction:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # the original error is the one to report


def _enter_wal(conn: sqlite3.Connection) -> None:
    """Switch the file to WAL, waiting for another process that is switching it at the same moment.

    Changing the journal mode needs an exclusive lock and SQLite answers BUSY
    at once instead of calling the busy handler, so two processes opening a
    new library together (torchrun ranks, parallel batch jobs) failed half
    the time. Once one of them has switched, the other's PRAGMA is a no-op.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if _primary_code(exc) != sqlite3.SQLITE_BUSY or time.monotonic() >= deadline:
                raise
            time.sleep(0.02)


class Database:
    """An open, migrated library file with serialised, transactional access."""

    def __init__(self, db_path: Path):
        self.db_path = db_path
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        try:
            db_path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the data folder {db_path.parent}: {exc.strerror}") from exc
        try:
            with self._guard():
                # isolation_level=None: autocommit; transactions are opened by
                # hand (see write()) so that they are BEGIN IMMEDIATE.
                self._conn = sqlite3.connect(
                    db_path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
                )
                self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                _enter_wal(self._conn)
                # NORMAL is safe in WAL mode (never corrupts); a power cut may
                # lose the last commit, an app crash loses nothing.
                self._conn.execute("PRAGMA synchronous = NORMAL")
                self._conn.execute("PRAGMA foreign_keys = ON")
                self._migrate(self._conn)
        except BaseException:
            self.close()
            raise

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        """Hold the lock and turn sqlite errors into readable StoreErrors."""
        with self._lock:
            try:
                yield
            except sqlite3.Error as exc:
                raise sqlite_store_error(exc, self.db_path) from exc
            except UnicodeEncodeError as exc:  # a lone surrogate bound as a parameter
                raise StoreError(f"cannot save text that is not valid Unicode in the library {self.db_path}") from exc

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"the library is closed: {self.db_path}")
        return self._conn

    @contextlib.contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """The connection, for SELECTs (WAL readers see the last commit)."""
        with self._guard():
            yield self._connection()

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: committed on success, rolled back on any error."""
        with self._guard():
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                _rollback(conn)
                raise
            conn.execute("COMMIT")

    def _migrate(self, conn: sqlite3.Connection) -> None:
        """Bring the file to SCHEMA_VERSION, one step per transaction.

        The version is read inside each step's write transaction: two processes opening a
        new library at once (torchrun ranks, parallel batch jobs) must not both run a step.
        """
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(f"the library was written by a newer LIFT Reader; please update: {self.db_path}")
        if version == SCHEMA_VERSION:
            return  # the usual case; no write (a library on read-only media still opens)
        while True:
            # executescript() would COMMIT by itself; running the statements
            # inside our own transaction means a failed step leaves the file
            # exactly at the old version.
            conn.execute("BEGIN IMMEDIATE")
            try:
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version > SCHEMA_VERSION:
                    raise StoreError(f"the library was written by a newer LIFT Reader; please update: {self.db_path}")
                if version == SCHEMA_VERSION:
                    conn.execute("COMMIT")
                    return
                for statement in _MIGRATIONS[version].split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {version + 1}")
            except BaseException:
                _rollback(conn)
                raise
            conn.execute("COMMIT")

    def journal_mode(self) -> str:
        with self.read() as conn:
            return conn.execute("PRAGMA journal_mode").fetchone()[0]

    def schema_version(self) -> int:
        with self.read() as conn:
            return conn.execute("PRAGMA user_version").fetchone()[0]

    def close(self) -> None:
        """Close the connection (idempotent); later calls raise StoreError."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
