"""torch.compile in memorize: same losses as eager, undone afterwards, and a failure falls back."""

import numpy as np
import pytest
import torch

from lift_reader.core.memorize import compiling
from lift_reader.core.memorize.settings import MemorizeSettings
from lift_reader.core.memorize.training import MemorizeJob

SETTINGS = MemorizeSettings(segment_length=32, epochs=1, learning_rate=5e-3, warmup_ratio=0.1)


def _run(lm, tokens):
    events = list(MemorizeJob(lm, tokens, SETTINGS, job_key="c", checkpoint_dir=None).run())
    return [e.loss for e in events if e.kind == "step"], [e.message for e in events if e.kind == "notice"]


def test_auto_policy_compiles_only_long_runs(monkeypatch):
    monkeypatch.delenv(compiling.ENV, raising=False)
    cpu = torch.device("cpu")
    assert not compiling.should_compile(cpu, 10_000)
    monkeypatch.setattr(compiling.shutil, "which", lambda name: "/usr/bin/" + name)
    assert compiling.should_compile(cpu, compiling.AUTO_MIN_TOKENS)
    assert not compiling.should_compile(cpu, 10 * compiling.AUTO_MIN_TOKENS, shapes_vary=True)  # study questions
    assert compiling.should_compile(cpu, 10, "on", shapes_vary=True)  # asked for: compiled all the same
    monkeypatch.setattr(compiling.shutil, "which", lambda name: None)
    assert not compiling.should_compile(cpu, 10 * compiling.AUTO_MIN_TOKENS)  # no C compiler for inductor
    monkeypatch.setenv(compiling.ENV, "0")
    monkeypatch.setattr(compiling.shutil, "which", lambda name: "/usr/bin/" + name)
    assert not compiling.should_compile(cpu, 10 * compiling.AUTO_MIN_TOKENS)


@pytest.mark.slow
def test_compiled_run_matches_eager_and_is_undone(tiny_parts, short_story_tokens, monkeypatch):
    import copy

    from lift_reader.core.model.models import wrap_loaded

    tok, model = tiny_parts
    monkeypatch.setenv(compiling.ENV, "0")
    eager, _ = _run(wrap_loaded(copy.deepcopy(model), tok, label="t", fingerprint="f"), short_story_tokens)
    monkeypatch.setenv(compiling.ENV, "1")
    lm = wrap_loaded(copy.deepcopy(model), tok, label="t", fingerprint="f")
    compiled, notices = _run(lm, short_story_tokens)
    assert any("compiling the model" in n for n in notices)
    np.testing.assert_allclose(compiled, eager, rtol=2e-3)
    layers = compiling._decoder_layers(lm.model)
    assert layers and all(layer._compiled_call_impl is None for layer in layers)


def test_a_compiler_failure_falls_back_to_eager(tiny_lm, short_story_tokens, monkeypatch):
    monkeypatch.setenv(compiling.ENV, "1")

    def broken_compile(model):
        layers = compiling._decoder_layers(model)

        def fail(*args, **kwargs):
            raise RuntimeError("inductor: no working C++ compiler")

        for layer in layers:
            layer._compiled_call_impl = fail

        def undo():
            for layer in layers:
                layer._compiled_call_impl = None

        return undo

    monkeypatch.setattr("lift_reader.core.memorize.training.compile_decoder_layers", broken_compile)
    losses, notices = _run(tiny_lm, short_story_tokens)
    assert any("compiling failed (RuntimeError)" in n for n in notices)
    assert losses and all(np.isfinite(losses))


def test_the_runs_setting_forces_compiling_unless_the_environment_does(monkeypatch):
    monkeypatch.delenv(compiling.ENV, raising=False)
    monkeypatch.setattr(compiling.shutil, "which", lambda name: "/usr/bin/" + name)
    cpu = torch.device("cpu")
    assert compiling.should_compile(cpu, 10, "on")
    assert not compiling.should_compile(cpu, 10 * compiling.AUTO_MIN_TOKENS, "off")
    monkeypatch.setenv(compiling.ENV, "0")
    assert not compiling.should_compile(cpu, 10, "on")
    # How a run is computed is not what it trains: the same key, so a checkpoint resumes either way.
    assert MemorizeSettings(compile="on").training_key() == MemorizeSettings().training_key()


def test_the_compile_flag_reaches_the_settings():
    from lift_reader.cli import build_parser
    from lift_reader.cli.recipe import memorize_settings as _memorize_settings

    args = build_parser().parse_args(["memorize", "book.txt", "--compile", "off"])
    assert _memorize_settings(args, "cpu").compile == "off"
    assert _memorize_settings(build_parser().parse_args(["memorize", "book.txt"]), "cpu").compile == "auto"
