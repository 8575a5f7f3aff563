"""Helpers of the interop tests: a tiny base model as a folder and as a GGUF, and an adapter on it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SAMPLE_STORY = Path(__file__).resolve().parents[2] / "resources" / "samples" / "the-lighthouse-keepers-ledger.txt"


@dataclass
class TinyBase:
    arch: str  # llama.cpp's name: "llama" or "gemma3"
    folder: Path  # the transformers folder (what the app converts a GGUF into)
    gguf: Path  # the same weights under llama.cpp's names


def load_app_model(folder: Path, label: str):
    """The base model as the app loads it (fp32 on the CPU), recorded under ``label``."""
    from lift_reader.core.model.hardware import Placement
    from lift_reader.core.model.models import load_from_folder

    return load_from_folder(folder, Placement("cpu", "fp32"), label=label)


def save_app_adapter(lm, name: str, *, seed: int = 1, **changes) -> Path:
    """An adapter saved and recorded the way a memorize run leaves one, with random (non-zero) LoRA weights."""
    import torch

    from lift_reader.core.model.lora import add_training_adapter, drop_training_adapter, save_adapter_weights
    from lift_reader.core.memorize.settings import MemorizeSettings
    from lift_reader.store.adapters import AdapterMeta, adapter_folder_for, folder_size, write_meta
    from lift_reader.store.library import Library

    settings = MemorizeSettings.for_hardware("cpu").with_changes(lora_rank=4, lora_alpha=8, **changes)
    add_training_adapter(lm, "lift-new", settings)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for pname, param in lm.model.named_parameters():
            if "lora_" in pname:  # peft starts B at zero: such an adapter would change nothing
                param.copy_(torch.randn(param.shape, generator=generator) * 0.2)
    folder = adapter_folder_for(name)
    save_adapter_weights(lm, "lift-new", folder)
    drop_training_adapter(lm, "lift-new")
    meta = AdapterMeta(name=name, base_model=lm.identity.as_dict(), book_hash="ab" * 32,
                       book_title="The Lighthouse Keeper's Ledger", settings=settings.as_dict(), steps=3)
    write_meta(folder, meta)
    Library().record_adapter(name, meta.book_hash, meta.base_model_id, folder, steps=3,
                             size_bytes=folder_size(folder), settings=meta.settings)
    return folder
