"""Checkpoints of a memorize run: enough to continue exactly where it stopped.

A checkpoint folder holds the trainable (LoRA) weights as safetensors, the
optimizer state, the RNG states and a small JSON with the step, the loss
curve and the settings.  The data order needs no saving: it is a pure
function of (seed, epoch).  Folders are written to a staging folder and
swapped in atomically, so a crash mid-write leaves the previous checkpoint.
What a crash leaves beside them (staging folders of a killed save, folders
half removed) is swept by ``sweep_checkpoints`` and never taken for a run.
Our own ``.pt`` files hold only tensors and plain containers and are read
with ``weights_only=True``: no code runs on load.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from lift_reader.core.memorize.crash_points import crash_point
from lift_reader.store.atomic import recover_folder, staging_folder

if TYPE_CHECKING:  # torch loads only to save or load one: sweeping and listing runs stay light
    import torch

STATE_FILE = "state.json"
WEIGHTS_FILE = "trainable.safetensors"
OPTIMIZER_FILE = "optimizer.pt"
RNG_FILE = "rng.pt"


@dataclass
class RunState:
    """Progress of a memorize run (what ``state.json`` holds)."""

    job_key: str
    step: int = 0
    total_steps: int = 0
    tokens_seen: int = 0
    elapsed_s: float = 0.0
    loss_curve: list[list[float]] = field(default_factory=list)  # [[step, loss], ...]
    settings: dict = field(default_factory=dict)
    finished: bool = False
    book_hash: str = ""  # which book: lets the app offer to resume, and drop runs of removed books


def save_checkpoint(folder: Path, state: RunState, weights: dict[str, torch.Tensor], optimizer) -> None:
    """Write a checkpoint atomically (the previous one survives a crash); ``weights``: name -> trained tensor."""
    import torch
    from safetensors.torch import save_file

    trainable = {name: t.detach().to("cpu").contiguous() for name, t in weights.items()}
    # Only torch draws random numbers during training (dropout); the data
    # order comes from its own seeded generator.
    rng = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        rng["cuda"] = torch.cuda.get_rng_state()
    with staging_folder(folder) as staged:
        save_file(trainable, str(staged / WEIGHTS_FILE))
        crash_point("checkpoint-weights", state.step)
        torch.save(optimizer.state_dict(), staged / OPTIMIZER_FILE)
        torch.save(rng, staged / RNG_FILE)
        (staged / STATE_FILE).write_text(json.dumps(state.__dict__), encoding="utf-8")
        crash_point("checkpoint-files", state.step)
    crash_point("checkpoint-saved", state.step)
    sweep_leftovers(folder.parent)  # hidden leftovers only: the caller's other folders are not ours to judge


def read_state(folder: Path) -> RunState | None:
    """The saved progress, or None when there is no usable checkpoint."""
    recover_folder(folder)  # a crash between the two renames of a save leaves it aside
    return _saved_state(folder)


def _saved_state(folder: Path) -> RunState | None:
    """``read_state`` without putting back an interrupted save (that could race a save still running)."""
    # All four files or no run: a folder half deleted by a killed clean-up must not look resumable.
    if not all((folder / name).is_file() for name in (STATE_FILE, WEIGHTS_FILE, OPTIMIZER_FILE, RNG_FILE)):
        return None
    try:
        return RunState(**json.loads((folder / STATE_FILE).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):  # OSError: removed meanwhile
        return None


def list_runs(root: Path) -> list[RunState]:
    """The runs with a usable checkpoint in ``root``, the most recently saved first.

    Reads only: safe beside a run that is saving one (``sweep_checkpoints``
    repairs what a crash left; a folder caught mid-swap is just not listed).
    """
    saved = []
    for folder in _run_folders(root):
        state = _saved_state(folder)
        if state is not None:
            try:
                saved.append(((folder / STATE_FILE).stat().st_mtime, state))
            except OSError:
                continue
    return [state for _when, state in sorted(saved, key=lambda pair: pair[0], reverse=True)]


def load_checkpoint(folder: Path, weights, optimizer) -> RunState:
    """Restore weights (a ``TrainableWeights``), optimizer and RNG states in place; return the progress."""
    import torch
    from safetensors.torch import load_file

    state = read_state(folder)
    if state is None:
        raise FileNotFoundError(folder)
    weights.load_state(load_file(str(folder / WEIGHTS_FILE)))
    optimizer.load_state_dict(torch.load(folder / OPTIMIZER_FILE, weights_only=True))
    rng = torch.load(folder / RNG_FILE, weights_only=True)
    torch.set_rng_state(rng["torch"])
    if "cuda" in rng and torch.cuda.is_available():
        torch.cuda.set_rng_state(rng["cuda"])
    return state


def remove_checkpoint(folder: Path) -> None:
    """Delete a checkpoint so that a crash midway leaves no half folder that looks like a run.

    The folder is first renamed to a hidden ``.<key>.removing-*`` name (one
    atomic step), then deleted; ``sweep_checkpoints`` finishes the job if
    the process dies in between.
    """
    if not folder.exists():
        return
    aside = folder.with_name(f".{folder.name}.removing-{secrets.token_hex(4)}")
    try:
        os.replace(folder, aside)
    except OSError:
        aside = folder
    shutil.rmtree(aside, ignore_errors=True)


def sweep_leftovers(root: Path) -> list[Path]:
    """Remove the hidden leftovers of killed saves and clean-ups in ``root`` (after every save, too).

    Puts back a folder whose save died between its two renames, removes
    staging folders of saves whose process is gone and ``.removing-*``
    folders; returns the ``.removing-*`` folders removed.
    """
    removed: list[Path] = []
    try:
        hidden = [c for c in root.iterdir() if c.name.startswith(".") and c.is_dir()]
    except OSError:
        return removed
    for leftover in hidden:
        key, _, rest = leftover.name[1:].partition(".")
        if rest.startswith("removing-"):
            shutil.rmtree(leftover, ignore_errors=True)
            removed.append(leftover)
        elif key:
            recover_folder(root / key)  # restores an interrupted swap, drops staging folders of killed saves
    return removed


def sweep_checkpoints(root: Path, is_orphan: Callable[[Path, RunState], bool] | None = None) -> list[Path]:
    """Remove from ``root`` what is not a resumable run; return what was removed.

    - a save interrupted between its renames is first put back (``recover_folder``);
    - staging folders of killed saves and ``.removing-*`` leftovers go;
    - a folder without a readable state (half deleted, damaged) goes;
    - a folder for which ``is_orphan(folder, state)`` says so goes (the
      workspace's rules: the book left the library, the run's adapter was
      saved after its last checkpoint).
    """
    removed = sweep_leftovers(root)  # recovers every interrupted swap: no folder needs read_state's recovery again
    for folder in _run_folders(root):
        state = _saved_state(folder)
        if state is None or (is_orphan is not None and is_orphan(folder, state)):
            remove_checkpoint(folder)
            removed.append(folder)
    return removed


def _run_folders(root: Path) -> list[Path]:
    """The checkpoint folders in ``root`` (hidden ones are a save's or a clean-up's leftovers)."""
    try:
        return [c for c in root.iterdir() if not c.name.startswith(".") and c.is_dir()]
    except OSError:  # no checkpoints yet
        return []
