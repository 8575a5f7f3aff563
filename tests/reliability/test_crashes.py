"""Crashes lose nothing: SIGKILL while chat messages are written, and while an adapter folder is saved.

The killed processes are real children (``crash_worker.py``); SIGKILL gives
them no chance to clean up, as when the machine loses power to the app or the
kernel's out-of-memory killer picks it.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from crash_worker import KILL_POINTS, adapter_files
from rel_helpers import REPO, integrity_check

from lift_reader.errors import StoreError
from lift_reader.store.adapters import read_meta, validate_adapter_folder
from lift_reader.store.atomic import STALE_STAGING_S, recover_folder, staging_folder
from lift_reader.store.library import Library
from lift_reader.store.records import BookRecord

WORKER = Path(__file__).with_name("crash_worker.py")
CHAT_KILLS = 6
BOOK_HASH = "ab" * 32


def _spawn(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(WORKER), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=REPO)


def _answer_text(n: int, pieces: int) -> str:
    return "".join(f"piece {p} of answer {n}. " for p in range(pieces))


def test_sigkill_while_writing_chat_loses_no_committed_message(tmp_path):
    db = tmp_path / "library.sqlite3"
    with Library(db) as lib:
        lib.add_book(BookRecord(content_hash=BOOK_HASH, path=str(tmp_path / "ledger.txt"), title="Ledger"))
        lib.add_message(BOOK_HASH, "user", "written before any crash")
    watcher = Library(db)  # a second connection open throughout, like the GUI beside a CLI run
    rng = random.Random(11)
    added: set[int] = set()
    lengths: dict[int, int] = {}
    done: set[int] = set()
    kills = 0
    try:
        for _ in range(CHAT_KILLS):
            proc = _spawn("chat", str(db), BOOK_HASH)
            target = rng.randint(3, 150)  # commits reported before the kill: a different moment each round
            deadline = time.monotonic() + 60
            for _ in range(target):
                line = proc.stdout.readline()
                if not line:
                    proc.wait()
                    pytest.fail(f"the chat writer died by itself: {proc.stderr.read()}")
                kind, *rest = line.split()
                if kind == "C":
                    added.add(int(rest[0]))
                elif kind == "U":
                    lengths[int(rest[0])] = int(rest[1])
                else:
                    done.add(int(rest[0]))
                assert time.monotonic() < deadline
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            proc.stdout.close()
            proc.stderr.close()
            assert proc.returncode == -signal.SIGKILL
            kills += 1

            assert integrity_check(db) == "ok"
            with Library(db) as lib:  # reopened after the crash, as the next app start would
                assert lib.journal_mode() == "wal"
                messages = {m.id: m for m in lib.list_messages(BOOK_HASH)}
            assert added <= set(messages), "a committed message is missing"
            assert all(len(messages[mid].content) >= n for mid, n in lengths.items()), "a committed update is lost"
            assert all(messages[mid].complete for mid in done)
            assert len(watcher.list_messages(BOOK_HASH)) >= len(added)  # the open connection sees them too
    finally:
        watcher.close()
    with Library(db) as lib:
        messages = lib.list_messages(BOOK_HASH)
    assert messages[0].content == "written before any crash"
    # No torn writes: every answer is a whole number of pieces of the text it was streaming.
    for m in messages[1:]:
        if m.role == "assistant" and m.content:
            n = int(re.search(r"answer (\d+)", m.content).group(1))
            assert any(m.content.strip() == _answer_text(n, k).strip() for k in range(1, 13)), m.content
    assert kills == CHAT_KILLS and len(added) > CHAT_KILLS


# --- adapter folders --------------------------------------------------------------------------


def _write_folder(folder: Path, files: dict[str, bytes]) -> None:
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.mark.parametrize("point", KILL_POINTS)
def test_sigkill_while_saving_an_adapter_keeps_the_previous_one(tmp_path, point):
    dest = tmp_path / "adapters" / "ledger-0123abcd"
    _write_folder(dest, adapter_files("old", seed=1))
    old = _digest(dest)
    proc = _spawn("save", str(dest), point)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL, (out, err)
    leftovers = sorted(p.name.split(".")[-1].split("-")[0] for p in dest.parent.iterdir() if p.name.startswith("."))
    if point == "between-renames":  # the crash window this test is about: no folder at dest at all
        assert not dest.exists() and leftovers == ["old", "staging"]
    elif point == "after-swap":
        assert leftovers == ["old"]
    else:
        assert leftovers == ["staging"] and _digest(dest) == old

    # What the app does when it next reads the adapter (recovers a swap cut in half).
    validate_adapter_folder(dest)
    expected = "new" if point == "after-swap" else "old"
    assert read_meta(dest).book_title == expected
    if expected == "old":
        assert _digest(dest) == old, "the previous adapter was damaged"
    else:
        assert _digest(dest) == {name: hashlib.sha256(data).hexdigest()
                                 for name, data in sorted(adapter_files("new", seed=2).items())}
    # Whatever the crash left is hidden (a dot name) and never taken for an adapter.
    visible = [p.name for p in dest.parent.iterdir() if not p.name.startswith(".")]
    assert visible == [dest.name]
    # The next save works and tidies up the leftovers of finished swaps.
    with staging_folder(dest) as staged:
        for name, data in adapter_files("third", seed=3).items():
            (staged / name).write_bytes(data)
    assert read_meta(dest).book_title == "third"
    assert not list(dest.parent.glob(".*.old-*"))


def test_stale_staging_folders_are_removed_on_the_next_save(tmp_path):
    dest = tmp_path / "adapters" / "ledger"
    _write_folder(dest, adapter_files("old", seed=1))
    stale = dest.with_name(".ledger.staging-crashed")
    _write_folder(stale, {"adapter_model.safetensors": b"half"})
    recent = dest.with_name(".ledger.staging-running")
    _write_folder(recent, {"adapter_model.safetensors": b"being written"})
    long_ago = time.time() - STALE_STAGING_S - 60
    os.utime(stale, (long_ago, long_ago))
    with staging_folder(dest) as staged:
        for name, data in adapter_files("new", seed=2).items():
            (staged / name).write_bytes(data)
    assert not stale.exists()
    assert recent.exists(), "a staging folder of a save that may still be running was deleted"


def test_recover_folder_puts_back_the_newest_previous_version(tmp_path):
    dest = tmp_path / "a"
    _write_folder(tmp_path / ".a.old-1111", {"v": b"older"})
    _write_folder(tmp_path / ".a.old-2222", {"v": b"newer"})
    os.utime(tmp_path / ".a.old-1111", (1, 1))
    assert recover_folder(dest) is True
    assert (dest / "v").read_bytes() == b"newer"
    assert recover_folder(dest) is False  # nothing more to do; the older leftover is tidied away
    assert not (tmp_path / ".a.old-1111").exists()


def test_a_crash_between_the_renames_of_a_checkpoint_is_recovered(tmp_path):
    """Checkpoints use the same staging folders: recovering them keeps the run resumable."""
    from lift_reader.core.memorize.checkpoints import OPTIMIZER_FILE, RNG_FILE, STATE_FILE, WEIGHTS_FILE, read_state

    folder = tmp_path / "checkpoints" / "job"
    _write_folder(folder, {STATE_FILE: json.dumps({"job_key": "job", "step": 7}).encode(),
                           WEIGHTS_FILE: b"w", OPTIMIZER_FILE: b"o", RNG_FILE: b"r"})
    os.replace(folder, folder.with_name(".job.old-abcd1234"))  # the crash: aside, new one not yet in
    assert read_state(folder).step == 7


def test_failure_inside_a_save_is_a_store_error_and_keeps_the_previous_one(tmp_path):
    dest = tmp_path / "adapters" / "ledger"
    _write_folder(dest, adapter_files("old", seed=1))
    old = _digest(dest)
    with pytest.raises(StoreError, match="disk full while saving"):
        with staging_folder(dest) as staged:
            (staged / "adapter_model.safetensors").write_bytes(b"partial")
            raise OSError(28, "No space left on device")
    assert _digest(dest) == old
    assert [p.name for p in dest.parent.iterdir()] == [dest.name]
