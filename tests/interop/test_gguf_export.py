"""`lift-reader adapters export NAME --format gguf`: a llama.cpp LoRA file, a Modelfile and a README."""

from __future__ import annotations

import json

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from interop_helpers import load_app_model, save_app_adapter
from lift_reader.cli import main


def _read(path):
    from gguf import GGUFReader

    reader = GGUFReader(path)
    fields = {key: field.contents() for key, field in reader.fields.items() if not key.startswith("GGUF.")}
    # ReaderTensor.data is the numpy view: dims reversed from ggml's ``shape`` (ne)
    return fields, {t.name: (tuple(int(d) for d in t.shape), np.array(t.data)) for t in reader.tensors}


def _permuted(rows: np.ndarray, heads: int) -> np.ndarray:
    """llama.cpp's converter's q/k order for llama, written out again here: (head, half, i) -> (head, i, half)."""
    out = rows.shape[0]
    per = out // heads
    order = [h * per + half * (per // 2) + i for h in range(heads) for i in range(per // 2) for half in range(2)]
    return rows[order]


def test_gguf_export_writes_llama_cpp_names_shapes_and_the_same_weight_change(tiny_base, tmp_path, capsys):
    lm = load_app_model(tiny_base.folder, label=str(tiny_base.gguf))  # what --model FILE.gguf records
    folder = save_app_adapter(lm, "Ledger")
    out = tmp_path / "for-llama-cpp"
    assert main(["adapters", "export", "Ledger", "--format", "gguf", "--out", str(out)]) == 0
    assert "Modelfile" in capsys.readouterr().out

    (lora,) = out.glob("*-lora.gguf")
    fields, tensors = _read(lora)
    assert fields["general.type"] == "adapter" and fields["adapter.type"] == "lora"
    assert fields["general.architecture"] == tiny_base.arch
    assert fields["adapter.lora.alpha"] == pytest.approx(8.0)
    _, base = _read(tiny_base.gguf)
    config = lm.base_config
    heads = {"attn_q": config.num_attention_heads, "attn_k": config.num_key_value_heads}
    peft = load_file(str(folder / "adapter_model.safetensors"))
    roles = {"q_proj": "attn_q", "k_proj": "attn_k", "v_proj": "attn_v", "o_proj": "attn_output",
             "gate_proj": "ffn_gate", "up_proj": "ffn_up", "down_proj": "ffn_down"}
    expected = {f"blk.{i}.{r}.weight.lora_{ab}" for i in range(2) for r in roles.values() for ab in "ab"}
    assert set(tensors) == expected
    for key, value in peft.items():
        if not key.endswith("lora_A.weight"):
            continue
        module = key.removeprefix("base_model.model.model.layers.").removesuffix(".lora_A.weight")
        block, _, projection = module.partition(".")
        role = roles[projection.split(".")[1]]
        target = f"blk.{block}.{role}.weight"
        (a_ne, a), (b_ne, b) = tensors[f"{target}.lora_a"], tensors[f"{target}.lora_b"]
        base_ne = base[target][0]
        assert a_ne == (base_ne[0], 4) and b_ne == (4, base_ne[1])  # [in, r] and [r, out] as llama.cpp checks
        delta = peft[key.replace("lora_A", "lora_B")] @ value
        if tiny_base.arch == "llama" and role in heads:  # the base's rows are permuted there: so is B
            delta = _permuted(delta, heads[role])
        np.testing.assert_allclose(b @ a, delta, rtol=1e-5, atol=1e-6)

    modelfile = (out / "Modelfile").read_text()
    assert f"FROM {tiny_base.gguf}" in modelfile and f"ADAPTER ./{lora.name}" in modelfile
    assert "Book: The Lighthouse Keeper's Ledger" in modelfile and "Question: {{ .Prompt }}" in modelfile
    readme = (out / "README.md").read_text()
    assert str(tiny_base.gguf) in readme and "--lora" in readme and "ollama create" in readme


def _refused(args, capsys) -> str:
    assert main(args) == 2
    err = capsys.readouterr().err.splitlines()[-1]  # after the model loader's progress bar
    assert err.startswith("error: ")
    return err


@pytest.mark.parametrize("arch", ["gemma3"])
def test_refuses_a_base_model_without_a_gguf_file(tiny_base, tmp_path, capsys, arch):
    lm = load_app_model(tiny_base.folder, label=str(tiny_base.folder))  # a transformers folder
    save_app_adapter(lm, "Ledger")
    out = tmp_path / "out"
    assert "has no GGUF form" in _refused(["adapters", "export", "Ledger", "--format", "gguf", "--out", str(out)],
                                          capsys)
    assert not out.exists()


@pytest.mark.parametrize("extra, message", [
    ({"base_model.model.lm_head.lora_A.weight": (4, 48), "base_model.model.lm_head.lora_B.weight": (-1, 4)},
     "lm_head"),
    ({"base_model.model.model.embed_tokens.lora_embedding_A": (4, -1)}, "token embeddings"),
])
def test_refuses_layers_llama_cpp_cannot_apply_and_writes_nothing(tiny_base, tmp_path, capsys, extra, message):
    lm = load_app_model(tiny_base.folder, label=str(tiny_base.gguf))
    folder = save_app_adapter(lm, "Ledger")
    weights = load_file(str(folder / "adapter_model.safetensors"))
    vocab = lm.base_config.vocab_size
    for key, shape in extra.items():  # a tied model's GGUF has no output weight for an lm_head LoRA
        weights[key] = np.ones(tuple(vocab if d == -1 else d for d in shape), np.float32)
    save_file(weights, str(folder / "adapter_model.safetensors"))
    out = tmp_path / "out"
    err = _refused(["adapters", "export", "Ledger", "--format", "gguf", "--out", str(out)], capsys)
    assert message in err
    assert not out.exists()


def test_refuses_dora(tiny_base, tmp_path, capsys):
    lm = load_app_model(tiny_base.folder, label=str(tiny_base.gguf))
    folder = save_app_adapter(lm, "Ledger")
    config = json.loads((folder / "adapter_config.json").read_text())
    (folder / "adapter_config.json").write_text(json.dumps({**config, "use_dora": True}))
    out = tmp_path / "out"
    assert "DoRA" in _refused(["adapters", "export", "Ledger", "--format", "gguf", "--out", str(out)], capsys)
    assert not out.exists()


def test_peft_export_without_a_destination_says_what_to_give(tiny_base, capsys):
    lm = load_app_model(tiny_base.folder, label="tiny base")
    save_app_adapter(lm, "Ledger")
    assert "FILE.zip" in _refused(["adapters", "export", "Ledger"], capsys)
