"""Files shipped beside the code (the sample story, icons)."""

from __future__ import annotations

import json
from pathlib import Path

from lift_reader.errors import LiftReaderError

# In a source checkout or an editable install, resources/ sits beside the
# package; an installed wheel carries a copy inside the package.
_CANDIDATES = (
    Path(__file__).resolve().parent.parent / "resources",
    Path(__file__).resolve().parent / "resources",
)
SAMPLE_SLUG = "the-lighthouse-keepers-ledger"
# The desktop id: the .desktop file, AppStream metadata and icon files are named after it.
APP_ID = "io.github.liftreader.LiftReader"


def resources_dir() -> Path:
    for folder in _CANDIDATES:
        if folder.is_dir():
            return folder
    raise LiftReaderError("the app's resources folder is missing; reinstall LIFT Reader")


def sample_story() -> Path:
    """The original short story used by the demo and the first run."""
    return resources_dir() / "samples" / f"{SAMPLE_SLUG}.txt"


def sample_questions() -> list[dict]:
    """Questions about the sample story, middle-of-the-story ones first."""
    items = json.loads((resources_dir() / "samples" / f"{SAMPLE_SLUG}.questions.json").read_text(encoding="utf-8"))
    order = {"middle": 0, "head": 1, "tail": 2}
    return sorted(items, key=lambda item: order.get(item.get("position"), 3))
