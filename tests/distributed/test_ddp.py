"""Memorize under torchrun with 2 CPU processes (gloo) against a single process.

The runs are real subprocesses: ``python -m torch.distributed.run`` for the
two-process runs, plain ``python`` for the single one, all on the same tiny
model folder and book.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

WORKER = Path(__file__).with_name("ddp_worker.py")
REPO = Path(__file__).resolve().parents[2]
STORY = REPO / "resources" / "samples" / "the-lighthouse-keepers-ledger.txt"


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from lift_reader.core.model.tiny_model import save_tiny_model_folder

    root = tmp_path_factory.mktemp("ddp")
    text = STORY.read_text(encoding="utf-8")
    model = save_tiny_model_folder(root / "model", text)
    book = root / "book.txt"
    book.write_text(text[:2500], encoding="utf-8")
    return model, book, root


def _env() -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false", PYTHONPATH=str(REPO))
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(key, None)
    return env


def run(setup, name: str, *, procs: int, ckpt: str, extra=()) -> dict:
    model, book, root = setup
    out = root / name
    args = [str(WORKER), str(model), str(book), str(out), str(root / ckpt), *extra]
    if procs > 1:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={procs}", *args]
    else:
        cmd = [sys.executable, *args]
    result = subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return {"run": json.loads((out / "run.json").read_text()), "lora": load_file(str(out / "lora.safetensors"))}


def assert_same_weights(a: dict, b: dict) -> None:
    assert a.keys() == b.keys() and a
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-4, atol=1e-5, msg=key)


@pytest.fixture(scope="module")
def single(setup):
    return run(setup, "single", procs=1, ckpt="ckpt-single")


def test_two_processes_train_the_same_adapter_as_one(setup, single):
    two = run(setup, "two", procs=2, ckpt="ckpt-two")
    assert two["run"]["world_size"] == 2 and two["run"]["finished"]
    assert two["run"]["total_steps"] == single["run"]["total_steps"] > 10
    assert two["run"]["losses"] == pytest.approx(single["run"]["losses"], rel=1e-4)
    assert_same_weights(two["lora"], single["lora"])
    # The adapter really trained: it differs from LoRA's initial state (B starts at zero).
    assert any(v.abs().max() > 0 for k, v in two["lora"].items() if "lora_B" in k)


def test_stop_on_two_resume_on_one_and_back(setup, single):
    stopped = run(setup, "two-stopped", procs=2, ckpt="ckpt-a", extra=["--stop-after", "4"])
    assert stopped["run"]["step"] == 4 and not stopped["run"]["finished"]
    state = json.loads((setup[2] / "ckpt-a" / "state.json").read_text())
    assert state["step"] == 4  # written by rank 0 when the other rank asked to stop
    resumed = run(setup, "one-resumed", procs=1, ckpt="ckpt-a", extra=["--resume"])
    assert resumed["run"]["finished"] and resumed["run"]["step"] == single["run"]["total_steps"]
    assert_same_weights(resumed["lora"], single["lora"])

    run(setup, "one-stopped", procs=1, ckpt="ckpt-b", extra=["--stop-after", "3"])
    resumed = run(setup, "two-resumed", procs=2, ckpt="ckpt-b", extra=["--resume"])
    assert resumed["run"]["finished"]
    assert_same_weights(resumed["lora"], single["lora"])
