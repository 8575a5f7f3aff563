"""Memorize estimates: speeds remembered from finished runs, the prefix of contextualized segments."""

import dataclasses
import json

import pytest

from lift_reader.core.memorize.estimate import estimate_memorize, known_throughput, record_throughput
from lift_reader.core.memorize.settings import MemorizeSettings
from lift_reader.store.paths import data_home


def test_one_slow_run_does_not_set_later_estimates(tiny_lm):
    settings = MemorizeSettings()
    assert known_throughput(tiny_lm, settings) is None
    for speed in (200.0, 210.0, 20.0):  # the third run shared the machine with other work
        record_throughput(tiny_lm, settings, speed)
    assert known_throughput(tiny_lm, settings) == 200.0
    for speed in (190.0, 195.0, 205.0):  # only the last five runs count
        record_throughput(tiny_lm, settings, speed)
    assert known_throughput(tiny_lm, settings) == 195.0
    other = MemorizeSettings(segment_length=512)
    assert known_throughput(tiny_lm, other) is None  # another setup has its own speeds
    assert known_throughput(tiny_lm, MemorizeSettings(lora_layers=0.5)) is None  # upper-layer LoRA: faster steps


def test_a_file_from_an_older_version_still_counts(tiny_lm):
    settings = MemorizeSettings()
    record_throughput(tiny_lm, settings, 100.0)
    path = data_home() / "throughput.json"
    table = json.loads(path.read_text())
    path.write_text(json.dumps({key: 150.0 for key in table}))  # one number per setup, as before
    assert known_throughput(tiny_lm, settings) == 150.0
    record_throughput(tiny_lm, settings, 170.0)
    assert known_throughput(tiny_lm, settings) == 160.0


def test_contextualized_segments_cost_their_prefix(tiny_lm):
    plain = estimate_memorize(tiny_lm, 10_000, MemorizeSettings())
    ctx = estimate_memorize(tiny_lm, 10_000, MemorizeSettings(contextualized=True))
    assert ctx.steps == plain.steps and ctx.segments == plain.segments
    assert 1.2 < ctx.tokens_to_train / plain.tokens_to_train < 1.45  # ~84 prefix tokens per 256
    assert ctx.seconds > plain.seconds


def test_auxiliary_items_are_counted_as_steps(tiny_lm):
    plain = estimate_memorize(tiny_lm, 10_000, MemorizeSettings())
    aux = estimate_memorize(tiny_lm, 10_000, MemorizeSettings(aux_tasks=True, aux_items_per_1k_tokens=2))
    assert aux.steps == plain.steps + 2 * 20  # 20 items, in each of the 2 epochs
    assert aux.tokens_to_train > plain.tokens_to_train


def test_study_items_and_the_reading_pass_are_counted(tiny_lm):
    plain = estimate_memorize(tiny_lm, 10_000, MemorizeSettings())
    study = estimate_memorize(tiny_lm, 10_000, MemorizeSettings(study=True, study_per_1k_tokens=20, study_batch=8))
    assert study.study_items == 200
    assert study.steps == plain.steps + 2 * 25  # 200 items in batches of 8, in each of the 2 epochs
    assert study.reading_seconds > 0 and study.seconds > plain.seconds + study.reading_seconds * 0.99
    labels = estimate_memorize(tiny_lm, 10_000, MemorizeSettings(study=True, study_targets="labels"))
    assert labels.reading_seconds == 0  # known answers as labels: no teacher to run
    only = estimate_memorize(tiny_lm, 10_000, MemorizeSettings(study=True, segment_weight=0.0))
    assert only.steps == 2 * 25 and only.tokens_to_train < plain.tokens_to_train
    assert any("study: 200 items" in line for line in study.lines())
    assert all(isinstance(e.tokens_to_train, int) for e in (plain, study))  # a line read "144,140.0 tokens"
    reading = estimate_memorize(tiny_lm, 10_000, MemorizeSettings(study=True, study_per_1k_tokens=20, study_batch=8,
                                                                  study_reading=0.5))
    assert reading.study_items == 300 and reading.steps == study.steps + 2 * 13  # 100 reading items apart
    assert reading.tokens_to_train > study.tokens_to_train + 2 * 100 * 200  # each carries a passage
    assert reading.reading_seconds == study.reading_seconds  # they share their questions' targets


@pytest.mark.parametrize("reading", [0.0, 0.5])
def test_the_estimate_counts_the_steps_a_study_run_takes(ferry_book, reading):
    from lift_reader.core.memorize.estimate import estimate_memorize

    ws, record = ferry_book
    settings = MemorizeSettings(segment_length=64, epochs=2, study=True, study_per_1k_tokens=30, study_reading=reading)
    job = ws.memorize_job(record, settings)
    estimate = estimate_memorize(ws.lm, len(job.tokens), settings)
    assert estimate.steps == job.total_steps


def test_a_first_estimate_times_the_model_once(tiny_lm, lift_home, tmp_path, story_text, monkeypatch):
    """With no run finished, the speed is probed (not guessed from the model's size), and only once."""
    from lift_reader.core.memorize import estimate as estimate_module
    from lift_reader.core.workspace import Workspace
    from lift_reader.store.library import Library

    monkeypatch.setattr(estimate_module, "_probed", {})
    probes = []
    real_probe = estimate_module.probe_throughput
    monkeypatch.setattr(estimate_module, "probe_throughput", lambda *a: probes.append(1) or real_probe(*a))
    path = tmp_path / "story.txt"
    path.write_text(story_text[:3000], encoding="utf-8")
    ws = Workspace(Library(), progress=lambda _message: None)
    ws.use_model(tiny_lm)
    record = ws.add_book(path)
    settings = MemorizeSettings(segment_length=64)
    assert ws.estimate(record, settings, probe=False).throughput_source == "guess"
    first = ws.estimate(record, settings)
    again = ws.estimate(record, dataclasses.replace(settings, epochs=3))  # the form changed: same setup
    assert (first.throughput_source, again.throughput_source) == ("probe", "probe")
    assert again.tokens_per_s == first.tokens_per_s and len(probes) == 1
    ws.library.close()
