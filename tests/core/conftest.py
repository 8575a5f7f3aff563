"""Fixtures shared by the core tests."""

import pytest

from lift_reader.core.text.book import BookText
from lift_reader.core.text.book_tokens import tokenize_book


@pytest.fixture
def book(story_text):
    """The sample story with synthetic pages of 2,000 characters, so page numbers can be checked."""
    return BookText(text=story_text, page_starts=list(range(0, len(story_text), 2000)), title="The Ledger")


@pytest.fixture
def tokens(book, tiny_parts):
    return tokenize_book(book.text, tiny_parts[0])


@pytest.fixture
def short_story_tokens(tiny_parts, story_text):
    """The first 3,000 characters of the sample story in tiny-model tokens (a run of a few dozen steps)."""
    return tokenize_book(story_text[:3000], tiny_parts[0])


@pytest.fixture
def ferry_book(tiny_lm, tmp_path):
    """A workspace on the tiny model with a short made-up book in its library: (workspace, record)."""
    from lift_reader.core.workspace import Workspace

    story = tmp_path / "story.txt"
    story.write_text("The Ferry\nby A. Writer\n\n" + " ".join(
        f"On day {i} the ferry Marigold carried {i * 3} passengers to Orrin Isle." for i in range(60)))
    ws = Workspace(progress=lambda m: None)
    ws.use_model(tiny_lm)
    return ws, ws.add_book(story)


@pytest.fixture
def informative_lora(tiny_parts):
    """make(arch, softcap, dtype): a LoRA (r=4) on a fresh tiny model with non-zero lora_B, so its gradients say something."""
    import torch

    from lift_reader.core.model.lora import add_training_adapter
    from lift_reader.core.model.models import wrap_loaded
    from lift_reader.core.memorize.settings import MemorizeSettings
    from lift_reader.core.model.tiny_model import tiny_model

    tok = tiny_parts[0]

    def make(arch: str = "llama", softcap: float | None = None, dtype=torch.float32):
        model = tiny_model(tok, arch=arch).to(dtype)
        if softcap:
            model.config.final_logit_softcapping = softcap
        peft_model = add_training_adapter(wrap_loaded(model, tok, label="t", fingerprint="f"), "m",
                                          MemorizeSettings(lora_rank=4))
        with torch.no_grad():
            for name, p in peft_model.named_parameters():
                if "lora_B" in name:
                    p.normal_(0, 0.05)
        return peft_model

    return make
