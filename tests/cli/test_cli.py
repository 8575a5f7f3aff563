"""The lift-reader command, run as a user would (subprocesses, tiny model folder)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SAMPLE_STORY = Path(__file__).resolve().parents[2] / "resources" / "samples" / "the-lighthouse-keepers-ledger.txt"

MEMORIZE_FAST = ["--epochs", "2", "--segment-length", "64", "--lr", "0.01", "--checkpoint-every", "5"]


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory) -> Path:
    from lift_reader.core.tiny_model import save_tiny_model_folder

    folder = tmp_path_factory.mktemp("tiny-model")
    return save_tiny_model_folder(folder, SAMPLE_STORY.read_text(encoding="utf-8"))


@pytest.fixture
def short_book(tmp_path) -> Path:
    """The first chapter of the sample story: ~40 tiny-model segments, seconds to memorize."""
    path = tmp_path / "ledger-chapter-1.txt"
    path.write_text(SAMPLE_STORY.read_text(encoding="utf-8")[:3200], encoding="utf-8")
    return path


def lift(*args: str, home: Path, timeout: float = 240) -> subprocess.CompletedProcess:
    env = dict(os.environ, LIFT_READER_HOME=str(home))
    return subprocess.run([sys.executable, "-m", "lift_reader", *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


def test_bad_input_exits_2_with_one_line(lift_home, tmp_path):
    binary = tmp_path / "notes.txt"
    binary.write_bytes(bytes(range(256)) * 50)
    for path in (tmp_path / "missing.pdf", binary):
        result = lift("add", str(path), home=lift_home)
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1
        assert "Traceback" not in result.stderr
    result = lift("adapters", "rm", "nope", home=lift_home)
    assert result.returncode == 2 and "no adapter named" in result.stderr


def test_add_and_list_books(lift_home):
    result = lift("add", str(SAMPLE_STORY), home=lift_home)
    assert result.returncode == 0, result.stderr
    listing = lift("books", home=lift_home)
    assert "Lighthouse" in listing.stdout and "not memorized" in listing.stdout


def test_memorize_ask_and_manage_adapters(lift_home, tiny_folder, tmp_path, short_book):
    model = ["--model", str(tiny_folder)]
    result = lift(*model, "memorize", str(short_book), *MEMORIZE_FAST, "--name", "ledger", home=lift_home)
    assert result.returncode == 0, result.stderr
    assert "adapter 'ledger'" in result.stdout
    assert "steps" in result.stdout and "tokens" in result.stdout  # the estimate printed first

    asked = lift(*model, "ask", str(short_book), "Who keeps the light?", "--max-new-tokens", "8", home=lift_home)
    assert asked.returncode == 0, asked.stderr
    assert "context from pages" in asked.stderr

    listing = lift("adapters", "list", home=lift_home)
    assert "ledger" in listing.stdout
    shown = json.loads(lift("adapters", "show", "ledger", home=lift_home).stdout)
    assert shown["settings"]["segment_length"] == 64 and shown["steps"] > 0

    zip_path = tmp_path / "ledger.zip"
    assert lift("adapters", "export", "ledger", str(zip_path), home=lift_home).returncode == 0
    assert lift("adapters", "rename", "ledger", "Ledger v2", home=lift_home).returncode == 0
    imported = lift(*model, "adapters", "import", str(zip_path), home=lift_home)
    assert imported.returncode == 0, imported.stderr
    names = lift("adapters", "list", home=lift_home).stdout
    assert "Ledger v2" in names and "ledger" in names
    assert lift("adapters", "rm", "Ledger v2", home=lift_home).returncode == 0
    assert "Ledger v2" not in lift("adapters", "list", home=lift_home).stdout


def _checkpoint_step(home: Path) -> int:
    states = list((home / "checkpoints").glob("*/state.json"))
    if not states:
        return 0
    try:
        return json.loads(states[0].read_text())["step"]
    except (OSError, ValueError):
        return 0


@pytest.mark.parametrize("kill_after_checkpoints", [1, 2])
def test_killed_memorize_resumes_to_the_same_final_step(lift_home, tiny_folder, kill_after_checkpoints, short_book):
    model = ["--model", str(tiny_folder)]
    args = [*model, "memorize", str(short_book), *MEMORIZE_FAST, "--epochs", "3"]
    env = dict(os.environ, LIFT_READER_HOME=str(lift_home))
    proc = subprocess.Popen([sys.executable, "-m", "lift_reader", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    while _checkpoint_step(lift_home) < 5 * kill_after_checkpoints and time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    saved = _checkpoint_step(lift_home)
    assert saved >= 5 * kill_after_checkpoints

    resumed = lift(*args, "--resume", home=lift_home)
    assert resumed.returncode == 0, resumed.stderr
    final = int(resumed.stdout.split("memorized in ")[1].split()[0])

    fresh_home = lift_home / "fresh"
    straight = lift(*args, home=fresh_home)
    assert straight.returncode == 0, straight.stderr
    assert final == int(straight.stdout.split("memorized in ")[1].split()[0])
    assert not list((lift_home / "checkpoints").glob("*/state.json"))  # cleaned up after success


def test_ctrl_c_saves_a_checkpoint_and_says_how_to_resume(lift_home, tiny_folder, short_book):
    args = ["--model", str(tiny_folder), "memorize", str(short_book), *MEMORIZE_FAST, "--epochs", "4"]
    env = dict(os.environ, LIFT_READER_HOME=str(lift_home))
    proc = subprocess.Popen([sys.executable, "-m", "lift_reader", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    while _checkpoint_step(lift_home) < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "--resume" in out
    assert _checkpoint_step(lift_home) >= 5


def test_doctor_prints_the_choice(lift_home):
    result = lift("doctor", home=lift_home)
    assert result.returncode == 0
    assert "will use" in result.stdout and "torch" in result.stdout and str(lift_home) in result.stdout
