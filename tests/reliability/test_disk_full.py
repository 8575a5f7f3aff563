"""Disk full and read-only data folder: one clear line, and nothing saved before is damaged.

Tests run as root, where ``chmod`` does not stop writes, so the failures are
made by the operating system where that is cheap (RLIMIT_FSIZE makes real
writes fail inside safetensors and torch; SQLite's ``max_page_count`` and
``query_only`` make the database itself refuse) and by os functions raising
``OSError(ENOSPC / EROFS)`` elsewhere.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import resource
import signal
import sqlite3
import tempfile
from pathlib import Path

import numpy as np
import pytest
from crash_worker import adapter_files
from rel_helpers import SAMPLE_STORY, assert_one_line_error, integrity_check, run_cli_in_process

from lift_reader.errors import StoreError
from lift_reader.store.atomic import staging_folder
from lift_reader.store.library import Library
from lift_reader.store.records import BookRecord

BOOK_HASH = "cd" * 32


def _old_adapter(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    dest = tmp_path / "adapters" / "ledger"
    dest.mkdir(parents=True)
    for name, data in adapter_files("old", seed=1).items():
        (dest / name).write_bytes(data)
    return dest, _digest(dest)


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _only_the_adapter_left(dest: Path) -> None:
    assert [p.name for p in dest.parent.iterdir()] == [dest.name], "a staging folder was left behind"


@contextlib.contextmanager
def file_size_limit(limit: int):
    """Writes past ``limit`` bytes fail with EFBIG (what a full disk looks like to a writer)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # else the kernel kills the process
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)


@pytest.mark.parametrize("writer", ["safetensors", "torch.save", "open().write"])
def test_real_write_failure_while_saving_is_a_store_error(tmp_path, writer):
    """safetensors and torch raise their own exception types on a failed write; the user sees one line."""
    dest, old = _old_adapter(tmp_path)
    big = np.zeros(256 * 1024, dtype=np.float32)  # 1 MB, over the limit below

    def write(staged: Path) -> None:
        if writer == "safetensors":
            from safetensors.numpy import save_file

            save_file({"w": big}, str(staged / "adapter_model.safetensors"))
        elif writer == "torch.save":
            import torch

            torch.save({"w": torch.from_numpy(big)}, staged / "optimizer.pt")
        else:
            with open(staged / "adapter_model.safetensors", "wb") as fh:
                fh.write(big.tobytes())

    with pytest.raises(StoreError) as err, file_size_limit(64 * 1024):
        with staging_folder(dest) as staged:
            write(staged)
    message = str(err.value)
    assert "\n" not in message and str(dest) in message
    assert message.startswith(("could not finish saving", "disk full while saving")), message
    assert _digest(dest) == old
    _only_the_adapter_left(dest)


@pytest.mark.parametrize(("code", "words"), [(errno.ENOSPC, "disk full"), (errno.EROFS, "read-only"),
                                             (errno.EDQUOT, "disk full")])
def test_os_error_while_saving_is_a_store_error(tmp_path, code, words):
    dest, old = _old_adapter(tmp_path)
    with pytest.raises(StoreError, match=words):
        with staging_folder(dest) as staged:
            (staged / "adapter_model.safetensors").write_bytes(b"half")
            raise OSError(code, os.strerror(code))
    assert _digest(dest) == old
    _only_the_adapter_left(dest)


@pytest.mark.parametrize("where", ["mkdtemp", "replace"])
def test_read_only_adapters_folder(tmp_path, monkeypatch, where):
    dest, old = _old_adapter(tmp_path)

    def refuse(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile if where == "mkdtemp" else os, "mkdtemp" if where == "mkdtemp" else "replace",
                        refuse)
    with pytest.raises(StoreError, match="data folder is read-only"):
        with staging_folder(dest) as staged:
            for name, data in adapter_files("new", seed=2).items():
                (staged / name).write_bytes(data)
    monkeypatch.undo()
    assert _digest(dest) == old
    _only_the_adapter_left(dest)


# --- the library database ------------------------------------------------------------------------


@pytest.fixture
def library_with_history(tmp_path):
    db = tmp_path / "library.sqlite3"
    lib = Library(db)
    lib.add_book(BookRecord(content_hash=BOOK_HASH, path=str(tmp_path / "book.txt"), title="Ledger"))
    for i in range(20):
        lib.add_message(BOOK_HASH, "user", f"question {i}")
    yield db, lib
    lib.close()


def test_library_disk_full_keeps_what_was_saved(library_with_history):
    db, lib = library_with_history
    with lib.read() as conn:  # SQLite's own "disk full": the file may not grow any more
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(StoreError, match="disk full while saving the library"):
        for i in range(200):
            lib.add_message(BOOK_HASH, "assistant", "x" * 50_000 + str(i))
    assert [m.content for m in lib.list_messages(BOOK_HASH)][:20] == [f"question {i}" for i in range(20)]
    assert integrity_check(db) == "ok"
    with lib.read() as conn:  # space freed: writing works again, on the same connection
        conn.execute("PRAGMA max_page_count = 1073741823")
    lib.add_message(BOOK_HASH, "user", "after the disk was cleaned up")
    assert lib.list_messages(BOOK_HASH)[-1].content == "after the disk was cleaned up"


def test_library_read_only_keeps_what_was_saved(library_with_history):
    db, lib = library_with_history
    with lib.read() as conn:
        conn.execute("PRAGMA query_only = 1")  # every write now fails the way a read-only file does
    for write in (lambda: lib.add_message(BOOK_HASH, "user", "lost?"),
                  lambda: lib.set_last_page(BOOK_HASH, 5),
                  lambda: lib.add_book(BookRecord(content_hash="ef" * 32, path="/x", title="Other"))):
        with pytest.raises(StoreError, match="read-only") as err:
            write()
        assert "\n" not in str(err.value)
    assert len(lib.list_messages(BOOK_HASH)) == 20
    assert integrity_check(db) == "ok"


def test_library_file_that_cannot_be_opened(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        err = sqlite3.OperationalError("unable to open database file")
        err.sqlite_errorcode = sqlite3.SQLITE_CANTOPEN
        raise err

    monkeypatch.setattr(sqlite3, "connect", refuse)
    with pytest.raises(StoreError, match="cannot open the library database"):
        Library(tmp_path / "library.sqlite3")


# --- through the CLI ---------------------------------------------------------------------------------


def test_cli_add_on_a_full_disk_is_one_line_and_changes_nothing(lift_home, capsys, monkeypatch):
    first = run_cli_in_process(["add", str(SAMPLE_STORY)], capsys, monkeypatch)
    assert first.code == 0, first.err
    other = lift_home.parent / "other-book.txt"
    other.write_text("Another book entirely, about tides. " * 40, encoding="utf-8")

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)  # the text cache cannot be written
    result = run_cli_in_process(["add", str(other)], capsys, monkeypatch)
    assert_one_line_error(result.err, code=result.code, expected_code=1)
    assert "disk full while saving" in result.err
    monkeypatch.setattr(os, "fsync", lambda fd: None)
    with Library(lift_home / "library.sqlite3") as lib:
        assert [b.title for b in lib.list_books()] == [b.title for b in lib.list_books()[:1]]
        assert len(lib.list_books()) == 1
    assert integrity_check(lift_home / "library.sqlite3") == "ok"
    assert not [p for p in (lift_home / "cache" / "books").iterdir() if p.name.startswith(".")]


def test_cli_on_a_read_only_data_folder_is_one_line(tmp_path, capsys, monkeypatch):
    home = tmp_path / "not-yet-created"
    monkeypatch.setenv("LIFT_READER_HOME", str(home))
    real_mkdir = Path.mkdir

    def read_only(self, *args, **kwargs):
        if self == home or home in self.parents:
            raise OSError(errno.EROFS, "Read-only file system")
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", read_only)
    for argv in (["books"], ["add", str(SAMPLE_STORY)]):
        result = run_cli_in_process(argv, capsys, monkeypatch)
        assert_one_line_error(result.err, code=result.code, expected_code=1)
        assert "read-only" in result.err
