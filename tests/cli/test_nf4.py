"""The 4-bit path on the CPU: memorize, save, reload, attach and answer with a tiny model in NF4; kill and resume.

bitsandbytes (0.50.2 here) runs NF4 layers on the CPU.  Its fast CPU path for inference repacks
each 4-bit weight in blocks of 32 output rows, so the tiny model here has 64-wide layers (the
default 48 has 24-wide key/value projections, which it refuses: "N must be divisible by block_n").
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

bnb = pytest.importorskip("bitsandbytes")

SAMPLE_STORY = Path(__file__).resolve().parents[2] / "resources" / "samples" / "the-lighthouse-keepers-ledger.txt"
# 1,500 characters: 34 steps of 64-token segments with the app's recipe; checkpoints every 5 steps.
RUN = ["--device", "cpu", "--precision", "nf4"]
MEMORIZE = ["--epochs", "1", "--segment-length", "64", "--lr", "0.01", "--checkpoint-every", "5",
            "--checkpoint-minutes", "0"]


@pytest.fixture(scope="module")
def nf4_folder(tmp_path_factory) -> Path:
    from lift_reader.core.model.tiny_model import save_tiny_model_folder

    folder = tmp_path_factory.mktemp("tiny-nf4-model")
    return save_tiny_model_folder(folder, SAMPLE_STORY.read_text(encoding="utf-8"), hidden=64)


@pytest.fixture(scope="module")
def short_book(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("book") / "ledger-opening.txt"
    path.write_text(SAMPLE_STORY.read_text(encoding="utf-8")[:1500], encoding="utf-8")
    return path


def lift(*args: str, home: Path, crash_at: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, LIFT_READER_HOME=str(home))
    if crash_at:
        env["LIFT_READER_CRASH_AT"] = crash_at
    return subprocess.run([sys.executable, "-m", "lift_reader", *args], capture_output=True, text=True, env=env,
                          timeout=300)


def _adapter_weights(home: Path) -> dict:
    from safetensors.numpy import load_file

    (folder,) = [p for p in (home / "adapters").iterdir() if not p.name.startswith(".")]
    return load_file(str(folder / "adapter_model.safetensors"))


def _nf4_workspace(folder: Path):
    from lift_reader.core.model.models import load_model
    from lift_reader.core.workspace import Workspace

    lm = load_model(str(folder), device="cpu", precision="nf4", progress=lambda m: None)
    four_bit = [m for m in lm.model.modules() if isinstance(m, bnb.nn.Linear4bit)]
    assert len(four_bit) == 14  # every linear layer of both decoder layers is NF4
    assert all(m.weight.quant_state.quant_type == "nf4" for m in four_bit)
    ws = Workspace(progress=lambda m: None)
    ws.use_model(lm)
    return ws


def test_nf4_memorize_save_then_reload_attach_and_answer(nf4_folder, short_book):
    from lift_reader.core.ask.answering import AskSettings
    from lift_reader.core.ask.generation import SamplingSettings
    from lift_reader.core.memorize.settings import MemorizeSettings
    from lift_reader.core.workspace import run_to_end

    ws = _nf4_workspace(nf4_folder)
    record = ws.add_book(short_book)
    settings = MemorizeSettings.for_hardware("cpu").with_changes(segment_length=64, learning_rate=0.01)
    events: list = []
    outcome = run_to_end(ws.memorize(record, settings), events.append)
    assert events[-1].kind == "done"
    losses = [e.loss for e in events if e.kind == "step"]
    assert np.mean(losses[-5:]) < np.mean(losses[:5])  # it learned through the 4-bit base
    saved = outcome.adapter

    again = _nf4_workspace(nf4_folder)  # a fresh 4-bit base, as after a restart
    record = again.find_book(short_book)
    stream = again.ask(record, "Who keeps the light?", AskSettings(mode="lift", sampling=SamplingSettings(max_new_tokens=6)))
    with again.model_lock:
        text = "".join(stream)
    assert stream.adapter == saved.name and saved.name in again.lm.attached
    assert text.strip()  # greedy decoding of the tiny model gives some text (no stop string first)
    ids = torch.tensor([again.lm.tokenizer("The keeper of the light").input_ids])
    with torch.no_grad():
        adapted = again.lm.model(input_ids=ids).logits
        with again.lm.adapter_disabled():
            bare = again.lm.model(input_ids=ids).logits
    assert (adapted - bare).abs().max() > 1e-2  # the reloaded adapter is attached and does something


def test_nf4_run_killed_at_a_step_resumes_from_its_checkpoint(nf4_folder, short_book, tmp_path):
    args = ["--model", str(nf4_folder), *RUN, "memorize", str(short_book), *MEMORIZE]
    straight_home, killed_home = tmp_path / "straight", tmp_path / "killed"
    straight = lift(*args, home=straight_home)
    assert straight.returncode == 0, straight.stderr
    killed = lift(*args, home=killed_home, crash_at="step@7")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    resumed = lift(*args, "--resume", home=killed_home)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming from step 5/" in resumed.stdout
    weights, straight_weights = _adapter_weights(killed_home), _adapter_weights(straight_home)
    assert weights.keys() == straight_weights.keys() and weights
    for name, tensor in weights.items():
        assert np.allclose(tensor, straight_weights[name], atol=1e-5), name
