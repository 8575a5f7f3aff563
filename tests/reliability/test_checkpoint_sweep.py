"""What a killed memorize run leaves in checkpoints/ is swept, and never counts as a run to resume."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from lift_reader.core.memorize.checkpoints import (
    OPTIMIZER_FILE, RNG_FILE, STATE_FILE, WEIGHTS_FILE, read_state, remove_checkpoint, sweep_checkpoints,
)
from lift_reader.core.memorize.settings import MemorizeSettings, job_key
from lift_reader.core.workspace import Workspace
from lift_reader.store.adapters import AdapterMeta, write_meta
from lift_reader.store.atomic import recover_folder
from lift_reader.store.library import Library
from lift_reader.store.paths import adapters_dir, checkpoints_dir
from lift_reader.store.records import BookRecord

BOOK = "ab" * 32
GONE_BOOK = "cd" * 32
FINGERPRINT = "fp-tiny"


def _checkpoint(folder: Path, key: str, step: int = 5, book_hash: str = BOOK, **state) -> Path:
    """A checkpoint folder as save_checkpoint leaves it (file contents do not matter here)."""
    folder.mkdir(parents=True)
    for name in (WEIGHTS_FILE, OPTIMIZER_FILE, RNG_FILE):
        (folder / name).write_bytes(b"x")
    (folder / STATE_FILE).write_text(json.dumps({"job_key": key, "step": step, "book_hash": book_hash, **state}))
    return folder


def _dead_pid() -> int:
    """The pid of a process that has ended (a child we waited for)."""
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(child.stdout)


def test_staging_folders_of_ended_processes_are_swept_at_once_and_running_ones_kept(tmp_path):
    dest = _checkpoint(tmp_path / "job", "job")
    killed = tmp_path / f".job.staging-{_dead_pid()}-abcd"
    running = tmp_path / f".job.staging-{os.getppid()}-abcd"  # our parent runs: its save may be under way
    for folder in (killed, running):
        folder.mkdir()
        (folder / WEIGHTS_FILE).write_bytes(b"half")
    recover_folder(dest)
    assert not killed.exists()
    assert running.exists()


def test_sweep_keeps_runs_and_removes_what_is_no_run(tmp_path):
    run = _checkpoint(tmp_path / "run", "run")
    half_removed = _checkpoint(tmp_path / "half", "half")
    (half_removed / WEIGHTS_FILE).unlink()  # a clean-up killed midway: state.json alone is no run
    assert read_state(half_removed) is None
    removing = _checkpoint(tmp_path / ".done.removing-1234", "done")
    killed_save = _checkpoint(tmp_path / f".run.staging-{_dead_pid()}-ab12", "run", step=10)
    orphan = _checkpoint(tmp_path / "orphan", "orphan")

    removed = sweep_checkpoints(tmp_path, lambda folder, state: state.job_key == "orphan")

    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    assert {half_removed, removing, orphan} <= set(removed)
    assert read_state(run).step == 5 and not killed_save.exists()


def test_remove_checkpoint_leaves_nothing_that_looks_like_a_run(tmp_path):
    folder = _checkpoint(tmp_path / "job", "job")
    remove_checkpoint(folder)
    assert list(tmp_path.iterdir()) == []


def _adapter(lib: Library, settings: MemorizeSettings) -> None:
    folder = adapters_dir() / "ledger"
    folder.mkdir()
    write_meta(folder, AdapterMeta(name="Ledger", base_model={"id": "tiny", "fingerprint": FINGERPRINT},
                                   book_hash=BOOK, settings=settings.as_dict()))
    lib.record_adapter("Ledger", BOOK, "tiny", folder, steps=5, final_loss=1.0, size_bytes=1,
                       settings=settings.as_dict())


def test_workspace_sweeps_runs_of_removed_books_and_runs_whose_adapter_was_saved_after_them(tmp_path):
    lib = Library()
    lib.add_book(BookRecord(content_hash=BOOK, path=str(tmp_path / "ledger.txt"), title="Ledger"))
    settings = MemorizeSettings()
    key = job_key(BOOK, FINGERPRINT, settings)
    root = checkpoints_dir()
    died_before_clean_up = _checkpoint(root / key, key)
    os.utime(died_before_clean_up / STATE_FILE, (1, 1))  # its last checkpoint came before the adapter
    other = MemorizeSettings(epochs=3)
    other_key = job_key(BOOK, FINGERPRINT, other)
    paused = _checkpoint(root / other_key, other_key)
    removed_book = _checkpoint(root / "gone", "gone", book_hash=GONE_BOOK)
    _adapter(lib, settings)

    Workspace(lib).sweep_checkpoints()

    assert not died_before_clean_up.exists() and not removed_book.exists()
    assert read_state(paused) is not None


def test_a_run_started_again_after_its_adapter_was_saved_is_kept(tmp_path):
    lib = Library()
    lib.add_book(BookRecord(content_hash=BOOK, path=str(tmp_path / "ledger.txt"), title="Ledger"))
    settings = MemorizeSettings()
    _adapter(lib, settings)
    key = job_key(BOOK, FINGERPRINT, settings)
    again = _checkpoint(checkpoints_dir() / key, key)
    os.utime(again / STATE_FILE, (4e9, 4e9))  # written after the adapter
    Workspace(lib).sweep_checkpoints()
    assert read_state(again) is not None


def test_paused_runs_are_the_library_books_runs_on_this_base_model_newest_first(tmp_path):
    lib = Library()
    lib.add_book(BookRecord(content_hash=BOOK, path=str(tmp_path / "ledger.txt"), title="Ledger"))
    root = checkpoints_dir()
    older, newer = MemorizeSettings(epochs=2), MemorizeSettings(epochs=3, learning_rate=5e-4)
    for settings, step, when in ((older, 4, 1e9), (newer, 7, 2e9)):
        key = job_key(BOOK, FINGERPRINT, settings)
        folder = _checkpoint(root / key, key, step=step, total_steps=20, settings=settings.as_dict(),
                             loss_curve=[[s, 9.0 - s / 10] for s in range(1, step + 1)])
        os.utime(folder / STATE_FILE, (when, when))
    other_model = job_key(BOOK, "another-model", older)
    _checkpoint(root / other_model, other_model, settings=older.as_dict())
    removed_book = job_key(GONE_BOOK, FINGERPRINT, older)
    _checkpoint(root / removed_book, removed_book, book_hash=GONE_BOOK, settings=older.as_dict())
    _checkpoint(root / "half", "half", settings=older.as_dict())
    (root / "half" / RNG_FILE).unlink()

    runs = Workspace(lib).paused_runs(FINGERPRINT)

    assert [(run.settings, run.step) for run in runs] == [(newer, 7), (older, 4)]  # the settings Resume must use
    assert runs[0].record.title == "Ledger" and runs[0].fraction == 7 / 20
    assert runs[0].loss_curve[0] == (1, 8.9) and len(runs[0].loss_curve) == 7
