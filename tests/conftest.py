"""Shared fixtures: an isolated data folder and tiny in-process models."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never download
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
SAMPLE_STORY = REPO / "resources" / "samples" / "the-lighthouse-keepers-ledger.txt"


@pytest.fixture(autouse=True)
def lift_home(tmp_path_factory, monkeypatch) -> Path:
    """Every test gets its own empty data folder."""
    home = tmp_path_factory.mktemp("lift-home")
    monkeypatch.setenv("LIFT_READER_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def story_text() -> str:
    return SAMPLE_STORY.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def tiny_parts(story_text):
    """A tokenizer trained on the sample story and a random 2-layer Llama."""
    from lift_reader.core.model.tiny_model import tiny_model, tiny_tokenizer

    tok = tiny_tokenizer(story_text, vocab_size=512)
    return tok, tiny_model(tok)


@pytest.fixture
def tiny_lm(tiny_parts):
    """A fresh LoadedModel around a copy of the tiny model (tests may train it)."""
    import copy

    from lift_reader.core.model.models import wrap_loaded

    tok, model = tiny_parts
    return wrap_loaded(copy.deepcopy(model), tok, label="tiny-llama", fingerprint="tiny0001")


@pytest.fixture
def shared_data():
    """shared_data(name) -> path in ../shared/data, or skip when that folder is absent."""

    def find(name: str) -> Path:
        path = SHARED_DATA / name
        if not path.exists():
            pytest.skip(f"{path} not present (the shared data folder sits beside a development checkout only)")
        return path

    return find
