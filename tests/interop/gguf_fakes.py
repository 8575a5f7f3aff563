"""Small GGUF files written with the gguf package, laid out as llama.cpp's converter lays out a model.

A base GGUF for a tiny transformers model carries every weight under its llama.cpp name
(``blk.0.attn_q.weight``, ...) in float32, with the architecture's header fields; discovery
tests need only the header, so their files carry one small tensor.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def write_gguf(path: Path, arch: str, *, blocks: int = 2, heads: int = 4, heads_kv: int = 2,
               tensors: dict[str, np.ndarray] | None = None, name: str = "tiny", chat_template: str | None = None,
               context: int = 1024, hidden: int = 48) -> Path:
    from gguf import GGUFWriter

    path.parent.mkdir(parents=True, exist_ok=True)
    writer = GGUFWriter(path, arch)
    writer.add_name(name)
    writer.add_block_count(blocks)
    writer.add_head_count(heads)
    writer.add_head_count_kv(heads_kv)
    writer.add_context_length(context)
    writer.add_embedding_length(hidden)
    writer.add_feed_forward_length(hidden * 2)
    if chat_template:
        writer.add_chat_template(chat_template)
    for tensor_name, array in (tensors or {"output_norm.weight": np.ones(hidden, np.float32)}).items():
        writer.add_tensor(tensor_name, np.ascontiguousarray(array, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def write_base_gguf(path: Path, model, arch: str) -> Path:
    """The tiny transformers ``model`` as a GGUF base: its weights under llama.cpp's names."""
    from gguf import MODEL_ARCH_NAMES, get_tensor_name_map

    config = model.config
    enum = next(a for a, n in MODEL_ARCH_NAMES.items() if n == arch)
    names = get_tensor_name_map(enum, config.num_hidden_layers)
    tensors = {}
    for hf_name, value in model.state_dict().items():
        if hf_name == "lm_head.weight" and config.tie_word_embeddings:
            continue  # llama.cpp's converter writes no output weight for a tied head
        mapped = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if mapped is not None and mapped not in tensors:  # tied weights appear twice
            tensors[mapped] = value.detach().float().numpy()
    return write_gguf(path, arch, blocks=config.num_hidden_layers, heads=config.num_attention_heads,
                      heads_kv=config.num_key_value_heads, tensors=tensors, hidden=config.hidden_size)


def write_model_gguf(path: Path, arch: str, *, hidden: int = 64, vocab: int = 256, layers: int = 2,
                     kind: str = "model") -> Path:
    """A stand-in for a model file found on disk: its header and the tensors whose shapes size it."""
    tensors = {"token_embd.weight": np.zeros((vocab, hidden), np.float32),
               "blk.0.ffn_up.weight": np.zeros((hidden * 2, hidden), np.float32)}
    path = write_gguf(path, arch, blocks=layers, tensors=tensors, hidden=hidden, name=path.stem)
    if kind != "model":  # an adapter file: the same, with general.type set
        from gguf import GGUFWriter

        writer = GGUFWriter(path, arch)
        writer.add_type(kind)
        writer.add_tensor("blk.0.attn_q.weight.lora_a", np.zeros((4, hidden), np.float32))
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
    return path
