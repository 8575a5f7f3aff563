"""Checkpoints of a memorize run: enough to continue exactly where it stopped.

A checkpoint folder holds the trainable (LoRA) weights as safetensors, the
optimizer state, the RNG states and a small JSON with the step, the loss
curve and the settings.  The data order needs no saving: it is a pure
function of (seed, epoch).  Folders are written to a staging folder and
swapped in atomically, so a crash mid-write leaves the previous checkpoint.
Our own ``.pt`` files hold only tensors and plain containers and are read
with ``weights_only=True``: no code runs on load.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from lift_reader.store.atomic import recover_folder, staging_folder

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


def save_checkpoint(folder: Path, state: RunState, weights: dict[str, torch.Tensor], optimizer) -> None:
    """Write a checkpoint atomically (the previous one survives a crash); ``weights``: name -> trained tensor."""
    trainable = {name: t.detach().to("cpu").contiguous() for name, t in weights.items()}
    # Only torch draws random numbers during training (dropout); the data
    # order comes from its own seeded generator.
    rng = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        rng["cuda"] = torch.cuda.get_rng_state()
    with staging_folder(folder) as staged:
        save_file(trainable, str(staged / WEIGHTS_FILE))
        torch.save(optimizer.state_dict(), staged / OPTIMIZER_FILE)
        torch.save(rng, staged / RNG_FILE)
        (staged / STATE_FILE).write_text(json.dumps(state.__dict__), encoding="utf-8")


def read_state(folder: Path) -> RunState | None:
    """The saved progress, or None when there is no usable checkpoint."""
    recover_folder(folder)  # a crash between the two renames of a save leaves it aside
    path = folder / STATE_FILE
    if not path.is_file():
        return None
    try:
        return RunState(**json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError):
        return None


def load_checkpoint(folder: Path, weights, optimizer) -> RunState:
    """Restore weights (a ``TrainableWeights``), optimizer and RNG states in place; return the progress."""
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

