"""The adapter folder format.

A saved adapter is a plain peft folder plus one file of ours::

    <slug>/
        adapter_model.safetensors   LoRA weights (peft save_pretrained)
        adapter_config.json         peft config
        lift_adapter.json           AdapterMeta: base model, book, settings, loss curve
        auxiliary_qa.jsonl          optional: the Q/A pairs trained alongside the book
        README.md                   optional (peft writes one)

Weights are only ever read from safetensors: any pickle-based file (.bin,
.pt, ...) makes a folder invalid, because loading a pickle runs code.
Export and import of ``.zip`` archives live in ``archive.py``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import secrets
import shutil
import stat
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lift_reader import __version__
from lift_reader.errors import AdapterError, BadInputError
from lift_reader.store import paths
from lift_reader.store.atomic import atomic_write_json, os_errors_as_store_errors, recover_folder
from lift_reader.store.records import utc_now, validate_adapter_name

META_FILE = "lift_adapter.json"
WEIGHTS_FILE = "adapter_model.safetensors"
CONFIG_FILE = "adapter_config.json"
AUX_QA_FILE = "auxiliary_qa.jsonl"
STUDY_QA_FILE = "study_questions.jsonl"
FORMAT_VERSION = 1

# Formats that unpickle on load (torch.load, pickle, joblib): never accepted.
PICKLE_SUFFIXES = frozenset({".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt"})
# A safetensors header is JSON describing tensors; peft adapters have a few
# hundred entries (KBs). Anything this large is not an adapter.
_MAX_SAFETENSORS_HEADER = 64 * 1024 * 1024


@dataclass
class AdapterMeta:
    """What ``lift_adapter.json`` records about an adapter."""

    name: str
    base_model: dict[str, str]  # {"id": hub id or folder name, "fingerprint": hash of the base weights/config}
    book_hash: str  # content hash of the book's extracted text
    book_title: str = ""
    settings: dict[str, Any] = field(default_factory=dict)  # every training hyperparameter
    loss_curve: list[list[float | None]] = field(default_factory=list)  # [[step, loss], ...]; loss None if NaN
    steps: int = 0
    tokens_seen: int = 0
    duration_s: float = 0.0
    final_loss: float | None = None  # what the app shows: the mean of the last 10 losses (MemorizeJob.final_loss)
    created_at: str = field(default_factory=utc_now)  # ISO 8601, UTC
    app_version: str = __version__
    format_version: int = FORMAT_VERSION

    @property
    def base_model_id(self) -> str:
        return str(self.base_model.get("id", ""))

    @property
    def base_fingerprint(self) -> str:
        return str(self.base_model.get("fingerprint", ""))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> AdapterMeta:
        """Build from parsed JSON; raises ValueError/TypeError/KeyError if malformed.

        Unknown keys are ignored so that a newer app's additions do not break
        an older one (a real format change bumps ``format_version``).
        """
        if not isinstance(data, dict):
            raise TypeError("not a JSON object")
        version = int(data.get("format_version", 1))
        if version > FORMAT_VERSION:
            raise AdapterError(f"this adapter needs a newer LIFT Reader (adapter format {version})")
        base = data["base_model"]
        if not isinstance(base, dict) or not isinstance(base.get("id"), str) or not isinstance(
            base.get("fingerprint"), str
        ):
            raise TypeError("base_model must have string 'id' and 'fingerprint'")
        settings = data.get("settings", {})
        if not isinstance(settings, dict):
            raise TypeError("settings must be an object")
        curve = [[int(step), None if loss is None else float(loss)] for step, loss in data.get("loss_curve", [])]
        return cls(
            name=validate_adapter_name(data["name"]),
            base_model=dict(base),  # extra keys (e.g. a revision) survive a round trip
            book_hash=str(data["book_hash"]),
            book_title=str(data.get("book_title", "")),
            settings=settings,
            loss_curve=curve,
            steps=int(data.get("steps", 0)),
            tokens_seen=int(data.get("tokens_seen", 0)),
            duration_s=float(data.get("duration_s", 0.0)),
            final_loss=_final_loss(data.get("final_loss"), curve),
            created_at=str(data.get("created_at", "")),
            app_version=str(data.get("app_version", "")),
            format_version=version,
        )


def _final_loss(saved: Any, curve: list[list[float | None]]) -> float | None:
    """The saved final loss; for adapters saved before it was recorded, the mean of the curve's last
    10 losses, which is what the library showed for them (``MemorizeJob.final_loss``)."""
    if saved is not None:
        return float(saved)
    tail = [loss for _, loss in curve[-10:] if loss is not None]
    return sum(tail) / len(tail) if tail else None


def _jsonable(value: Any) -> Any:
    """Coerce settings-like values to strict JSON (NaN/inf -> None, Path -> str)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (str, int, bool)):
        return value
    if hasattr(value, "item"):  # numpy / torch scalars
        with contextlib.suppress(Exception):
            return _jsonable(value.item())
    return str(value)


def write_meta(folder: Path | str, meta: AdapterMeta) -> None:
    """Write ``lift_adapter.json`` into ``folder`` atomically."""
    atomic_write_json(Path(folder) / META_FILE, _jsonable(meta.to_dict()))


def read_meta(folder: Path | str) -> AdapterMeta:
    """Read ``lift_adapter.json``; AdapterError if it is missing or broken."""
    path = Path(folder) / META_FILE
    if not Path(folder).exists():
        recover_folder(folder)  # a save interrupted between its two renames
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AdapterError(f"not a LIFT Reader adapter (no {META_FILE}): {folder}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AdapterError(f"cannot read adapter metadata {path}: {exc}") from exc
    try:
        return AdapterMeta.from_dict(json.loads(text))
    except AdapterError:
        raise
    except (ValueError, TypeError, KeyError, BadInputError) as exc:
        detail = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
        raise AdapterError(f"adapter metadata is broken ({detail}): {path}") from exc


def update_meta_name(folder: Path | str, name: str) -> AdapterMeta:
    """Rename the adapter in its metadata (after ``Library.rename_adapter``)."""
    meta = read_meta(folder)
    meta.name = validate_adapter_name(name)
    write_meta(folder, meta)
    return meta


def _check_safetensors(path: Path) -> None:
    """Cheap sanity check of a safetensors file: 8-byte length, then a JSON header."""
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            n = int.from_bytes(fh.read(8), "little")
            if size < 8 or n == 0 or n > _MAX_SAFETENSORS_HEADER or 8 + n > size:
                raise ValueError("bad header length")
            header = json.loads(fh.read(n))
        if not isinstance(header, dict):
            raise ValueError("header is not an object")
    except (OSError, ValueError) as exc:
        raise AdapterError(f"adapter weights are damaged ({exc}): {path}") from exc


def validate_adapter_folder(folder: Path | str) -> Path:
    """Check that ``folder`` holds a loadable, pickle-free peft adapter.

    Does not require ``lift_adapter.json`` (use ``read_meta`` for that), so a
    plain peft folder passes. Returns the folder as a Path.
    """
    folder = Path(folder)
    if not folder.exists():
        recover_folder(folder)  # a save interrupted between its two renames
    if not folder.is_dir():
        raise AdapterError(f"adapter folder not found: {folder}")
    for root, _dirs, files in os.walk(folder):
        for name in files:
            if Path(name).suffix.lower() in PICKLE_SUFFIXES:
                rel = (Path(root) / name).relative_to(folder)
                raise AdapterError(f"pickle-based weights are refused: {rel}")
    config = folder / CONFIG_FILE
    if not config.is_file():
        raise AdapterError(f"not an adapter folder ({CONFIG_FILE} is missing): {folder}")
    try:
        if not isinstance(json.loads(config.read_text(encoding="utf-8")), dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as exc:
        raise AdapterError(f"{CONFIG_FILE} is broken ({exc}): {folder}") from exc
    weights = folder / WEIGHTS_FILE
    if not weights.is_file():
        raise AdapterError(f"not an adapter folder ({WEIGHTS_FILE} is missing): {folder}")
    _check_safetensors(weights)
    return folder


def folder_size(folder: Path | str) -> int:
    """Total bytes of the regular files under ``folder`` (links not followed)."""
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            st = os.lstat(Path(root) / name)
            if stat.S_ISREG(st.st_mode):
                total += st.st_size
    return total


def folder_slug(name: str) -> str:
    """A filesystem-safe, unique folder name for an adapter name.

    ASCII letters/digits from the name (readable in a file manager), plus 8
    hex digits of the name's hash so that names differing only in
    punctuation, accents or case never share a folder.
    """
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    readable = re.sub(r"[^A-Za-z0-9._-]+", "-", ascii_name).lower().strip("-._")[:48].strip("-._")
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
    return f"{readable or 'adapter'}-{digest}"


def adapter_folder_for(name: str, parent: Path | str | None = None) -> Path:
    """Where the adapter called ``name`` lives (default parent: ``paths.adapters_dir()``)."""
    base = Path(parent) if parent is not None else paths.adapters_dir()
    return base / folder_slug(validate_adapter_name(name))


def remove_adapter_folder(folder: Path | str) -> None:
    """Delete an adapter folder; a missing folder is not an error.

    Refuses folders that do not look like adapters, so a wrong path in the
    database can never wipe an unrelated folder. The folder is renamed aside
    first, so a half-deleted adapter never looks like a whole one.
    """
    folder = Path(folder)
    if not folder.exists():
        return
    if folder.is_symlink() or not ((folder / META_FILE).is_file() or (folder / CONFIG_FILE).is_file()):
        raise AdapterError(f"refusing to delete {folder}: it does not look like an adapter folder")
    with os_errors_as_store_errors("deleting", folder):
        doomed = folder.with_name(f".{folder.name}.deleting-{secrets.token_hex(4)}")
        os.replace(folder, doomed)
        shutil.rmtree(doomed)
