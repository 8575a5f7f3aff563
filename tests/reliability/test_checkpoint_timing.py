"""Checkpoints by training time as well as by steps (a fake clock, no sleeps), outside the training key."""

from __future__ import annotations

from itertools import count

from lift_reader.core.text.book_tokens import tokenize_book
from lift_reader.core.memorize.settings import MemorizeSettings, job_key
from lift_reader.core.memorize.training import MemorizeJob

SETTINGS = MemorizeSettings(segment_length=32, epochs=1, learning_rate=5e-3, checkpoint_every=1000)


def _checkpoint_steps(tiny_lm, story_text, tmp_path, settings: MemorizeSettings, seconds_per_step: float) -> list:
    tokens = tokenize_book(story_text[:1500], tiny_lm.tokenizer)
    job = MemorizeJob(tiny_lm, tokens, settings, job_key="timed", checkpoint_dir=tmp_path / "ckpt")
    ticks = count()
    job.clock = lambda: next(ticks) * seconds_per_step  # one reading per step: each step "takes" this long
    return [e.step for e in job.run() if e.kind == "checkpoint"]


def test_a_checkpoint_is_written_every_few_minutes_of_training(tiny_lm, story_text, tmp_path):
    steps = _checkpoint_steps(tiny_lm, story_text, tmp_path, SETTINGS.with_changes(checkpoint_minutes=1), 25)
    # The clock starts at step 1; 25 s a step reaches a minute at steps 4 (75 s), 7, 10, ...
    assert steps[:3] == [4, 7, 10]
    assert all(b - a == 3 for a, b in zip(steps, steps[1:]))


def test_minutes_zero_checkpoints_by_steps_only(tiny_lm, story_text, tmp_path):
    settings = SETTINGS.with_changes(checkpoint_minutes=0, checkpoint_every=5)
    steps = _checkpoint_steps(tiny_lm, story_text, tmp_path, settings, 600)
    assert steps and all(step % 5 == 0 for step in steps)


def test_checkpoint_minutes_is_not_part_of_the_training_key():
    assert MemorizeSettings(checkpoint_minutes=0.5).training_key() == MemorizeSettings().training_key()
    assert job_key("ab", "fp", MemorizeSettings(checkpoint_minutes=9)) == job_key("ab", "fp", MemorizeSettings())
    old_adapter = {k: v for k, v in MemorizeSettings().as_dict().items() if k != "checkpoint_minutes"}
    assert MemorizeSettings.from_dict(old_adapter).training_key() == MemorizeSettings().training_key()
