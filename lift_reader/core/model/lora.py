"""LoRA adapters on the loaded base model: create one for training, save it.

A trained adapter is written as a peft folder (``adapter_config.json`` +
``adapter_model.safetensors``) that ``peft`` can load anywhere; our own
metadata lives beside it (``store/adapters.py``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import torch
from safetensors.torch import save_file

from lift_reader.core.model.models import LoadedModel
from lift_reader.core.memorize.settings import MemorizeSettings


def adapted_layers(settings: MemorizeSettings, num_layers: int) -> list[int] | None:
    """The decoder layers that get LoRA: the top ``lora_layers`` share of them (None: all).

    Only the upper layers: nothing below the lowest adapted layer needs a gradient, so autograd
    records no graph there and the backward pass stops at that layer (cheaper steps, less memory).
    """
    if settings.lora_layers >= 1 or num_layers <= 0:
        return None
    top = max(1, round(settings.lora_layers * num_layers))
    return list(range(num_layers - top, num_layers))


def lora_config(settings: MemorizeSettings, model: torch.nn.Module | None = None):
    from peft import LoraConfig

    targets = settings.target_modules
    if targets != "all-linear":
        targets = [t.strip() for t in targets.split(",") if t.strip()]
    layers = adapted_layers(settings, _num_decoder_layers(model)) if model is not None else None
    if layers is not None:
        targets = _upper_layer_pattern(model, targets, layers)
    return LoraConfig(
        r=settings.lora_rank,
        lora_alpha=settings.lora_alpha,
        lora_dropout=settings.lora_dropout,
        target_modules=targets,
        bias="none",
        task_type="CAUSAL_LM",
    )


def _num_decoder_layers(model) -> int:
    config = getattr(model, "config", None)
    return int(getattr(config, "num_hidden_layers", 0) or 0)


def _upper_layer_pattern(model: torch.nn.Module, targets, layers: list[int]) -> str:
    """A peft target regex: the chosen linear layers of decoder layers ``layers`` only.

    peft refuses ``layers_to_transform`` beside "all-linear", so "all-linear" is spelled out as the
    names of the linear layers inside the decoder layers (4-bit layers are nn.Linear subclasses).
    """
    if targets == "all-linear":
        targets = sorted({name.rsplit(".", 1)[-1] for name, module in model.named_modules()
                          if isinstance(module, torch.nn.Linear) and ".layers." in name})
    numbers = "|".join(str(i) for i in layers)
    names = "|".join(re.escape(t) for t in targets)
    return rf".*\.layers\.({numbers})\.(.*\.)?({names})"


def add_training_adapter(lm: LoadedModel, name: str, settings: MemorizeSettings) -> torch.nn.Module:
    """Attach a fresh trainable LoRA adapter called ``name``; only it requires grad.

    Other adapters already attached (for answering) stay frozen and inactive.
    On a 4-bit base we let peft prepare the model (fp32 norms, input grads), as QLoRA does.
    """
    from peft import get_peft_model, prepare_model_for_kbit_training

    config = lora_config(settings, lm.model)
    if lm.is_peft:
        if name in lm.model.peft_config:
            lm.model.delete_adapter(name)
        lm.model.add_adapter(name, config)
    else:
        if lm.placement.precision == "nf4":
            # fp32 norms and input grads as QLoRA does; gradient checkpointing is decided per run
            # from free memory (training.py), not always on.
            lm.model = prepare_model_for_kbit_training(lm.model, use_gradient_checkpointing=False)
        lm.model = get_peft_model(lm.model, config, adapter_name=name)
    lm.model.set_adapter(name)
    lm.weights_version += 1
    lm.prompt_cache.clear()
    lm.attached.pop(name, None)
    lm.active_adapter = name
    marker = f".{name}."
    low_precision = lm.lora_dtype
    for pname, param in lm.model.named_parameters():
        param.requires_grad = "lora_" in pname and marker in pname
        if param.requires_grad and low_precision is not None:
            # Compute in the base's bf16 (no casts of every LoRA layer's input and output);
            # training.py keeps fp32 master weights, so the updates lose no precision.
            param.data = param.data.to(low_precision)
    return lm.model


def finish_training_adapter(lm: LoadedModel, name: str) -> None:
    """Freeze the adapter after training; it stays attached and active for answering."""
    for pname, param in lm.model.named_parameters():
        if f".{name}." in pname:
            param.requires_grad = False
    lm.model.eval()
    lm.active_adapter = name


def drop_training_adapter(lm: LoadedModel, name: str) -> None:
    """Remove a training adapter from the model (after it was saved, or on a probe).

    When it was the last adapter, the peft wrapper goes too: peft keeps naming the deleted adapter
    as active, so ``get_base_model()`` and every forward pass would raise KeyError (seen after the
    estimate's probe on a fresh machine, when the study stage's teacher read the book next).
    """
    if lm.is_peft and name in lm.model.peft_config:
        lm.model.delete_adapter(name)
        if not lm.model.peft_config:
            lm.model = lm.model.base_model.unload()
    if lm.active_adapter == name:
        lm.active_adapter = None


def save_adapter_weights(lm: LoadedModel, name: str, folder: Path) -> None:
    """Write adapter ``name`` as a standard peft folder (safetensors only)."""
    from peft import get_peft_model_state_dict

    folder.mkdir(parents=True, exist_ok=True)
    state = get_peft_model_state_dict(lm.model, adapter_name=name)
    save_file({k: v.detach().to("cpu").contiguous() for k, v in state.items()},
              str(folder / "adapter_model.safetensors"), metadata={"format": "pt"})
    config = lm.model.peft_config[name]
    payload = config.to_dict()
    payload["base_model_name_or_path"] = lm.identity.label
    (folder / "adapter_config.json").write_text(json.dumps(payload, indent=2, default=list), encoding="utf-8")


def count_trainable(model: torch.nn.Module) -> tuple[int, int]:
    """(trainable, total) parameter counts."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return trainable, total
