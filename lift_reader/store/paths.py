"""Where LIFT Reader keeps its data.

``data_home()`` is the one function that decides the data folder; every
other path is derived from it, so tests (and users with a portable setup)
move everything at once by setting ``LIFT_READER_HOME``.

Layout under the data folder::

    library.sqlite3      books, adapters, chat history (see library.py)
    models/              converted base models (safetensors folders)
      embedded-gguf/     the embedded model's GGUF, assembled for exports
      linked/            links with a .gguf name to models found elsewhere
    adapters/<slug>/     one peft folder per trained adapter
    checkpoints/         resumable training state
    cache/<kind>/        content-addressed caches: books (extracted text), tokens,
                         retrieval (indexes), study (teacher targets), covers
    settings/            the app's preferences, only when LIFT_READER_HOME is set
                         (otherwise QSettings' platform place)
    throughput.json      measured training speed per model and device (the estimate)
    logs/                only when LIFT_READER_HOME is set; otherwise logs go
                         to the platform's log folder
    eval/                ``lift-reader eval``'s own library.sqlite3, adapters/ and
                         checkpoints/, kept apart from the reader's books

What belongs to a library (the database, adapters, checkpoints) lives under
``library_home()``: the data folder itself, unless a command such as
``lift-reader eval`` chose a folder of its own with ``library_home_at``.
Models and caches (content-addressed) stay shared, so an evaluation does not
convert the embedded model again.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator
from pathlib import Path

import platformdirs

from lift_reader.errors import StoreError

HOME_ENV = "LIFT_READER_HOME"
APP_NAME = "lift-reader"


def _ensure_dir(path: Path) -> Path:
    """Create ``path`` (and parents); turn OS failures into a readable StoreError."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError as exc:  # a plain file sits where a folder should be
        raise StoreError(f"cannot create data folder, a file is in the way: {path}") from exc
    except OSError as exc:
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            raise StoreError(f"data folder is read-only: {path}") from exc
        if exc.errno == errno.ENOSPC:
            raise StoreError(f"disk full while creating {path}") from exc
        raise StoreError(f"cannot create folder {path}: {exc.strerror or exc}") from exc
    return path


def _home_override() -> Path | None:
    value = os.environ.get(HOME_ENV, "").strip()
    if not value:
        return None
    # expanduser so "~/lift" in a shell profile works; resolve so that every
    # derived path is absolute even if the working directory changes later.
    return Path(value).expanduser().resolve()


def data_home() -> Path:
    """The data folder: ``$LIFT_READER_HOME`` if set, else the platform default.

    Created if missing. Read on every call (not cached) so that tests can
    monkeypatch the environment variable.
    """
    override = _home_override()
    if override is not None:
        return _ensure_dir(override)
    return _ensure_dir(Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)))


_library_home: Path | None = None  # set by library_home_at


@contextlib.contextmanager
def library_home_at(folder: Path | str) -> Iterator[Path]:
    """Inside the block, the library, adapters and checkpoints live in ``folder`` (then as before)."""
    global _library_home
    before = _library_home
    _library_home = Path(folder).expanduser().resolve()
    try:
        yield library_home()
    finally:
        _library_home = before


def library_home() -> Path:
    """Where the library database, adapters and checkpoints live (created if missing)."""
    return _ensure_dir(_library_home) if _library_home is not None else data_home()


def eval_home() -> Path:
    """``lift-reader eval``'s own library folder (its documents and adapters are no reader's books)."""
    return data_home() / "eval"


def models_dir() -> Path:
    """Converted base models (e.g. the embedded Gemma as safetensors)."""
    return _ensure_dir(data_home() / "models")


def adapters_dir() -> Path:
    """One sub-folder per saved adapter (peft format plus lift_adapter.json)."""
    return _ensure_dir(library_home() / "adapters")


def checkpoints_dir() -> Path:
    """Resumable training state; safe to delete when no training is running."""
    return _ensure_dir(library_home() / "checkpoints")


def cache_dir(kind: str) -> Path:
    """``cache/<kind>``: a content-addressed cache (books, tokens, retrieval, study, covers), created."""
    return _ensure_dir(data_home() / "cache" / kind)


def embedded_gguf_dir() -> Path:
    """Where the embedded model's GGUF is assembled for exports (created by whoever writes it)."""
    return data_home() / "models" / "embedded-gguf"


def linked_models_dir() -> Path:
    """Links with a ``.gguf`` name to GGUF files found in other apps' stores, created."""
    return _ensure_dir(models_dir() / "linked")


def settings_dir() -> Path:
    """The app's preferences (QSettings' ini files) when ``LIFT_READER_HOME`` is set."""
    return data_home() / "settings"


def throughput_file() -> Path:
    """Measured training speed per model and device, read by the estimate."""
    return data_home() / "throughput.json"


def library_db_path() -> Path:
    """The SQLite library database (its folder is created, the file is not)."""
    return library_home() / "library.sqlite3"


def logs_dir() -> Path:
    """Log files.

    With ``LIFT_READER_HOME`` set everything, logs included, lives under that
    folder (portable installs, tests); otherwise the platform log folder is
    used, which is where users and bug reports expect to find logs.
    """
    if _home_override() is not None:
        return _ensure_dir(data_home() / "logs")
    return _ensure_dir(Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)))
