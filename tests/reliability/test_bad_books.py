"""Bad books never crash the loader or the CLI, and never harm the library.

Every case of the corpus (``corpus.py``, 100+ files built here) goes through
``open_book`` and through ``lift-reader add`` (in-process, so the whole corpus
takes seconds); a handful also run as real subprocesses.  After each CLI run
the library must pass SQLite's integrity check and still list the books added
before.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import shutil
import time
from collections import Counter
from pathlib import Path

import pytest
from corpus import SEED_TEXT, SENTENCE, build_corpus
from rel_helpers import SAMPLE_STORY, assert_one_line_error, integrity_check, run_cli, run_cli_in_process

from lift_reader.core.text.documents import open_book
from lift_reader.errors import BadInputError, CorruptBookError, NotFoundError, PasswordRequiredError
from lift_reader.store.library import Library
from lift_reader.store.records import BookRecord


def _by_name(corpus, name):
    return next(case for case in corpus if case.name == name)


def _check_loaded(book) -> None:
    assert book.text.strip() and book.text == book.text.strip()
    assert book.page_starts[0] == 0 and book.page_starts == sorted(book.page_starts)
    assert book.page_starts[-1] <= len(book.text)
    assert book.title and book.title.isprintable() and "\n" not in book.title
    assert book.author.isprintable()
    assert all(0 <= entry.offset <= len(book.text) for entry in book.toc)


def _reset_peak_memory() -> None:
    """Reset the kernel's high-water mark, so that the peak is this load's and not the
    test process's lifetime's (which includes every model earlier tests loaded)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def _peak_memory_kb() -> int | None:
    """VmHWM since the last reset, in KB (None where /proc is missing)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


# The case names, known at collection time (listing them writes nothing).
CASE_NAMES = [case.name for case in build_corpus(Path("unused"), write=False)]


def test_the_corpus_is_large_and_varied(corpus):
    assert len(corpus) >= 50
    categories = Counter(case.category for case in corpus)
    assert len(categories) >= 12, categories
    assert {case.name for case in corpus} == set(CASE_NAMES)


@pytest.mark.parametrize("name", CASE_NAMES)
def test_open_book_refuses_clearly_or_loads_sensibly(corpus, name):
    case = _by_name(corpus, name)
    _reset_peak_memory()
    started = time.monotonic()
    try:
        book = open_book(case.path, password=case.password)
    except BadInputError as err:
        assert case.expect in ("error", "either"), f"{case.name} should load, got {err!r}"
        if case.error is not None:
            assert isinstance(err, case.error), f"{case.name}: {err!r}"
        message = str(err)
        assert message and message.isprintable() and len(message) < 500, repr(message)
        if case.message:
            assert case.message in message
    else:
        assert case.expect in ("load", "either"), f"{case.name} should be refused but loaded"
        _check_loaded(book)
        if name == "ten-million-chars":  # loads whole, its chapter headings found, without a memory blow-up
            assert len(book.text) >= 9_900_000 and book.page_count > 1000 and len(book.toc) >= 40
            peak = _peak_memory_kb()
            if peak is not None:  # under 3 GB at peak while loading
                assert peak < 3 * 2**20
    # Generous: the 20 MB line takes ~5 s on a 2-core machine, ~10 s when it is busy.
    assert time.monotonic() - started < 60


# --- the CLI, in-process ---------------------------------------------------------------


@pytest.fixture(scope="module")
def shared_home(tmp_path_factory) -> Path:
    """One data folder for the whole corpus run, holding two good books added first."""
    home = tmp_path_factory.mktemp("shared-home")
    previous = os.environ.get("LIFT_READER_HOME")
    os.environ["LIFT_READER_HOME"] = str(home)
    try:
        from lift_reader.core.workspace import Workspace

        ws = Workspace(progress=lambda message: None)
        ws.add_book(SAMPLE_STORY)
        second = home.parent / "second-book.md"
        second.write_text("# Second Book\n\n" + SEED_TEXT, encoding="utf-8")
        ws.add_book(second)
        ws.library.close()
    finally:
        if previous is None:
            del os.environ["LIFT_READER_HOME"]
        else:
            os.environ["LIFT_READER_HOME"] = previous
    return home


def _earlier_books_intact(home: Path) -> None:
    assert integrity_check(home / "library.sqlite3") == "ok"
    with Library(home / "library.sqlite3") as lib:
        titles = {book.title for book in lib.list_books()}
    assert "Second Book" in titles and any("Lighthouse" in t for t in titles), titles


@pytest.mark.parametrize("name", CASE_NAMES)
def test_cli_add_exits_2_with_one_line_and_keeps_the_library(corpus, name, shared_home, capsys, monkeypatch):
    case = _by_name(corpus, name)
    monkeypatch.setenv("LIFT_READER_HOME", str(shared_home))
    argv = ["add"] + (["--password", case.password] if case.password else []) + ["--", str(case.path)]
    result = run_cli_in_process(argv, capsys, monkeypatch)
    assert "Traceback" not in result.out + result.err
    if result.code == 0:
        assert case.expect in ("load", "either"), f"{case.name} was added: {result.out}"
        assert result.out.startswith("added ") and result.err == ""
    else:
        assert case.expect in ("error", "either"), f"{case.name} should be added: {result.err}"
        assert_one_line_error(result.err, code=result.code)
        if case.error is PasswordRequiredError:
            assert "--password" in result.err
    _earlier_books_intact(shared_home)


def test_argparse_refusals_are_exit_2(tmp_path, capsys, monkeypatch):
    """A file name that looks like an option: argparse refuses (exit 2); `--` or ./ makes it work."""
    dash = tmp_path / "-rf.txt"
    dash.write_text(SEED_TEXT, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    refused = run_cli_in_process(["add", "-rf.txt"], capsys, monkeypatch)
    assert refused.code == 2 and "Traceback" not in refused.err
    for argv in (["add", "--", "-rf.txt"], ["add", "./-rf.txt"]):
        added = run_cli_in_process(argv, capsys, monkeypatch)
        assert added.code == 0, added.err


# --- the CLI, as real subprocesses (a representative handful) -------------------------------


def test_cli_subprocesses_exit_2_with_one_line(corpus, tmp_path, lift_home):
    """Two real `python -m lift_reader add` runs, concurrently (each pays the import of torch)."""
    bad_name = tmp_path / "cut short\n(2).pdf"
    shutil.copy(_by_name(corpus, "pdf-truncated-50").path, bad_name)
    runs = {
        "newline-name-pdf": ["add", str(bad_name)],
        "zip-bomb": ["add", "--", str(_by_name(corpus, "epub-zip-bomb-spaces").path)],
    }
    with Library(lift_home / "library.sqlite3") as lib:  # a book added earlier
        lib.add_book(BookRecord(content_hash="ab" * 32, path=str(SAMPLE_STORY), title="Earlier"))
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(runs)) as pool:
        futures = {key: pool.submit(run_cli, *argv, home=lift_home) for key, argv in runs.items()}
        results = {key: future.result() for key, future in futures.items()}
    for key, result in results.items():
        assert "Traceback" not in result.stdout + result.stderr, (key, result.stderr)
        assert_one_line_error(result.stderr, code=result.returncode)
    assert "cut short\\n(2).pdf" in results["newline-name-pdf"].stderr
    assert "zip bomb" in results["zip-bomb"].stderr
    assert integrity_check(lift_home / "library.sqlite3") == "ok"
    with Library(lift_home / "library.sqlite3") as lib:
        assert [book.title for book in lib.list_books()] == ["Earlier"]


# --- files removed or changed after they were added -----------------------------------------


@pytest.fixture
def added_book(tmp_path, lift_home):
    from lift_reader.core.workspace import Workspace

    path = tmp_path / "ledger.txt"
    path.write_text("The Ledger\n\n" + f"{SENTENCE} " * 40, encoding="utf-8")
    ws = Workspace(progress=lambda message: None)
    record = ws.add_book(path)
    ws.library.close()
    return path, record


def _cache_file(home: Path, content_hash: str) -> Path:
    return home / "cache" / "books" / f"{content_hash}.json"


def _fresh_workspace():
    from lift_reader.core.workspace import Workspace

    return Workspace(progress=lambda message: None)


def test_removed_file_is_served_from_the_text_cache(added_book):
    path, record = added_book
    path.unlink()
    ws = _fresh_workspace()
    assert ws.library.find_book(str(path)).content_hash == record.content_hash  # still found by its old path
    assert SENTENCE in ws.book_text(record).text


def test_removed_file_without_cache_is_a_clear_error(added_book, lift_home):
    path, record = added_book
    path.unlink()
    _cache_file(lift_home, record.content_hash).unlink()
    with pytest.raises(NotFoundError) as err:
        _fresh_workspace().book_text(record)
    assert "ledger.txt" in str(err.value) and "\n" not in str(err.value)


def test_changed_file_keeps_its_cached_text(added_book):
    path, record = added_book
    path.write_text("Something else entirely. " * 30, encoding="utf-8")
    assert SENTENCE in _fresh_workspace().book_text(record).text


def test_changed_file_without_cache_is_a_clear_error(added_book, lift_home):
    path, record = added_book
    path.write_text("Something else entirely. " * 30, encoding="utf-8")
    _cache_file(lift_home, record.content_hash).unlink()
    with pytest.raises(BadInputError, match="has changed since it was added"):
        _fresh_workspace().book_text(record)


def test_file_replaced_by_garbage_without_cache_is_a_clear_error(added_book, lift_home):
    path, record = added_book
    path.write_bytes(os.urandom(5000))
    _cache_file(lift_home, record.content_hash).unlink()
    with pytest.raises(CorruptBookError):
        _fresh_workspace().book_text(record)


def test_damaged_text_cache_falls_back_to_the_file(added_book, lift_home):
    path, record = added_book
    cache = _cache_file(lift_home, record.content_hash)
    for damage in (b"", b"\x00garbage{", b'{"text": "other", "page_starts": [0], "title": "x", "author": "", '
                   b'"format": "txt", "source_path": "", "toc": []}'):
        cache.write_bytes(damage)
        assert SENTENCE in _fresh_workspace().book_text(record).text
    assert json.loads(cache.read_text(encoding="utf-8"))["title"]  # rewritten from the file


_FULL_SHAPE = '"page_starts": [0], "title": "t", "author": "", "format": "txt", "source_path": "", "toc": []'


@pytest.mark.parametrize("damage", [
    "{}", "[]", "null", '{"text": 5}', '{"text": "x", "page_starts": [0], "title": "t"}',
    '{"text": 5, ' + _FULL_SHAPE + "}",
])
def test_wrong_shaped_text_cache_falls_back_to_the_file(added_book, lift_home, damage):
    path, record = added_book
    _cache_file(lift_home, record.content_hash).write_text(damage, encoding="utf-8")
    assert SENTENCE in _fresh_workspace().book_text(record).text


def test_cli_add_after_the_file_changed_keeps_both_versions(added_book, lift_home, capsys, monkeypatch):
    path, record = added_book
    path.write_text("A revised edition. " * 40, encoding="utf-8")
    result = run_cli_in_process(["add", str(path)], capsys, monkeypatch)
    assert result.code == 0, result.err
    with Library(lift_home / "library.sqlite3") as lib:
        hashes = {book.content_hash for book in lib.list_books()}
    assert record.content_hash in hashes and len(hashes) == 2
    path.unlink()
    result = run_cli_in_process(["add", str(path)], capsys, monkeypatch)
    assert_one_line_error(result.err, code=result.code)
    assert integrity_check(lift_home / "library.sqlite3") == "ok"


# --- the loader's guards against books that would take forever or unpack to gigabytes -------------


def test_a_book_that_would_take_too_long_to_read_is_refused(tmp_path, monkeypatch):
    """MuPDF's cost per page grows with the chapter: a book of one giant paragraph would take hours."""
    from corpus import epub_members, zip_bytes

    from lift_reader.core.text.documents import pymupdf_loader
    from lift_reader.errors import BookTooLargeError

    path = tmp_path / "slow.epub"
    path.write_bytes(zip_bytes(epub_members(chapters=3)))
    assert open_book(path).page_count >= 2  # loads with the real budget
    monkeypatch.setattr(pymupdf_loader, "_PROJECT_AFTER_S", 0.0)
    monkeypatch.setattr(pymupdf_loader, "EXTRACT_BUDGET_S", 1e-9)
    with pytest.raises(BookTooLargeError, match="minutes to read") as err:
        open_book(path)
    assert "convert it to text first" in str(err.value)


def test_a_zip_book_that_unpacks_to_more_than_the_size_limit_is_refused(tmp_path):
    from corpus import epub_members, zip_bytes

    from lift_reader.errors import BookTooLargeError

    members = epub_members()
    members["OEBPS/filler.css"] = bytes(range(256)) * 4000  # ~1 MB: under the size where the ratio is checked
    path = tmp_path / "big.epub"
    path.write_bytes(zip_bytes(members))
    assert open_book(path).text
    with pytest.raises(BookTooLargeError, match="unpacks to"):
        open_book(path, max_bytes=path.stat().st_size + 10_000)


@pytest.mark.skipif(os.name != "posix", reason="file names that are not valid UTF-8 exist on POSIX only")
def test_a_file_name_that_is_not_utf8_is_stored_and_found_again(tmp_path, lift_home, capsys, monkeypatch):
    path = tmp_path / os.fsdecode(b"r\xe9sum\xe9 \x1b[2J.txt")  # Latin-1 bytes and a terminal escape
    path.write_text(SEED_TEXT, encoding="utf-8")
    result = run_cli_in_process(["add", str(path)], capsys, monkeypatch)
    assert result.code == 0, result.err
    assert "\x1b" not in result.out
    with Library(lift_home / "library.sqlite3") as lib:
        record = lib.find_book(str(path))
        assert record.title.isprintable() and "\x1b" not in record.title
    listing = run_cli_in_process(["books"], capsys, monkeypatch)
    assert listing.code == 0 and "\x1b" not in listing.out
