"""Fixtures for the interop tests (helpers in interop_helpers.py, GGUF writers in gguf_fakes.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # interop_helpers.py, gguf_fakes.py

from interop_helpers import SAMPLE_STORY, TinyBase  # noqa: E402


@pytest.fixture(scope="module", params=["gemma3", "llama"])
def tiny_base(request, tmp_path_factory) -> TinyBase:
    from transformers import AutoModelForCausalLM

    from lift_reader.core.model.tiny_model import save_tiny_model_folder
    from gguf_fakes import write_base_gguf

    root = tmp_path_factory.mktemp(f"tiny-{request.param}")
    folder = save_tiny_model_folder(root / "model", SAMPLE_STORY.read_text(encoding="utf-8"), arch=request.param)
    gguf = write_base_gguf(root / f"tiny-{request.param}.gguf", AutoModelForCausalLM.from_pretrained(folder),
                           request.param)
    return TinyBase(request.param, folder, gguf)
