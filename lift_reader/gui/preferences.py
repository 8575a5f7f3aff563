"""What the app remembers between runs (QSettings): model choice, training
defaults, recent files, window layout, and each book's last memorize settings.

The book data itself (library, chats, adapters) lives in the data folder;
this is only the app's own state.  Tests pass a QSettings on a temporary file.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import QByteArray, QSettings

from lift_reader.core.ask.modes import DEFAULT_MODE
from lift_reader.core.memorize.settings import MemorizeSettings
from lift_reader.errors import BadInputError

MODEL_KINDS = ("embedded", "folder", "hub", "gguf")
# The memorize fields a reader edits in the app; the rest keep their defaults.
EDITABLE_TRAINING_FIELDS = ("epochs", "segment_length", "learning_rate", "lora_rank", "aux_tasks", "contextualized")
_MAX_RECENT = 8
DEFAULT_ANSWER_TOKENS = 200


class Preferences:
    def __init__(self, settings: QSettings | None = None):
        self.qsettings = settings if settings is not None else QSettings()

    def _json(self, key: str, default: Any) -> Any:
        raw = self.qsettings.value(key, "")
        try:
            return json.loads(raw) if raw else default
        except (TypeError, ValueError):
            return default

    def _set_json(self, key: str, value: Any) -> None:
        self.qsettings.setValue(key, json.dumps(value))

    # --- model -------------------------------------------------------------------

    @property
    def model_kind(self) -> str:
        kind = str(self.qsettings.value("model/kind", "embedded"))
        return kind if kind in MODEL_KINDS else "embedded"

    @property
    def model_location(self) -> str:
        return str(self.qsettings.value("model/location", ""))

    def set_model(self, kind: str, location: str = "") -> None:
        self.qsettings.setValue("model/kind", kind)
        self.qsettings.setValue("model/location", location if kind != "embedded" else "")

    @property
    def model_ref(self) -> str | None:
        """What ``load_model`` takes: None for the embedded model, else a path or hub id."""
        return None if self.model_kind == "embedded" or not self.model_location else self.model_location

    @property
    def device(self) -> str:
        return str(self.qsettings.value("model/device", "auto"))

    @property
    def precision(self) -> str:
        return str(self.qsettings.value("model/precision", "auto"))

    def set_placement(self, device: str, precision: str) -> None:
        self.qsettings.setValue("model/device", device)
        self.qsettings.setValue("model/precision", precision)

    # --- training ------------------------------------------------------------------

    def training_overrides(self) -> dict[str, Any]:
        data = self._json("training/defaults", {})
        return {k: v for k, v in data.items() if k in EDITABLE_TRAINING_FIELDS} if isinstance(data, dict) else {}

    def set_training_overrides(self, values: dict[str, Any]) -> None:
        self._set_json("training/defaults", {k: v for k, v in values.items() if k in EDITABLE_TRAINING_FIELDS})

    def memorize_defaults(self, device: str = "cpu") -> MemorizeSettings:
        base = MemorizeSettings.for_hardware(device)
        try:
            return base.with_changes(**self.training_overrides())
        except (BadInputError, TypeError):
            return base  # a hand-edited value that no longer passes the checks

    def book_settings(self, content_hash: str) -> MemorizeSettings | None:
        """The settings of the book's last memorize run (so Resume finds its checkpoint)."""
        data = self._json(f"books/{content_hash}/memorize", None)
        if not isinstance(data, dict):
            return None
        try:
            return MemorizeSettings.from_dict(data)
        except (BadInputError, TypeError):
            return None

    def set_book_settings(self, content_hash: str, settings: MemorizeSettings) -> None:
        self._set_json(f"books/{content_hash}/memorize", settings.as_dict())

    # --- files and window ------------------------------------------------------------

    def recent_files(self) -> list[str]:
        data = self._json("files/recent", [])
        return [str(p) for p in data][:_MAX_RECENT] if isinstance(data, list) else []

    def add_recent_file(self, path: str) -> None:
        files = [path] + [p for p in self.recent_files() if p != path]
        self._set_json("files/recent", files[:_MAX_RECENT])

    def clear_recent_files(self) -> None:
        self._set_json("files/recent", [])

    def last_folder(self, kind: str) -> str:
        """The folder a file dialog for ``kind`` was last used in ("" if never)."""
        return str(self.qsettings.value(f"folders/{kind}", ""))

    def set_last_folder(self, kind: str, folder: str) -> None:
        self.qsettings.setValue(f"folders/{kind}", folder)

    def window_state(self) -> tuple[QByteArray | None, QByteArray | None]:
        return self.qsettings.value("window/geometry"), self.qsettings.value("window/state")

    def set_window_state(self, geometry: QByteArray, state: QByteArray) -> None:
        self.qsettings.setValue("window/geometry", geometry)
        self.qsettings.setValue("window/state", state)

    def answer_tokens(self) -> int:
        """The longest answer, in tokens (a base model rambles; a chat model may need more)."""
        try:
            return max(8, min(4096, int(self.qsettings.value("chat/answer_tokens", DEFAULT_ANSWER_TOKENS))))
        except (TypeError, ValueError):
            return DEFAULT_ANSWER_TOKENS

    def set_answer_tokens(self, tokens: int) -> None:
        self.qsettings.setValue("chat/answer_tokens", int(tokens))

    def memorize_advanced_open(self) -> bool:
        """Whether the Memorize tab shows its Advanced settings (closed until a reader opens them)."""
        return str(self.qsettings.value("memorize/advanced_open", "false")).lower() == "true"

    def set_memorize_advanced_open(self, on: bool) -> None:
        self.qsettings.setValue("memorize/advanced_open", "true" if on else "false")

    def chat_mode(self) -> str:
        return str(self.qsettings.value("chat/mode", DEFAULT_MODE))

    def set_chat_mode(self, mode: str) -> None:
        self.qsettings.setValue("chat/mode", mode)

    def chat_spoiler_safe(self) -> bool:
        """Whether the chat answers only from the book up to the page being read."""
        return str(self.qsettings.value("chat/spoiler_safe", "false")).lower() == "true"

    def set_chat_spoiler_safe(self, on: bool) -> None:
        self.qsettings.setValue("chat/spoiler_safe", "true" if on else "false")
