"""Fixtures for store tests: a private data folder and tiny adapter folders."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from lift_reader.store.adapters import AdapterMeta, write_meta
from lift_reader.store.library import Library
from lift_reader.store.records import BookRecord

BASE = {"id": "google/gemma-3-270m", "fingerprint": "fp-gemma-0123456789"}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """LIFT_READER_HOME pointed at an empty temporary folder."""
    folder = tmp_path / "home"
    monkeypatch.setenv("LIFT_READER_HOME", str(folder))
    return folder


@pytest.fixture
def library(home: Path) -> Iterator[Library]:
    lib = Library()
    yield lib
    lib.close()


def book_record(n: int = 1, path: str | Path = "/books/one.pdf", **fields) -> BookRecord:
    """A book with a deterministic 64-hex-digit hash derived from ``n``."""
    content_hash = f"{n:02x}" * 32
    return BookRecord(content_hash=content_hash, path=str(path), title=f"Book {n}", author="A. Author",
                      format="pdf", pages=10, chars=12345, **fields)


def write_adapter(folder: Path, name: str = "Moby", base: dict | None = None, seed: int = 0) -> Path:
    """A minimal valid adapter folder: LoRA A/B tensors, a peft config, our metadata."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    save_file(
        {
            "base_model.model.layers.0.self_attn.q_proj.lora_A.weight": rng.standard_normal((4, 32)).astype(np.float32),
            "base_model.model.layers.0.self_attn.q_proj.lora_B.weight": rng.standard_normal((32, 4)).astype(np.float32),
        },
        str(folder / "adapter_model.safetensors"),
    )
    config = {"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": ["q_proj"],
              "base_model_name_or_path": "x"}
    (folder / "adapter_config.json").write_text(json.dumps(config))
    write_meta(
        folder,
        AdapterMeta(
            name=name,
            base_model=dict(base or BASE),
            book_hash="01" * 32,
            book_title="Book 1",
            settings={"lr": 1e-4, "rank": 4, "epochs": 2},
            loss_curve=[[1, 3.25], [2, 2.5]],
            steps=2,
            tokens_seen=4096,
            duration_s=1.5,
        ),
    )
    (folder / "auxiliary_qa.jsonl").write_text('{"q": "Who?", "a": "Ishmael"}\n')
    return folder


@pytest.fixture
def adapter_folder(tmp_path: Path) -> Callable[..., Path]:
    """Factory: ``adapter_folder(name="Moby", base=None, seed=0)`` -> a fresh folder."""
    counter = iter(range(10_000))

    def make(name: str = "Moby", base: dict | None = None, seed: int = 0) -> Path:
        return write_adapter(tmp_path / "src" / f"adapter{next(counter)}", name=name, base=base, seed=seed)

    return make


@pytest.fixture
def make_book() -> Callable[..., BookRecord]:
    """Factory: ``make_book(n=1, path=..., **fields)`` -> a BookRecord to add."""
    return book_record
