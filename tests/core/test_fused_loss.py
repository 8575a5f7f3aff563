"""The chunked output-layer loss equals transformers' loss, in value and gradient."""

import copy

import pytest
import torch

from lift_reader.core.memorize.fused_loss import causal_lm_loss, supports_fused_loss
from lift_reader.core.model.lora import add_training_adapter
from lift_reader.core.model.models import wrap_loaded
from lift_reader.core.memorize.settings import MemorizeSettings
from lift_reader.core.model.tiny_model import tiny_model


@pytest.mark.parametrize("arch,softcap", [("llama", None), ("gemma3", None), ("gemma3", 5.0)])
def test_matches_the_reference_loss_and_gradients(tiny_parts, informative_lora, arch, softcap):
    tok, _ = tiny_parts
    peft_model = informative_lora(arch, softcap)
    assert supports_fused_loss(peft_model)
    torch.manual_seed(0)
    ids = torch.randint(3, len(tok), (2, 40))
    labels = ids.clone()
    labels[0, :10] = -100  # masked prompt, as auxiliary items have

    ref = peft_model(input_ids=ids, labels=labels, use_cache=False).loss
    ref.backward()
    ref_grads = {n: p.grad.clone() for n, p in peft_model.named_parameters() if p.requires_grad}
    peft_model.zero_grad()
    ours = causal_lm_loss(peft_model, ids, labels, chunk=16)
    ours.backward()
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-5)
    for n, p in peft_model.named_parameters():
        if p.requires_grad:
            torch.testing.assert_close(p.grad, ref_grads[n], rtol=1e-4, atol=1e-6)


def test_falls_back_when_the_head_is_trainable(tiny_parts):
    tok, base = tiny_parts
    model = copy.deepcopy(base)
    model.get_output_embeddings().weight.requires_grad_(True)
    assert not supports_fused_loss(model)
    ids = torch.randint(3, len(tok), (1, 12))
    torch.testing.assert_close(causal_lm_loss(model, ids, ids), model(input_ids=ids, labels=ids).loss)


def test_bf16_loss_and_gradients_stay_close_to_the_reference(tiny_parts, informative_lora):
    """In bf16 the softmax output is rounded to bf16: the loss must stay within ~1% and the gradients aligned."""
    tok, _ = tiny_parts
    peft_model = informative_lora("gemma3", dtype=torch.bfloat16)
    torch.manual_seed(1)
    ids = torch.randint(3, len(tok), (2, 64))
    ref = peft_model(input_ids=ids, labels=ids, use_cache=False).loss
    ref.backward()
    ref_grads = [p.grad.float().flatten().clone() for p in peft_model.parameters() if p.requires_grad]
    peft_model.zero_grad()
    ours = causal_lm_loss(peft_model, ids, ids, chunk=32)
    ours.backward()
    assert abs(float(ours) - float(ref)) < 0.01 * float(ref)
    ours_grads = [p.grad.float().flatten() for p in peft_model.parameters() if p.requires_grad]
    cosine = torch.nn.functional.cosine_similarity(torch.cat(ours_grads), torch.cat(ref_grads), dim=0)
    assert cosine > 0.99


def test_masked_positions_skip_the_output_layer(tiny_parts, monkeypatch):
    """Only the scored rows reach the (tokens x vocabulary) matmul; the loss is unchanged."""
    from lift_reader.core.memorize import fused_loss

    tok, _ = tiny_parts
    lm = wrap_loaded(tiny_model(tok, arch="gemma3"), tok, label="t", fingerprint="f")
    peft_model = add_training_adapter(lm, "m", MemorizeSettings(lora_rank=4))
    torch.manual_seed(2)
    ids = torch.randint(3, len(tok), (1, 48))
    labels = ids.clone()
    labels[0, :30] = -100  # a prefix the loss skips, as a contextualized segment has
    rows_seen = []
    real_apply = fused_loss._LinearLoss.apply

    def counting_apply(hidden, *rest):
        rows_seen.append(hidden.shape[0])
        return real_apply(hidden, *rest)

    monkeypatch.setattr(fused_loss._LinearLoss, "apply", counting_apply)
    ours = causal_lm_loss(peft_model, ids, labels, chunk=16)
    assert rows_seen == [int((labels[0, 1:] != -100).sum())] == [18]
    torch.testing.assert_close(ours, peft_model(input_ids=ids, labels=labels, use_cache=False).loss,
                               rtol=1e-5, atol=1e-5)
