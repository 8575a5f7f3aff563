"""The lift-reader command, run as a user would (subprocesses, tiny model folder)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

SAMPLE_STORY = Path(__file__).resolve().parents[2] / "resources" / "samples" / "the-lighthouse-keepers-ledger.txt"

# Checkpoints by steps only: one by time would land at a step that depends on the machine's speed.
MEMORIZE_FAST = ["--epochs", "2", "--segment-length", "64", "--lr", "0.01", "--checkpoint-every", "5",
                 "--checkpoint-minutes", "0"]


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory) -> Path:
    from lift_reader.core.model.tiny_model import save_tiny_model_folder

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
    # Adding and listing need no model: torch stays unimported, so a wrong path is answered at once.
    code = ("import sys; from lift_reader.cli.entry import main; main(['add', sys.argv[1]]); main(['books']); "
            "print('torch' in sys.modules)")
    light = subprocess.run([sys.executable, "-c", code, str(SAMPLE_STORY)], capture_output=True, text=True,
                           env=dict(os.environ, LIFT_READER_HOME=str(lift_home)), timeout=240)
    assert light.stdout.strip().endswith("False"), light.stdout + light.stderr


def test_memorize_ask_and_manage_adapters(lift_home, tiny_folder, tmp_path, short_book):
    model = ["--model", str(tiny_folder)]
    result = lift(*model, "memorize", str(short_book), *MEMORIZE_FAST, "--name", "ledger", home=lift_home)
    assert result.returncode == 0, result.stderr
    assert "adapter 'ledger'" in result.stdout
    assert "steps" in result.stdout and "tokens" in result.stdout  # the estimate printed first

    asked = lift(*model, "ask", str(short_book), "Who keeps the light?", "--max-new-tokens", "8", home=lift_home)
    assert asked.returncode == 0, asked.stderr
    assert "context from pages" in asked.stderr
    # Spoiler-safe (the short book has two pages): page 1 only, and the whole-book adapter is flagged.
    limited = lift(*model, "ask", str(short_book), "Who keeps the light?", "--max-new-tokens", "8",
                   "--up-to-page", "1", home=lift_home)
    assert limited.returncode == 0, limited.stderr
    assert "[context from pages 1]" in limited.stderr and "read past page 1" in limited.stderr
    assert "read past" not in asked.stderr
    # A spoiler-safe adapter gets its page in its name and leaves the whole-book one active.
    safe = lift(*model, "memorize", str(short_book), *MEMORIZE_FAST, "--up-to-page", "1", home=lift_home)
    assert safe.returncode == 0, safe.stderr
    assert "\"The Lighthouse Keeper's Ledger, up to p. 1\"" in safe.stdout
    assert "active adapter stays 'ledger'" in safe.stdout
    assert "memorized (ledger)" in lift("books", home=lift_home).stdout
    limited = lift(*model, "ask", str(short_book), "Who keeps the light?", "--max-new-tokens", "8",
                   "--up-to-page", "1", home=lift_home)
    assert limited.returncode == 0 and "read past" not in limited.stderr  # the spoiler-safe one answered

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
    imported_name = re.search(r"imported adapter '([^']+)'", imported.stdout).group(1)
    for name in ("Ledger v2", imported_name):  # the same Workspace.activate_adapter as the app's Activate button
        activated = lift("adapters", "activate", name, home=lift_home)
        assert activated.returncode == 0 and f"{name!r} now answers for its book" in activated.stdout
        assert f"memorized ({name})" in lift("books", home=lift_home).stdout
    assert lift("adapters", "rm", "Ledger v2", home=lift_home).returncode == 0
    assert "Ledger v2" not in lift("adapters", "list", home=lift_home).stdout


def _checkpoint_step(home: Path) -> int:
    """The step of the (one) checkpoint under ``home``; staging folders and leftovers are no checkpoint."""
    states = [p for p in (home / "checkpoints").glob("*/state.json") if not p.parent.name.startswith(".")]
    if not states:
        return 0
    assert len(states) == 1, states
    return json.loads(states[0].read_text())["step"]


def _adapter(home: Path) -> tuple[dict, list]:
    """The (one) saved adapter's LoRA weights and loss curve."""
    from safetensors.numpy import load_file

    (folder,) = [p for p in (home / "adapters").iterdir() if not p.name.startswith(".")]
    meta = json.loads((folder / "lift_adapter.json").read_text())
    return load_file(str(folder / "adapter_model.safetensors")), meta["loss_curve"]


KILL_RUN = [*MEMORIZE_FAST, "--epochs", "1"]  # 72 steps, checkpoints at steps 5, 10, 15, ...


@pytest.fixture(scope="module")
def straight_run(tiny_folder, tmp_path_factory) -> tuple[Path, Path]:
    """(book, data folder) of the uninterrupted run that every killed and resumed one must equal."""
    home = tmp_path_factory.mktemp("straight-home")
    book = tmp_path_factory.mktemp("book") / "ledger-chapter-1.txt"
    book.write_text(SAMPLE_STORY.read_text(encoding="utf-8")[:3200], encoding="utf-8")
    done = lift("--model", str(tiny_folder), "memorize", str(book), *KILL_RUN, home=home, timeout=600)
    assert done.returncode == 0, done.stderr
    return book, home


# (where the process dies, the checkpoint step it must resume from, whether it dies inside a save)
KILL_POINTS = [
    ("step@7", 5, False),  # between two checkpoints
    ("checkpoint-weights@10", 5, True),  # inside the save of step 10: weights staged, the rest not
    ("checkpoint-files@10", 5, True),  # inside the save: every file staged, nothing swapped in yet
    ("checkpoint-saved@10", 10, False),  # just after the save
]


@pytest.mark.parametrize(("kill_at", "saved_step", "inside_save"), KILL_POINTS, ids=[k[0] for k in KILL_POINTS])
def test_killed_memorize_resumes_from_its_checkpoint_with_its_weights(lift_home, tiny_folder, straight_run,
                                                                      kill_at, saved_step, inside_save):
    book, straight_home = straight_run
    args = ["--model", str(tiny_folder), "memorize", str(book), *KILL_RUN]
    env = dict(os.environ, LIFT_READER_HOME=str(lift_home), LIFT_READER_CRASH_AT=kill_at)
    killed = subprocess.run([sys.executable, "-m", "lift_reader", *args], capture_output=True, text=True, env=env,
                            timeout=240)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert _checkpoint_step(lift_home) == saved_step
    staged = list((lift_home / "checkpoints").glob(".*.staging-*"))
    assert bool(staged) == inside_save  # the kill really landed inside the save, and left its folder

    resumed = lift(*args, "--resume", home=lift_home)
    assert resumed.returncode == 0, resumed.stderr
    # It went on from the saved step (a restart from zero prints no such line)...
    assert f"resuming from step {saved_step}/" in resumed.stdout
    # ...with the saved weights, optimizer and random state: the adapter and the whole loss curve are the
    # uninterrupted run's.  Fresh weights at step 5 or 10 would give another curve from there on.
    weights, curve = _adapter(lift_home)
    straight_weights, straight_curve = _adapter(straight_home)
    assert np.allclose(np.array(curve), np.array(straight_curve), atol=1e-4)  # [[step, loss], ...]
    assert weights.keys() == straight_weights.keys()
    for name, tensor in weights.items():
        assert np.allclose(tensor, straight_weights[name], atol=1e-5), name
    # The run is done: its checkpoint and whatever the kill left in the folder are gone.
    assert list((lift_home / "checkpoints").iterdir()) == []


@pytest.mark.parametrize(("sig", "then_resume"), [("TERM", True), ("HUP", False)])
def test_sigterm_or_sighup_at_a_chosen_step_saves_that_step_and_resumes_from_it(lift_home, tiny_folder,
                                                                                straight_run, sig, then_resume):
    """A logout, shutdown or `kill` (SIGTERM) or a closed terminal (SIGHUP) stops like Ctrl-C: nothing lost."""
    book, _ = straight_run
    args = ["--model", str(tiny_folder), "memorize", str(book), *KILL_RUN]
    env = dict(os.environ, LIFT_READER_HOME=str(lift_home), LIFT_READER_CRASH_AT=f"step@7:{sig}")
    stopped = subprocess.run([sys.executable, "-m", "lift_reader", *args], capture_output=True, text=True, env=env,
                             timeout=240)
    assert stopped.returncode == 130, stopped.stderr
    assert "stopped at step 7/" in stopped.stdout and "--resume" in stopped.stdout
    assert _checkpoint_step(lift_home) == 7  # the step the signal came after, not the last periodic checkpoint (5)
    if not then_resume:  # resuming is the same for every signal: once is enough
        return
    resumed = lift(*args, "--resume", home=lift_home)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming from step 7/" in resumed.stdout


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


def test_memorize_under_torchrun_saves_one_adapter_like_a_single_process(lift_home, tiny_folder, short_book):
    """Two gloo processes: one adapter, one progress report, the same weights as one process with --grad-accum 2."""
    from safetensors.torch import load_file

    # fp32 and one thread a process on both sides, so that only the order of additions differs.
    env = dict(os.environ, LIFT_READER_HOME=str(lift_home), OMP_NUM_THREADS="1")
    model = ["--model", str(tiny_folder), "--device", "cpu", "--precision", "fp32"]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2", "-m", "lift_reader",
           *model, "memorize", str(short_book), *MEMORIZE_FAST, "--name", "two"]
    two = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    # On failure show both ends of stderr: rank 0's own error comes early, the tail is rank 1 losing its peer.
    assert two.returncode == 0, two.stderr[:2000] + "\n[...]\n" + two.stderr[-2000:]
    assert two.stdout.count("memorized in") == 1 and "2 processes: each step takes 2 micro-batches" in two.stdout
    one = subprocess.run([sys.executable, "-m", "lift_reader", *model, "memorize", str(short_book), *MEMORIZE_FAST,
                          "--grad-accum", "2", "--name", "one"], capture_output=True, text=True, env=env, timeout=600)
    assert one.returncode == 0, one.stderr
    listing = lift("adapters", "list", home=lift_home).stdout
    assert "two" in listing and "one" in listing
    weights = {name: load_file(str(next((lift_home / "adapters").glob(f"{name}*")) / "adapter_model.safetensors"))
               for name in ("one", "two")}
    assert weights["one"].keys() == weights["two"].keys()
    for key, value in weights["one"].items():
        assert float((value - weights["two"][key]).abs().max()) < 1e-4, key


def test_batch_memorizes_a_folder_skips_what_is_done_and_reports_failures(lift_home, tiny_folder, tmp_path):
    shelf = tmp_path / "shelf"
    shelf.mkdir()
    text = SAMPLE_STORY.read_text(encoding="utf-8")
    (shelf / "a-first.txt").write_text(text[:1500], encoding="utf-8")
    (shelf / "b-second.md").write_text(text[1500:3000], encoding="utf-8")
    (shelf / "c-broken.epub").write_text("not a zip", encoding="utf-8")
    (shelf / "notes.json").write_text("{}", encoding="utf-8")  # not a book format: not picked up
    model = ["--model", str(tiny_folder)]
    fast = ["--epochs", "1", "--segment-length", "64", "--lr", "0.01"]

    first = lift(*model, "batch", str(shelf), *fast, home=lift_home)
    assert first.returncode == 1, first.stderr  # one book failed; the others were memorized
    summary = first.stdout.split("book ", 1)[1]
    assert "a-first.txt" in summary and "b-second.md" in summary and "c-broken.epub" in summary
    assert "2 memorized, 1 failed" in first.stdout and "notes.json" not in first.stdout
    assert lift("adapters", "list", home=lift_home).stdout.count("\n") >= 2

    (shelf / "c-broken.epub").unlink()
    listed = tmp_path / "books.txt"
    listed.write_text("# my reading list\nshelf/a-first.txt\n\nshelf/b-second.md\n", encoding="utf-8")
    again = lift(*model, "batch", "--list", str(listed), *fast, home=lift_home)
    assert again.returncode == 0, again.stderr
    assert "2 skipped" in again.stdout and "already memorized" in again.stdout

    other = lift(*model, "batch", str(shelf / "a-first.txt"), "--epochs", "2", "--segment-length", "64",
                 "--dry-run", home=lift_home)
    assert other.returncode == 0 and "1 to do" in other.stdout  # other settings: not the same adapter

    missing = lift(*model, "batch", str(tmp_path / "nowhere"), home=lift_home)
    assert missing.returncode == 2 and "no such file or folder" in missing.stderr


def test_library_chatter_is_kept_below_warnings():
    """Loading a model must not print library warnings a reader cannot act on."""
    import logging

    from lift_reader.cli.entry import _quiet_libraries

    names = ("bitsandbytes", "kernels._internals.hf_hub")
    before = {name: logging.getLogger(name.split(".")[0]).level for name in names}
    try:
        _quiet_libraries()
        for name in names:
            assert not logging.getLogger(name).isEnabledFor(logging.WARNING), name
    finally:
        for name, level in before.items():
            logging.getLogger(name.split(".")[0]).setLevel(level)
