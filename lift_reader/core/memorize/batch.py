"""Batch memorize: which book files a list of folders and list files names.

The CLI's ``lift-reader batch`` walks the result, skips books that already
have an adapter trained with the same base model and settings, and resumes
a stopped run from its checkpoint, so re-running a batch after an
interruption only does what is left.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lift_reader.core.text.documents import SUPPORTED_SUFFIXES
from lift_reader.errors import BadInputError


def collect_books(sources: list[Path], list_files: list[Path] = (), *, recursive: bool = False) -> list[Path]:
    """Book files named by ``sources`` (files, or folders searched for supported formats) and by
    ``list_files`` (one path per line, ``#`` comments; relative paths are relative to the list).

    Paths are resolved and de-duplicated, in the order given (a folder's books sorted by name).
    A path that does not exist is bad input: a batch job should fail before hours of work, not after.
    """
    named: list[Path] = list(sources)
    for list_file in list_files:
        try:
            lines = Path(list_file).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as err:
            raise BadInputError(f"cannot read the list {list_file}: {err}") from err
        for line in lines:
            line = line.strip()
            if line and not line.startswith("#"):
                path = Path(line).expanduser()
                named.append(path if path.is_absolute() else Path(list_file).parent / path)
    if not named:
        raise BadInputError("no books given: name book files, folders or --list files")

    books: list[Path] = []
    for path in named:
        path = path.expanduser()
        if path.is_dir():
            pattern = "**/*" if recursive else "*"
            books += sorted(p for p in path.glob(pattern) if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES)
        elif path.is_file():
            books.append(path)
        else:
            raise BadInputError(f"{path}: no such file or folder")
    unique = list(dict.fromkeys(p.resolve() for p in books))
    if not unique:
        raise BadInputError("no book files found (supported: " + ", ".join(sorted(SUPPORTED_SUFFIXES)) + ")")
    return unique


@dataclass
class BatchLine:
    """What happened to one book of a batch."""

    path: Path
    status: str  # memorized, skipped, stopped, failed
    detail: str = ""
    seconds: float = 0.0


def summary_table(lines: list[BatchLine]) -> str:
    """A plain-text summary: one row per book, then the counts."""
    width = max((len(line.path.name) for line in lines), default=4)
    rows = [f"{'book':{width}}  {'status':9}  {'time':>8}  detail"]
    for line in lines:
        secs = f"{line.seconds:.0f}s" if line.seconds else "-"
        rows.append(f"{line.path.name:{width}}  {line.status:9}  {secs:>8}  {line.detail}")
    counts: dict[str, int] = {}
    for line in lines:
        counts[line.status] = counts.get(line.status, 0) + 1
    rows.append(", ".join(f"{n} {status}" for status, n in counts.items()))
    return "\n".join(rows)
