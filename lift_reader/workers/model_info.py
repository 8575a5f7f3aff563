"""The model as the GUI may know it, and the developer switch's tiny model.

Its own module so that ``session.py``, which loads the model, and ``jobs.py``,
whose jobs take the session, do not import each other.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelInfo:
    """What the GUI may know about the loaded model without touching it."""

    label: str
    device: str
    placement: str  # e.g. "cpu, fp32"
    fingerprint: str

    @classmethod
    def of(cls, lm) -> ModelInfo:
        """The facts of a loaded model (``core.model.models.LoadedModel``)."""
        return cls(lm.identity.label, lm.placement.device, lm.placement.describe(), lm.identity.fingerprint)


def tiny_model():
    """A tiny random model (the developer switch LIFT_READER_TINY_MODEL): every screen, in seconds."""
    from lift_reader.core.model.models import wrap_loaded
    from lift_reader.core.model.tiny_model import tiny_model as build_model
    from lift_reader.core.model.tiny_model import tiny_tokenizer
    from lift_reader.resources import sample_story

    tokenizer = tiny_tokenizer(sample_story().read_text(encoding="utf-8"), vocab_size=512)
    return wrap_loaded(build_model(tokenizer), tokenizer, label="tiny random model (developer switch)",
                       fingerprint="tiny-dev")
