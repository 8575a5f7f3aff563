from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from lift_reader.errors import StoreError
from lift_reader.store import atomic
from lift_reader.store.atomic import (
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    replace_folder,
    staging_folder,
)


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_writes_round_trip_and_leave_no_temp_files(tmp_path: Path) -> None:
    atomic_write_bytes(tmp_path / "sub" / "a.bin", b"\x00\x01")
    atomic_write_text(tmp_path / "b.txt", "héllo\n")
    atomic_write_json(tmp_path / "c.json", {"x": [1, 2], "é": None})
    assert (tmp_path / "sub" / "a.bin").read_bytes() == b"\x00\x01"
    assert (tmp_path / "b.txt").read_text(encoding="utf-8") == "héllo\n"
    assert json.loads((tmp_path / "c.json").read_text(encoding="utf-8")) == {"x": [1, 2], "é": None}
    assert _names(tmp_path) == ["b.txt", "c.json", "sub"]
    assert _names(tmp_path / "sub") == ["a.bin"]


def test_failed_rename_keeps_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "state.json"
    atomic_write_json(target, {"version": 1})

    def broken_replace(src, dst):
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(StoreError, match="could not finish saving"):
        atomic_write_json(target, {"version": 2})
    monkeypatch.undo()
    assert json.loads(target.read_text()) == {"version": 1}
    assert _names(tmp_path) == ["state.json"]  # the temp file was cleaned up


def test_unserialisable_json_never_touches_the_file(tmp_path: Path) -> None:
    target = tmp_path / "x.json"
    atomic_write_json(target, [1])
    with pytest.raises(ValueError):
        atomic_write_json(target, [float("nan")])
    assert json.loads(target.read_text()) == [1]


@pytest.mark.parametrize(
    ("err", "message"),
    [(errno.ENOSPC, "disk full while saving"), (errno.EROFS, "data folder is read-only"),
     (errno.EACCES, "data folder is read-only")],
)
def test_os_errors_become_readable_store_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, err: int, message: str
) -> None:
    def failing_fsync(fd: int) -> None:
        raise OSError(err, os.strerror(err))

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(StoreError, match=message) as info:
        atomic_write_bytes(tmp_path / "f", b"data")
    assert "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


def _folder(path: Path, content: str) -> Path:
    path.mkdir()
    (path / "weights.txt").write_text(content)
    return path


def test_replace_folder_swaps_in_new_and_drops_old(tmp_path: Path) -> None:
    dest = _folder(tmp_path / "dest", "old")
    staged = _folder(tmp_path / "staged", "new")
    replace_folder(staged, dest)
    assert (dest / "weights.txt").read_text() == "new"
    assert _names(tmp_path) == ["dest"]


def test_replace_folder_into_empty_place(tmp_path: Path) -> None:
    replace_folder(_folder(tmp_path / "staged", "new"), tmp_path / "dest")
    assert (tmp_path / "dest" / "weights.txt").read_text() == "new"


def test_replace_folder_restores_old_when_swap_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dest = _folder(tmp_path / "dest", "old")
    staged = _folder(tmp_path / "staged", "new")
    real_replace = os.replace
    calls = []

    def second_rename_fails(src, dst):
        calls.append((src, dst))
        if len(calls) == 2:  # 1: old aside, 2: new in (fails), 3: old back
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", second_rename_fails)
    with pytest.raises(StoreError, match="disk full"):
        replace_folder(staged, dest)
    monkeypatch.undo()
    assert (dest / "weights.txt").read_text() == "old"
    assert len(calls) == 3
    assert _names(tmp_path) == ["dest", "staged"]  # staged stays for the caller to clean up


def test_staging_folder_commits_on_success(tmp_path: Path) -> None:
    dest = _folder(tmp_path / "adapter", "old")
    with staging_folder(dest) as tmp:
        assert tmp.parent == tmp_path and tmp != dest
        (tmp / "weights.txt").write_text("new")
        assert (dest / "weights.txt").read_text() == "old"  # untouched until the block ends
    assert (dest / "weights.txt").read_text() == "new"
    assert _names(tmp_path) == ["adapter"]


def test_staging_folder_discards_on_error(tmp_path: Path) -> None:
    dest = _folder(tmp_path / "adapter", "old")
    with pytest.raises(RuntimeError), staging_folder(dest) as tmp:
        (tmp / "weights.txt").write_text("half")
        raise RuntimeError("training crashed")
    assert (dest / "weights.txt").read_text() == "old"
    assert _names(tmp_path) == ["adapter"]


def test_staging_folder_cleans_up_when_commit_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dest = _folder(tmp_path / "adapter", "old")

    def refuse(staged, dest):
        raise StoreError("data folder is read-only: x")

    monkeypatch.setattr(atomic, "replace_folder", refuse)
    with pytest.raises(StoreError), staging_folder(dest) as tmp:
        (tmp / "weights.txt").write_text("new")
    assert (dest / "weights.txt").read_text() == "old"
    assert _names(tmp_path) == ["adapter"]


def test_replace_folder_without_overwrite_refuses_existing(tmp_path: Path) -> None:
    dest = _folder(tmp_path / "dest", "old")
    with pytest.raises(StoreError, match="already exists"):
        replace_folder(_folder(tmp_path / "staged", "new"), dest, overwrite=False)
    assert (dest / "weights.txt").read_text() == "old"
