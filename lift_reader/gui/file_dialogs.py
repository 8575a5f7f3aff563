"""Where the app's file dialogs open: the folder used last for that kind of file, else Documents, else home.

An empty start folder would mean the process's working directory, which for a
desktop app is wherever it happened to be started (the source tree, or /).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QStandardPaths

from lift_reader.gui.preferences import Preferences


def start_folder(prefs: Preferences, kind: str) -> Path:
    """The folder a dialog for ``kind`` ("books", "adapters") opens in."""
    last = prefs.last_folder(kind)
    if last and Path(last).is_dir():
        return Path(last)
    documents = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    if documents and Path(documents).is_dir():
        return Path(documents)
    return Path.home()


def remember_folder(prefs: Preferences, kind: str, chosen: str | Path) -> None:
    """Remember the folder of a file the reader picked, for the next dialog of ``kind``."""
    prefs.set_last_folder(kind, str(Path(chosen).parent))
