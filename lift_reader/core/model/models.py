"""One base model in memory, with adapters attached to it by name.

``load_model()`` resolves a model reference, picks device and precision,
and returns a ``LoadedModel``.  Adapters for different books attach to the
same base (peft ``load_adapter``/``set_adapter``), so switching books costs
a small file read, not a model load.  ``trust_remote_code`` is never on.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import torch

from lift_reader.core.ask.generation import PromptCache
from lift_reader.core.model.hardware import Placement, choose_placement
from lift_reader.core.model.model_source import (
    ModelSource,
    model_fingerprint,
    parse_model_ref,
    resolve_to_folder,
)
from lift_reader.errors import AdapterMismatchError, ModelError


@dataclass(frozen=True)
class BaseModelId:
    """What an adapter records about the base model it was trained on."""

    label: str
    fingerprint: str

    def as_dict(self) -> dict[str, str]:
        return {"id": self.label, "fingerprint": self.fingerprint}


@dataclass
class LoadedModel:
    """A base model ready for training and answering, plus its tokenizer."""

    model: torch.nn.Module  # a transformers causal LM, or a peft wrapper around it
    tokenizer: object
    identity: BaseModelId
    placement: Placement
    folder: Path | None = None
    # adapter name -> folder, for every adapter currently attached to ``model``
    attached: dict[str, Path] = field(default_factory=dict)
    active_adapter: str | None = None
    # Bumped whenever the weights an adapter name stands for may change
    # (attach, detach, training): cached prompt encodings are keyed by it.
    weights_version: int = 0
    prompt_cache: PromptCache = field(default_factory=PromptCache)

    def __post_init__(self):
        _keep_head_input_foldable(self.model)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def context_window(self) -> int:
        config = self.base_config
        for key in ("max_position_embeddings", "n_positions", "max_sequence_length"):
            value = getattr(config, key, None)
            if isinstance(value, int) and value > 0:
                return value
        return 2048

    @property
    def base_config(self):
        return getattr(self.model, "config", None) or self.model.get_base_model().config

    @property
    def is_chat_model(self) -> bool:
        """Instruction-tuned models carry a chat template; base models do not."""
        return bool(getattr(self.tokenizer, "chat_template", None))

    @property
    def is_peft(self) -> bool:
        return hasattr(self.model, "peft_config")

    @property
    def lora_dtype(self) -> torch.dtype | None:
        """The dtype LoRA layers should compute in: bf16/fp16 on an unquantized bf16/fp16 base.

        peft keeps LoRA weights in fp32, so each LoRA layer casts its input up and its output
        back down: on the embedded model that tripled prefill time with an adapter active.
        None means keep peft's fp32 (fp32 bases, and 4-bit bases as QLoRA does).
        """
        if self.placement.precision == "nf4":
            return None
        dtype = next(self.model.parameters()).dtype
        return dtype if dtype in (torch.bfloat16, torch.float16) else None

    def _cast_adapter(self, key: str) -> None:
        dtype = self.lora_dtype
        if dtype is None:
            return
        marker = f".{key}."
        for pname, param in self.model.named_parameters():
            if "lora_" in pname and marker in pname:
                param.data = param.data.to(dtype)

    # --- adapters ------------------------------------------------------------
    # Users name adapters freely ("Moby Dick (2)"); peft keeps adapters in
    # ModuleDicts whose keys may not contain dots and should not clash with
    # its "lora_" prefixes, so each user name maps to a safe internal key.

    def attach_adapter(self, name: str, folder: Path) -> None:
        """Load an adapter folder onto the base (once) and make it active."""
        from peft import PeftModel

        from lift_reader.store.adapters import validate_adapter_folder

        key = peft_key(name)
        if name not in self.attached:
            validate_adapter_folder(folder)  # safetensors only: pickle-based weights are refused
            try:
                if self.is_peft:
                    self.model.load_adapter(str(folder), adapter_name=key, is_trainable=False)
                else:
                    self.model = PeftModel.from_pretrained(
                        self.model, str(folder), adapter_name=key, is_trainable=False
                    )
            except Exception as err:
                raise ModelError(f"could not load adapter {name!r}: {err}") from err
            self._cast_adapter(key)  # answering only reads the weights: bf16 is enough
            self.attached[name] = Path(folder)
            self.weights_version += 1
        self.select_adapter(name)

    def select_adapter(self, name: str) -> None:
        """Make an adapter the one that answers: an attached one, or the one in training (by its own name:
        a memorize run that pauses for a question, ``core/memorize/step_breaks.py``)."""
        self.model.set_adapter(peft_key(name) if name in self.attached else name)
        self.active_adapter = name

    def detach_adapter(self, name: str) -> None:
        if name in self.attached and self.is_peft:
            if self.active_adapter == name:
                self.active_adapter = None
            self.model.delete_adapter(peft_key(name))
            del self.attached[name]
            self.weights_version += 1
            self.prompt_cache.clear()

    @contextlib.contextmanager
    def adapter_disabled(self) -> Iterator[None]:
        """Run the bare base model (the ``icl`` mode), whatever is attached or in training."""
        if self.is_peft:
            with self.model.disable_adapter():
                yield
        else:
            yield

    def check_adapter_base(self, recorded: dict, adapter_name: str) -> None:
        """Refuse an adapter trained on another base model."""
        if recorded.get("fingerprint") != self.identity.fingerprint:
            raise AdapterMismatchError(
                f"adapter {adapter_name!r} was trained on {recorded.get('id', 'another model')} "
                f"({recorded.get('fingerprint')}), but the loaded model is {self.identity.label} "
                f"({self.identity.fingerprint})"
            )


def _keep_head_input_foldable(model: torch.nn.Module) -> None:
    """Give the output layer inputs with plain strides (a pre-hook that copies the last hidden state).

    With ``logits_to_keep=1`` transformers feeds the output layer the slice
    ``hidden[:, -1:, :]``, whose batch stride is the whole prompt's.  Once the
    output weight is frozen (any adapter attached, or training), ``torch.matmul``
    then refuses to fold the batch into one matrix product and instead expands and
    copies the whole (vocabulary x hidden) weight for a batched product: on the
    embedded model 335 MB and ~0.85 s added to every prompt's first token.  Copying
    the (batch x 1 x hidden) slice costs nothing and keeps the fast path.
    """
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    if head is None or getattr(head, "_lift_foldable_hook", False):
        return

    def plain_strides(module, args):
        x = args[0]
        if x.dim() >= 3 and x.stride(0) != x.stride(1) * x.size(1):
            return (x.clone(memory_format=torch.contiguous_format), *args[1:])
        return None

    head.register_forward_pre_hook(plain_strides)
    head._lift_foldable_hook = True


def peft_key(name: str) -> str:
    """A peft-safe adapter key for a user-visible adapter name."""
    import hashlib

    return "adapter_" + hashlib.sha1(name.encode("utf-8")).hexdigest()[:12]


def load_model(
    ref: str | None = None,
    *,
    device: str = "auto",
    precision: str = "auto",
    progress: Callable[[str], None] = print,
) -> LoadedModel:
    """Load a base model for LIFT: the embedded default unless ``ref`` names another."""
    source = parse_model_ref(ref)
    placement = choose_placement(device, precision)
    folder = Path(resolve_to_folder(source, progress))
    return load_from_folder(folder, placement, label=source.label)


def load_from_folder(folder: Path, placement: Placement, *, label: str | None = None) -> LoadedModel:
    """Load a transformers model folder with the given placement."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    kwargs: dict = {"trust_remote_code": False, "dtype": placement.compute_dtype}
    if placement.precision == "nf4":
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_compute_dtype=torch.bfloat16,
            bnb_4bit_use_double_quant=True,
        )
        # "cuda" means the current device: under torchrun each rank has set its own.  bitsandbytes
        # (0.50.2 here) runs NF4 layers on the CPU too (tests/cli/test_nf4.py).
        if placement.device == "cpu" or ":" in placement.device:
            index = placement.device
        else:
            index = f"cuda:{torch.cuda.current_device()}"
        kwargs["device_map"] = {"": index}
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(folder), trust_remote_code=False)
        model = AutoModelForCausalLM.from_pretrained(str(folder), **kwargs)
    except Exception as err:
        raise ModelError(f"could not load the model in {folder}: {str(err).splitlines()[0]}") from err
    if placement.precision != "nf4":
        model.to(placement.device)
    model.eval()
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    identity = BaseModelId(label=label or folder.name, fingerprint=model_fingerprint(folder))
    return LoadedModel(model=model, tokenizer=tokenizer, identity=identity, placement=placement, folder=folder)


def wrap_loaded(model: torch.nn.Module, tokenizer, *, label: str, fingerprint: str) -> LoadedModel:
    """Wrap an in-memory model (tests, benchmarks) as a LoadedModel."""
    dtype = next(model.parameters()).dtype
    placement = Placement(device="cpu", precision="bf16" if dtype == torch.bfloat16 else "fp32")
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.eval()
    return LoadedModel(model=model, tokenizer=tokenizer, identity=BaseModelId(label, fingerprint), placement=placement)


__all__ = ["BaseModelId", "LoadedModel", "ModelSource", "load_model", "load_from_folder", "wrap_loaded"]
