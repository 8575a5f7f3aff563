from __future__ import annotations

import dataclasses
import sqlite3
import threading
from pathlib import Path

import pytest

from lift_reader.errors import BadInputError, NotFoundError, StoreError
from lift_reader.store.db import SCHEMA_VERSION
from lift_reader.store.library import Library


def test_database_settings(library: Library, home: Path) -> None:
    assert library.db_path == home.resolve() / "library.sqlite3"
    assert library.journal_mode() == "wal"
    assert library.schema_version() == SCHEMA_VERSION == 2
    with library.read() as conn:
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000


def test_add_book_upserts_by_hash(library: Library, make_book, tmp_path: Path) -> None:
    first = library.add_book(make_book(1, tmp_path / "a.pdf", tokens=900))
    library.set_last_page(first.content_hash, 7)
    again = library.add_book(make_book(1, tmp_path / "moved" / "a.pdf"))  # same text, file moved
    assert again.path == str((tmp_path / "moved" / "a.pdf").resolve())
    assert again.added_at == first.added_at
    assert again.last_opened_at >= first.last_opened_at
    assert again.last_page == 7  # reading position survives
    assert again.tokens == 900  # not forgotten when re-added without a count
    assert len(library.list_books()) == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        again.title = "x"  # type: ignore[misc]


def test_add_book_rejects_non_hash(library: Library, make_book) -> None:
    with pytest.raises(BadInputError):
        library.add_book(dataclasses.replace(make_book(1), content_hash="not-a-hash"))


def test_find_book_by_hash_prefix_and_path(
    library: Library, make_book, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    book = library.add_book(make_book(1, tmp_path / "one.pdf"))
    library.add_book(make_book(2, tmp_path / "two.pdf"))
    assert library.find_book(book.content_hash) == book
    assert library.find_book(book.content_hash[:6].upper()) == book
    monkeypatch.chdir(tmp_path)
    assert library.find_book("one.pdf") == book  # relative paths are resolved
    assert library.find_book(tmp_path / "one.pdf") == book
    with pytest.raises(NotFoundError):
        library.find_book("01010")  # too short for a prefix, and no such file
    with pytest.raises(NotFoundError):
        library.find_book("ffffff")
    with pytest.raises(NotFoundError):
        library.find_book(tmp_path / "three.pdf")
    assert library.get_book("ff" * 32) is None


def test_find_book_by_a_word_of_its_title(library: Library, make_book, tmp_path: Path, monkeypatch) -> None:
    alice = library.add_book(dataclasses.replace(make_book(1, tmp_path / "a.epub"),
                                                 title="Alice's Adventures in Wonderland"))
    library.add_book(dataclasses.replace(make_book(2, tmp_path / "b.epub"),
                                         title="Through the Looking-Glass, and What Alice Found There"))
    assert library.find_book("wonderland") == alice  # any case, any part
    with pytest.raises(BadInputError, match="fits several books"):
        library.find_book("Alice")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "Wonderland").write_text("a file of that name")
    with pytest.raises(NotFoundError):  # a file that is named is a path, never a title
        library.find_book("Wonderland")


def test_ambiguous_prefix(library: Library, make_book) -> None:
    a = dataclasses.replace(make_book(1), content_hash="abcdef" + "0" * 58)
    b = dataclasses.replace(make_book(2), content_hash="abcdef" + "1" * 58)
    library.add_book(a)
    library.add_book(b)
    with pytest.raises(BadInputError, match="several books"):
        library.find_book("abcdef")
    assert library.find_book("abcdef1").content_hash == b.content_hash


def test_list_books_most_recent_first(library: Library, make_book) -> None:
    hashes = [library.add_book(make_book(n, f"/b/{n}.pdf")).content_hash for n in (1, 2, 3)]
    assert [b.content_hash for b in library.list_books()] == hashes[::-1]
    library.touch_book(hashes[0])
    assert library.list_books()[0].content_hash == hashes[0]


def test_book_updates(library: Library, make_book) -> None:
    h = library.add_book(make_book(1)).content_hash
    library.set_tokens(h, 123_456)
    library.set_last_page(h, 4)
    book = library.get_book(h)
    assert (book.tokens, book.last_page) == (123_456, 4)
    with pytest.raises(BadInputError):
        library.set_last_page(h, 0)
    with pytest.raises(BadInputError):
        library.set_tokens(h, -1)
    for call in (library.touch_book, lambda x: library.set_last_page(x, 2), library.remove_book):
        with pytest.raises(NotFoundError):
            call("ee" * 32)


def _adapter(library: Library, name: str, book_hash: str, **kw):
    return library.record_adapter(name, book_hash, "google/gemma-3-270m", f"/adapters/{name}",
                                  steps=10, final_loss=1.5, size_bytes=2048, settings={"lr": 1e-4}, **kw)


def test_record_and_list_adapters(library: Library, make_book) -> None:
    h = library.add_book(make_book(1)).content_hash
    rec = _adapter(library, "  Moby  ", h)
    assert rec.name == "Moby" and rec.settings == {"lr": 1e-4} and rec.final_loss == 1.5
    _adapter(library, "Other", "02" * 32)  # an adapter may arrive before its book
    assert [a.name for a in library.list_adapters(h)] == ["Moby"]
    assert {a.name for a in library.list_adapters()} == {"Moby", "Other"}
    assert library.get_adapter("moby") == rec  # names are case-insensitive
    with pytest.raises(BadInputError, match="already exists"):
        _adapter(library, "MOBY", h)
    replaced = library.record_adapter("Moby", h, "google/gemma-3-270m", "/new", steps=20, replace=True)
    assert (replaced.path, replaced.steps) == ("/new", 20)


@pytest.mark.parametrize("bad", ["", "   ", "a/b", "a\\b", "x" * 81, "line\nbreak", "tab\there", "..", "rtl\u202eabc"])
def test_rename_validation(library: Library, make_book, bad: str) -> None:
    _adapter(library, "Moby", library.add_book(make_book(1)).content_hash)
    with pytest.raises(BadInputError):
        library.rename_adapter("Moby", bad)
    assert library.get_adapter("Moby") is not None


def test_rename_clash_and_case_change(library: Library, make_book) -> None:
    h = library.add_book(make_book(1)).content_hash
    _adapter(library, "Moby", h)
    _adapter(library, "Dick", h)
    with pytest.raises(BadInputError, match="already exists"):
        library.rename_adapter("Moby", "dick")
    assert library.rename_adapter("Moby", "MOBY").name == "MOBY"  # its own name in another case is fine
    assert library.rename_adapter("moby", "Whale " + "é" * 74).name.startswith("Whale")  # 80 chars
    with pytest.raises(NotFoundError):
        library.rename_adapter("Nope", "Other")


def test_active_adapter_follows_rename_and_removal(library: Library, make_book) -> None:
    h = library.add_book(make_book(1)).content_hash
    _adapter(library, "Moby", h)
    assert library.active_adapter(h) is None
    library.set_active_adapter(h, "moby")
    assert library.active_adapter(h).name == "Moby"
    library.rename_adapter("Moby", "Whale")
    assert library.get_book(h).active_adapter == "Whale"
    removed = library.remove_adapter("Whale")
    assert removed.path == "/adapters/Moby"
    assert library.active_adapter(h) is None and library.get_book(h).active_adapter is None
    with pytest.raises(NotFoundError):
        library.set_active_adapter(h, "Whale")
    with pytest.raises(NotFoundError):
        library.remove_adapter("Whale")
    _adapter(library, "Again", h)
    library.set_active_adapter(h, "Again")
    library.set_active_adapter(h, None)
    assert library.active_adapter(h) is None


def test_remove_book_removes_chats_and_keeps_adapters_unless_asked(library: Library, make_book) -> None:
    h1 = library.add_book(make_book(1)).content_hash
    h2 = library.add_book(make_book(2)).content_hash
    _adapter(library, "One", h1)
    _adapter(library, "Two", h2)
    library.add_message(h1, "user", "Who is Ishmael?")
    library.add_message(h2, "user", "Other book")
    assert library.remove_book(h1) == []
    assert library.get_book(h1) is None
    assert library.list_messages(h1) == []
    with library.read() as conn:
        assert conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 1
    assert library.get_adapter("One") is not None
    removed = library.remove_book(h2, remove_adapters=True)
    assert [a.name for a in removed] == ["Two"]
    assert library.get_adapter("Two") is None


def test_streaming_message_survives_a_crash(home: Path, make_book) -> None:
    lib = Library()
    h = lib.add_book(make_book(1)).content_hash
    lib.add_message(h, "user", "Where does the story start?", mode="memory")
    mid = lib.add_message(h, "assistant", "", mode="memory", complete=False)
    text = ""
    for piece in ["Call ", "me ", "Ishmael."]:
        text += piece
        lib.update_message(mid, text, complete=False)
    lib.close()  # "crash": a fresh Library sees what was saved so far
    lib = Library()
    user, answer = lib.list_messages(h)
    assert (user.role, user.complete, user.mode) == ("user", True, "memory")
    assert (answer.id, answer.content, answer.complete) == (mid, "Call me Ishmael.", False)
    lib.update_message(mid, text + " Done.", complete=True, pages=[3, 1, 3])
    answer = lib.list_messages(h)[1]
    assert (answer.content, answer.complete, answer.pages) == ("Call me Ishmael. Done.", True, (1, 3))
    lib.close()


def test_an_answer_s_check_is_kept_until_its_text_changes(library: Library, make_book) -> None:
    h = library.add_book(make_book(1)).content_hash
    mid = library.add_message(h, "assistant", "Aurelio.", mode="rag")
    assert library.list_messages(h)[0].check is None
    check = {"specifics": ["Aurelio"], "not_found": [], "evidence": None, "up_to_page": None}
    library.save_answer_check(mid, check)
    assert library.list_messages(h)[0].check == check
    library.update_message(mid, "", complete=False)  # answered again: the old check no longer applies
    assert library.list_messages(h)[0].check is None
    with pytest.raises(NotFoundError):
        library.save_answer_check(999, check)


def test_a_version_1_library_gains_answer_checks_and_keeps_its_chats(tmp_path: Path, make_book) -> None:
    from lift_reader.store import db as db_module

    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(db_module._SCHEMA_V1 + "; PRAGMA user_version = 1;")
    old.execute("INSERT INTO books (content_hash, path, title, added_at, last_opened_at) VALUES (?, ?, ?, ?, ?)",
                ("ab" * 32, "/books/x.txt", "X", "2026-01-01", "2026-01-01"))
    old.execute("INSERT INTO messages (book_hash, role, content, created_at) VALUES (?, 'assistant', 'Kept.', ?)",
                ("ab" * 32, "2026-01-01"))
    old.commit()
    old.close()
    with Library(path) as library:
        assert library.schema_version() == 2
        (message,) = library.list_messages("ab" * 32)
        assert (message.content, message.check) == ("Kept.", None)
        library.save_answer_check(message.id, {"specifics": []})
        assert library.list_messages("ab" * 32)[0].check == {"specifics": []}


def test_message_errors_and_clear(library: Library, make_book) -> None:
    h = library.add_book(make_book(1)).content_hash
    with pytest.raises(BadInputError):
        library.add_message(h, "system", "x")
    with pytest.raises(NotFoundError):
        library.add_message("ee" * 32, "user", "x")
    with pytest.raises(NotFoundError):
        library.update_message(999, "x", True)
    for i in range(3):
        library.add_message(h, "user", f"q{i}", pages=[i + 1])
    assert [m.pages for m in library.list_messages(h)] == [(1,), (2,), (3,)]
    assert library.clear_chat(h) == 3
    assert library.list_messages(h) == []


def test_concurrent_writes_from_threads(library: Library, make_book, home: Path) -> None:
    h = library.add_book(make_book(1)).content_hash
    other = Library()  # a second connection, like a CLI running next to the GUI
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        lib = library if n % 2 else other
        try:
            for i in range(40):
                mid = lib.add_message(h, "assistant", "", complete=False)
                lib.update_message(mid, f"thread {n} message {i}", complete=True)
                lib.set_last_page(h, i + 1)
                lib.list_messages(h)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    other.close()
    assert errors == []
    messages = library.list_messages(h)
    assert len(messages) == 160 and all(m.complete for m in messages)


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "lib.sqlite3"
    Library(db).close()
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(StoreError, match="newer LIFT Reader"):
        Library(db)


def test_damaged_file_is_a_store_error(tmp_path: Path) -> None:
    db = tmp_path / "lib.sqlite3"
    db.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(StoreError, match="damaged"):
        Library(db)


def test_closed_library_raises(tmp_path: Path) -> None:
    with Library(tmp_path / "x.sqlite3") as lib:
        pass
    with pytest.raises(StoreError, match="closed"):
        lib.list_books()


def test_processes_opening_a_new_library_at_once_all_succeed(tmp_path: Path) -> None:
    """torchrun ranks and parallel batch jobs create the same library file at the same moment."""
    import subprocess
    import sys

    db = tmp_path / "shared" / "library.sqlite3"
    code = ("import sys; from pathlib import Path; from lift_reader.store.library import Library; "
            "Library(Path(sys.argv[1])).list_books(); print('ok')")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(db)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(6)]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 6, [err for _, err in results]
    assert Library(db).list_books() == []


def test_opening_waits_for_a_process_switching_the_new_file_to_wal(tmp_path: Path, monkeypatch) -> None:
    """SQLite answers BUSY at once (no busy handler) while another connection locks a file we switch to WAL.

    Deterministic stand-in for two torchrun ranks creating the library together: another
    connection holds the write lock, and the opener's first wait is where that lock is let go.
    """
    import time

    db = tmp_path / "lib.sqlite3"
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("CREATE TABLE t (x)")
    other.execute("BEGIN IMMEDIATE")
    waits = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        if other.in_transaction:
            other.execute("COMMIT")

    monkeypatch.setattr(time, "sleep", sleep)
    with Library(db) as library:
        assert library.journal_mode() == "wal" and library.list_books() == []
    assert len(waits) == 1  # it did meet the lock, and waited once
    other.close()
