"""A tiny random causal LM with a real tokenizer, built in-process.

Tests, benchmarks of the machinery and GUI checks need a model that loads in
milliseconds and never downloads anything.  The tokenizer is a byte-level
BPE trained on the given text, so any input can be encoded; the model is a
two-layer Llama (or Gemma 3, the embedded model's architecture) with random
weights.  Nothing here is meant to answer well.
"""

from __future__ import annotations

from pathlib import Path

import torch

_DEFAULT_CORPUS = (
    "The quick brown fox jumps over the lazy dog. Question: Who wrote the book? Answer: "
    "Call me Ishmael. It was the best of times, it was the worst of times. 0123456789 "
)


def tiny_tokenizer(corpus: str = _DEFAULT_CORPUS, vocab_size: int = 384):
    """A byte-level BPE tokenizer trained on ``corpus`` (a fast HF tokenizer)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.BPE(unk_token=None))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<pad>", "<eos>", "<bos>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    core.train_from_iterator([corpus], trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=core, pad_token="<pad>", eos_token="<eos>", bos_token="<bos>"
    )


def tiny_model(tokenizer, *, arch: str = "llama", hidden: int = 48, layers: int = 2, seed: int = 0,
               max_positions: int = 1024) -> torch.nn.Module:
    """A random causal LM sized for tests (~100K parameters)."""
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    vocab = len(tokenizer)
    common = dict(
        vocab_size=vocab,
        hidden_size=hidden,
        intermediate_size=hidden * 2,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=max_positions,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=tokenizer.bos_token_id,
        tie_word_embeddings=True,
        # Larger than the usual 0.02: with tied embeddings and a frozen final
        # norm, tiny random models otherwise cannot express a sharp next-token
        # distribution and a LoRA on them barely learns.
        initializer_range=0.3,
    )
    if arch == "llama":
        from transformers import LlamaConfig

        config = LlamaConfig(**common)
    elif arch == "gemma3":
        from transformers import Gemma3TextConfig

        config = Gemma3TextConfig(**common, head_dim=hidden // 4, sliding_window=64)
    else:
        raise ValueError(f"unknown tiny architecture {arch!r}")
    model = AutoModelForCausalLM.from_config(config)
    model.eval()
    return model


def save_tiny_model_folder(folder: Path, corpus: str = _DEFAULT_CORPUS, **kwargs) -> Path:
    """Write a tiny model + tokenizer as a normal transformers folder."""
    tokenizer = tiny_tokenizer(corpus)
    model = tiny_model(tokenizer, **kwargs)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
