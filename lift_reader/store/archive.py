"""Sharing adapters as ``.zip`` archives.

An archive holds exactly one folder (the adapter) and only data files.
Imports come from strangers, so every member is checked *before* anything is
written: no path may leave the folder (``..``, absolute, drive letters,
backslashes), no links or special files, no pickles or unknown file types,
and sizes are capped against zip bombs. Extraction goes into a staging
folder that is validated and only then moved into place, so a refused or
broken archive never leaves a trace in the adapters folder.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from lift_reader.errors import AdapterMismatchError, NotFoundError, UnsafeArchiveError
from lift_reader.store import paths
from lift_reader.store.adapters import (
    PICKLE_SUFFIXES,
    AdapterMeta,
    adapter_folder_for,
    folder_slug,
    read_meta,
    validate_adapter_folder,
    write_meta,
)
from lift_reader.store.atomic import atomic_open, os_errors_as_store_errors, replace_folder
from lift_reader.store.records import ADAPTER_NAME_MAX

ARCHIVE_SUFFIXES = frozenset({".safetensors", ".json", ".jsonl", ".md", ".txt"})
MAX_TOTAL_BYTES = 4 * 1024**3  # a LoRA adapter for a 7B model is well under 1 GiB
MAX_MEMBERS = 1000
# Deflate tops out near 1032:1 on zeros; real weights compress ~1.1:1 and
# JSON/text ~3-10:1. Small members cannot bomb, so only larger ones are checked.
MAX_RATIO = 100
RATIO_CHECK_MIN_BYTES = 1024 * 1024
_CHUNK = 1024 * 1024
_DRIVE = re.compile(r"^[A-Za-z]:")
_COPY_SUFFIX = re.compile(r" \((\d+)\)$")


# --- export ------------------------------------------------------------------


def export_adapter(folder: Path | str, zip_path: Path | str) -> Path:
    """Write the adapter in ``folder`` to ``zip_path`` (atomically) and return it.

    Only files an import accepts are included (hidden or foreign files are
    left out), under one top-level folder named after the adapter.
    """
    folder = validate_adapter_folder(folder)
    meta = read_meta(folder)
    top = folder_slug(meta.name)
    members: list[Path] = []
    for root, dirs, files in os.walk(folder):  # does not follow links to folders
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            path = Path(root) / name
            if not name.startswith(".") and not path.is_symlink() and path.suffix.lower() in ARCHIVE_SUFFIXES:
                members.append(path)
    members.sort()
    zip_path = Path(zip_path)
    with atomic_open(zip_path) as fh, zipfile.ZipFile(fh, "w", strict_timestamps=False) as zf:
        for path in members:
            # Weights barely compress and are the bulk of the bytes: store them.
            method = zipfile.ZIP_STORED if path.suffix.lower() == ".safetensors" else zipfile.ZIP_DEFLATED
            zf.write(path, f"{top}/{path.relative_to(folder).as_posix()}", compress_type=method)
    return zip_path


# --- import ------------------------------------------------------------------


def _check_member_name(name: str) -> None:
    if "\\" in name:
        raise UnsafeArchiveError(f"archive member uses backslashes in its path: {name!r}")
    if name.startswith("/") or _DRIVE.match(name):
        raise UnsafeArchiveError(f"archive member has an absolute path: {name!r}")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise UnsafeArchiveError(f"archive member name holds control characters: {name!r}")
    parts = name.rstrip("/").split("/")
    if ".." in parts:
        raise UnsafeArchiveError(f"archive member points outside its folder: {name!r}")
    if any(part in ("", ".") for part in parts):
        raise UnsafeArchiveError(f"archive member has a malformed path: {name!r}")


def _check_archive(zf: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """Refuse anything unsafe; return the file members to extract."""
    infos = zf.infolist()
    if not infos:
        raise UnsafeArchiveError("the archive is empty")
    if len(infos) > MAX_MEMBERS:
        raise UnsafeArchiveError(f"the archive holds too many files ({len(infos)})")
    tops: set[str] = set()
    seen: set[str] = set()
    files: list[zipfile.ZipInfo] = []
    total = 0
    for info in infos:
        name = info.filename
        _check_member_name(name)
        kind = stat.S_IFMT(info.external_attr >> 16)  # unix mode, 0 if made elsewhere
        if kind == stat.S_IFLNK:
            raise UnsafeArchiveError(f"archive holds a symbolic link: {name!r}")
        if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
            raise UnsafeArchiveError(f"archive holds a special file: {name!r}")
        if info.flag_bits & 0x1:
            raise UnsafeArchiveError(f"archive member is encrypted: {name!r}")
        parts = name.rstrip("/").split("/")
        tops.add(parts[0])
        key = "/".join(parts).casefold()  # case-insensitive disks would merge these
        if key in seen:
            raise UnsafeArchiveError(f"archive holds {name!r} twice")
        seen.add(key)
        if info.is_dir():
            continue
        if len(parts) < 2:
            raise UnsafeArchiveError(f"archive must hold a single folder, found a loose file: {name!r}")
        suffix = PurePosixPath(name).suffix.lower()
        if suffix in PICKLE_SUFFIXES:
            raise UnsafeArchiveError(f"pickle-based weights are refused: {name}")
        if suffix not in ARCHIVE_SUFFIXES:
            raise UnsafeArchiveError(f"file type not allowed in an adapter archive: {name}")
        if info.file_size > RATIO_CHECK_MIN_BYTES and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise UnsafeArchiveError(f"archive member expands suspiciously (zip bomb?): {name}")
        total += info.file_size
        if total > MAX_TOTAL_BYTES:
            raise UnsafeArchiveError("the archive unpacks to more than 4 GiB")
        files.append(info)
    if len(tops) != 1:
        raise UnsafeArchiveError("the archive must hold exactly one top-level folder")
    return files


def _extract(zf: zipfile.ZipFile, files: list[zipfile.ZipInfo], staging: Path) -> None:
    """Copy the checked members into ``staging``, dropping the top-level folder."""
    root = staging.resolve()
    for info in files:
        target = staging.joinpath(*info.filename.split("/")[1:])
        # Belt and braces: the name checks already rule this out.
        if not target.resolve().is_relative_to(root):
            raise UnsafeArchiveError(f"archive member points outside its folder: {info.filename!r}")
        target.parent.mkdir(parents=True, exist_ok=True)
        written = 0
        with zf.open(info) as src, open(target, "xb") as dst:
            while chunk := src.read(_CHUNK):
                written += len(chunk)
                if written > info.file_size:  # the header lied about the size
                    raise UnsafeArchiveError(f"archive member is larger than it claims: {info.filename}")
                dst.write(chunk)


def _free_name(name: str, parent: Path, existing_names: Iterable[str]) -> str:
    """``name``, or ``name (2)``, ``name (3)``... whichever is not yet taken."""
    taken = {n.casefold() for n in existing_names}
    candidate, base, n = name, _COPY_SUFFIX.sub("", name), 2
    while candidate.casefold() in taken or adapter_folder_for(candidate, parent).exists():
        suffix = f" ({n})"
        candidate = base[: ADAPTER_NAME_MAX - len(suffix)].rstrip() + suffix
        n += 1
    return candidate


def _check_base(meta: AdapterMeta, fingerprint: str | None, model_name: str | None) -> None:
    if fingerprint is None or meta.base_fingerprint == fingerprint:
        return
    current = f"{model_name} " if model_name else ""
    raise AdapterMismatchError(
        f"adapter {meta.name!r} was trained on base model {meta.base_model_id} "
        f"(fingerprint {meta.base_fingerprint[:12]}), but the current model {current}"
        f"has fingerprint {fingerprint[:12]}"
    )


def import_adapter(
    zip_path: Path | str,
    dest_parent: Path | str | None = None,
    *,
    expected_base_fingerprint: str | None = None,
    expected_base_model: str | None = None,
    existing_names: Iterable[str] = (),
) -> Path:
    """Unpack an adapter archive into ``dest_parent`` (default: the adapters folder).

    Returns the new adapter folder. If the name is already used (by a folder
    there or by one of ``existing_names``, e.g. the library's adapter names)
    the adapter is renamed "name (2)" etc. in its metadata. With
    ``expected_base_fingerprint`` an adapter for another base model raises
    AdapterMismatchError (``expected_base_model`` names it in the message).
    Registering the result in the library is the caller's job.
    """
    zip_path = Path(zip_path)
    if not zip_path.is_file():
        raise NotFoundError(f"no such file: {zip_path}")
    parent = Path(dest_parent) if dest_parent is not None else paths.adapters_dir()
    try:
        zf = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, zlib.error, ValueError, EOFError) as exc:
        raise UnsafeArchiveError(f"not an adapter archive (not a valid zip file): {zip_path}") from exc
    with zf:
        files = _check_archive(zf)
        with os_errors_as_store_errors("importing", zip_path):
            parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(dir=parent, prefix=".import-"))
        try:
            try:
                with os_errors_as_store_errors("importing", zip_path):
                    _extract(zf, files, staging)
            except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
                raise UnsafeArchiveError(f"the archive is damaged ({exc}): {zip_path}") from exc
            validate_adapter_folder(staging)
            meta = read_meta(staging)
            _check_base(meta, expected_base_fingerprint, expected_base_model)
            name = _free_name(meta.name, parent, existing_names)
            if name != meta.name:
                meta.name = name
                write_meta(staging, meta)
            dest = adapter_folder_for(name, parent)
            replace_folder(staging, dest, overwrite=False)  # never clobber a concurrent import
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return dest
