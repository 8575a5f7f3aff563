"""Checks on ZIP-based books (EPUB, CBZ, XPS) before MuPDF unpacks them.

MuPDF reads each member it needs whole into memory, allocating the size the
ZIP's directory declares (a member that inflates to more is an error, so the
declared sizes bound the memory).  A 200 KB EPUB can declare a 200 MB
chapter of spaces; one a little larger takes gigabytes.  So the directory is
read first and a book whose members expand suspiciously, or too much in
total, is refused before anything is unpacked.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

from lift_reader.errors import BookError, BookTooLargeError, CorruptBookError

# Text compresses 3-10:1, images and fonts barely; deflate tops out near
# 1032:1 on runs of one byte.  Small members cannot hurt, so only members
# above the minimum are checked.
MAX_RATIO = 100
RATIO_CHECK_MIN_BYTES = 1024 * 1024
MAX_MEMBERS = 100_000


def check_zip_book(path: Path, format_name: str, *, max_bytes: int) -> None:
    """Refuse a ZIP-based book that is broken or would expand into a zip bomb.

    ``max_bytes`` caps the total declared size of the members (the same cap
    as the file size of any book).
    """
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, zlib.error, ValueError, EOFError, NotImplementedError) as err:
        raise CorruptBookError(
            f"{path.name} is not a valid {format_name} file (its ZIP structure is broken; "
            "was the download cut short?)."
        ) from err
    except OSError as err:
        raise BookError(f"{path.name} could not be read: {err.strerror or err}.") from err
    if len(infos) > MAX_MEMBERS:
        raise CorruptBookError(f"{path.name} holds {len(infos):,} files; that is not a {format_name} book.")
    total = 0
    for info in infos:
        if info.file_size > RATIO_CHECK_MIN_BYTES and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise CorruptBookError(
                f"{path.name} is not a usable {format_name} file: {info.filename[:80]!r} would expand "
                f"{info.file_size // max(info.compress_size, 1):,} times (a zip bomb?)."
            )
        total += info.file_size
    if total > max_bytes:
        raise BookTooLargeError(
            f"{path.name} unpacks to {total / 2**20:,.0f} MB; books up to {max_bytes / 2**20:,.0f} MB can be opened."
        )
