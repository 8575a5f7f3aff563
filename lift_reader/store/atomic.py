"""Crash-safe writes: a reader of a path sees the old content or the new, never half.

Files: write a temporary file in the *same* folder (so the final rename stays
on one filesystem and is atomic), fsync it, then ``os.replace`` it over the
target. Folders (adapters): build the whole folder under a staging name next
to the destination, then swap it in with two renames, keeping the previous
folder until the new one is in place.

Every ``OSError`` is turned into a ``StoreError`` with a one-line message a
reader can act on ("disk full while saving ...").
"""

from __future__ import annotations

import contextlib
import errno
import glob
import json
import os
import re
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from lift_reader.errors import LiftReaderError, StoreError

_READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)


def store_error(exc: OSError, action: str, path: Path | str) -> StoreError:
    """A StoreError for ``exc`` met while ``action`` ("saving", ...) ``path``."""
    if exc.errno == errno.ENOSPC or exc.errno == getattr(errno, "EDQUOT", None):
        return StoreError(f"disk full while {action} {path}")
    if exc.errno in _READ_ONLY:
        return StoreError(f"data folder is read-only: {path}")
    reason = exc.strerror or str(exc) or type(exc).__name__
    return StoreError(f"could not finish {action} {path}: {reason}")


@contextlib.contextmanager
def os_errors_as_store_errors(action: str, path: Path | str) -> Iterator[None]:
    """Re-raise any OSError inside the block as a readable StoreError."""
    try:
        yield
    except OSError as exc:
        raise store_error(exc, action, path) from exc


def _fsync_dir(folder: Path) -> None:
    """Make a rename inside ``folder`` durable. POSIX only; Windows cannot open dirs."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems (e.g. certain network mounts) refuse; the rename still happened
    finally:
        os.close(fd)


# --- files -------------------------------------------------------------------


@contextlib.contextmanager
def atomic_open(path: Path | str) -> Iterator[BinaryIO]:
    """Yield a binary file that replaces ``path`` only if the block succeeds.

    For writers that stream (e.g. ``zipfile``); ``atomic_write_bytes`` is the
    one-shot form. The temporary file sits in the target's folder so the
    final rename never crosses filesystems.
    """
    path = Path(path)
    with os_errors_as_store_errors("saving", path):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as fh:
                yield fh
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            # Any failure (including KeyboardInterrupt) leaves the old file and
            # no stray temp file behind.
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        _fsync_dir(path.parent)


def atomic_write_bytes(path: Path | str, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically (creates parent folders)."""
    with atomic_open(path) as fh:
        fh.write(data)


def atomic_write_text(path: Path | str, text: str) -> None:
    """Replace ``path`` with UTF-8 ``text`` atomically (no newline translation)."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path | str, obj: Any) -> None:
    """Replace ``path`` with ``obj`` as indented, strict JSON.

    Serialised before anything touches the disk, so an unserialisable object
    (or NaN, which strict JSON forbids) raises without harming the old file.
    Strings that are not valid Unicode (lone surrogates) are written as
    escapes and read back unchanged.
    """
    text = json.dumps(obj, ensure_ascii=False, indent=2, allow_nan=False) + "\n"
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate (an undecodable byte in a file name, kept by
        # Python as U+DC80-U+DCFF) cannot be UTF-8; as a JSON escape it can,
        # and json.loads gives back the very same string.
        data = (json.dumps(obj, ensure_ascii=True, indent=2, allow_nan=False) + "\n").encode("ascii")
    atomic_write_bytes(path, data)


# --- folders -----------------------------------------------------------------


def _fsync_tree(folder: Path) -> None:
    """fsync every file under ``folder`` so the swap never exposes unwritten data."""
    # Windows can only flush a handle opened for writing.
    flags = os.O_RDONLY if os.name == "posix" else os.O_RDWR
    for root, _dirs, files in os.walk(folder):
        for name in files:
            fd = os.open(Path(root) / name, flags)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def _aside_name(dest: Path, tag: str) -> Path:
    return dest.with_name(f".{dest.name}.{tag}-{secrets.token_hex(4)}")


def replace_folder(staged: Path | str, dest: Path | str, *, overwrite: bool = True) -> None:
    """Put the fully written folder ``staged`` at ``dest`` atomically.

    ``staged`` must sit on the same filesystem as ``dest`` (use
    ``staging_folder``). If ``dest`` exists it is renamed aside first, the new
    folder renamed in, and only then the old one deleted; if the second rename
    fails the old folder is put back. A crash between the two renames leaves
    the old folder under a hidden ``.<name>.old-*`` name, never a mix of both.
    With ``overwrite=False`` an existing ``dest`` raises StoreError instead.
    """
    staged, dest = Path(staged), Path(dest)
    with os_errors_as_store_errors("saving", dest):
        if not staged.is_dir():
            raise StoreError(f"nothing to save: staging folder {staged} is missing")
        _fsync_tree(staged)
        if not dest.exists():
            os.replace(staged, dest)
            _fsync_dir(dest.parent)
            return
        if not overwrite:
            raise StoreError(f"cannot save: {dest} already exists")
        if not dest.is_dir():
            raise StoreError(f"cannot replace {dest}: it is a file, not a folder")
        old = _aside_name(dest, "old")
        os.replace(dest, old)
        try:
            os.replace(staged, dest)
        except BaseException:
            os.replace(old, dest)  # restore: dest is as it was before the call
            raise
        _fsync_dir(dest.parent)
    # The new folder is in place; removing the old one is housekeeping, and a
    # failure here must not make a successful save look failed.
    shutil.rmtree(old, ignore_errors=True)


# Staging folders older than this belong to a save that crashed (saves take
# seconds to minutes); younger ones may belong to a save still running, unless
# the process named in the folder's name is gone (see _staging_owner_gone).
STALE_STAGING_S = 24 * 3600
STAGING_TAG = "staging"


def _staging_owner_gone(staged: Path) -> bool:
    """Whether the process that created ``staged`` (``.<name>.staging-<pid>-<random>``) has ended.

    A folder without a pid in its name (older versions) is never judged here,
    only by age.  Our own pid's folders are left alone: a save in this
    process cleans up after itself, even when it fails.  psutil rather than
    ``os.kill(pid, 0)``, which on Windows would terminate the process.
    """
    import psutil

    pid_text = staged.name.rpartition(f".{STAGING_TAG}-")[2].split("-", 1)[0]
    if not pid_text.isdigit() or int(pid_text) == os.getpid():
        return False
    return not psutil.pid_exists(int(pid_text))


def staging_leftovers(dest: Path | str) -> list[Path]:
    """The staging folders of ``dest`` that belong to no running save (crashed or killed ones)."""
    dest = Path(dest)
    cutoff = time.time() - STALE_STAGING_S
    return [staged for staged in dest.parent.glob(f".{glob.escape(dest.name)}.{STAGING_TAG}-*")
            if staged.is_dir() and not staged.is_symlink()
            and (staged.stat().st_mtime < cutoff or _staging_owner_gone(staged))]


def recover_folder(dest: Path | str) -> bool:
    """Repair what a crash in the middle of saving ``dest`` left behind.

    ``replace_folder`` moves the previous folder aside to ``.<name>.old-*``
    and then moves the new one in; a crash between the two renames leaves no
    folder at ``dest`` and the complete previous version under the hidden
    name.  That version is put back (the newest, if several).  Leftovers of
    finished swaps (``.old-*`` beside an existing ``dest``) and staging
    folders of crashed saves (their process is gone, or they are older than a
    day) are deleted.  Returns True when
    a previous folder was restored.  Never raises for a read-only or missing
    parent: recovery is best effort, the caller's own error says the rest.
    """
    dest = Path(dest)
    try:
        olds = [p for p in dest.parent.glob(f".{glob.escape(dest.name)}.old-*") if p.is_dir() and not p.is_symlink()]
        restored = False
        if olds and not (dest.exists() or dest.is_symlink()):
            newest = max(olds, key=lambda p: p.stat().st_mtime)
            os.replace(newest, dest)
            _fsync_dir(dest.parent)
            olds.remove(newest)
            restored = True
        if dest.exists():
            for old in olds:
                shutil.rmtree(old, ignore_errors=True)
        for staged in staging_leftovers(dest):
            shutil.rmtree(staged, ignore_errors=True)
        return restored
    except OSError:
        return False


# What safetensors (Rust) and torch.save report when a write fails: they do
# not raise OSError, but their messages carry the errno or say what failed.
_IO_FAILURE = re.compile(
    r"os error (?P<code>\d+)|\[Errno (?P<errno>\d+)\]|(?P<nospace>No space left on device|Disk quota exceeded)"
    r"|(?P<torch>PytorchStreamWriter failed writing|file write failed|inline_container\.cc)",
    re.IGNORECASE,
)


def _save_failure(exc: BaseException, dest: Path) -> StoreError | None:
    """A StoreError for a write that failed inside a staging block, or None if ``exc`` is something else."""
    if isinstance(exc, OSError):
        return store_error(exc, "saving", dest)
    if not isinstance(exc, Exception) or isinstance(exc, LiftReaderError):
        return None
    message = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
    match = _IO_FAILURE.search(message)
    if match is None:
        return None
    code = match.group("code") or match.group("errno")
    if code is not None:
        number = int(code)
    elif match.group("nospace"):
        number = errno.EDQUOT if "quota" in match.group("nospace").lower() else errno.ENOSPC
    else:
        number = errno.EIO
    return store_error(OSError(number, os.strerror(number) if code or match.group("nospace") else message), "saving",
                       dest)


@contextlib.contextmanager
def staging_folder(dest: Path | str) -> Iterator[Path]:
    """Yield an empty folder next to ``dest``; on success it becomes ``dest``.

    Usage::

        with staging_folder(adapters_dir() / slug) as tmp:
            model.save_pretrained(tmp)
            write_meta(tmp, meta)
        # here the adapter folder is complete, or untouched if the block raised

    A write failing in the block (disk full, read-only folder) is raised as
    a StoreError; other exceptions pass through unchanged.
    """
    dest = Path(dest)
    with os_errors_as_store_errors("saving", dest):
        dest.parent.mkdir(parents=True, exist_ok=True)
        recover_folder(dest)  # a crash during the last save must not make this one lose the previous folder
        # The pid in the name lets a later run tell a killed save's folder from a running one.
        tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.{STAGING_TAG}-{os.getpid()}-"))
    try:
        yield tmp
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        # A full disk or a read-only folder makes the writers in the block
        # fail (OSError, or safetensors' and torch's own errors): say so in
        # one line instead of letting a library's traceback through.
        failure = _save_failure(exc, dest)
        if failure is not None:
            raise failure from exc
        raise
    try:
        replace_folder(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
