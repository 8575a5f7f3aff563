"""Causal-LM loss without materializing the (tokens x vocabulary) logits.

Gemma's vocabulary has 262,144 entries: one 256-token segment has 67M
logits, 268 MB in fp32, plus as much again for their gradient, and the
output layer is ~60% of a training step's FLOPs (168M of the embedded
model's 268M weights).  Here the output layer and the cross-entropy run
together, a chunk of tokens at a time: each chunk's
logits live only while its loss and its gradient with respect to the hidden
states are computed, in the forward pass.  The backward pass then only
scales that stored (tokens x hidden) gradient: no logits are kept and none
are recomputed.  This needs a frozen output layer, which LoRA guarantees
(it never adapts the embedding tied to the output layer).

Cost per chunk of c tokens: two (c x H x V) matmuls, the same as the usual
forward + backward, one fused softmax and two light passes over (c x V).
"""

from __future__ import annotations

import torch

# Model families whose causal-LM head is exactly "decoder -> lm_head
# [-> soft-capping]"; others (logit scales, extra heads) use their own loss.
SUPPORTED_MODEL_TYPES = frozenset(
    {"llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "gemma3_text", "phi3", "olmo2", "smollm3"}
)
CHUNK_TOKENS = 256  # 256 x 262,144 bf16 logits = 134 MB at a time (fp32: 268 MB)


class _LinearCrossEntropy(torch.autograd.Function):
    """sum of -log p(target) over tokens; gradient w.r.t. hidden computed in forward.

    Every target must be scored: ``causal_lm_loss`` drops masked positions before calling it.
    """

    @staticmethod
    def forward(ctx, hidden, weight, targets, softcap, chunk):  # hidden (N, H), weight (V, H), targets (N,)
        grad_hidden = torch.zeros_like(hidden)
        total = torch.zeros((), dtype=torch.float32, device=hidden.device)
        for start in range(0, hidden.shape[0], chunk):
            y = targets[start:start + chunk]
            logits = hidden[start:start + chunk] @ weight.T  # (c, V), in the model's dtype
            if softcap:
                capped = torch.tanh(logits / softcap)
                logits = capped * softcap
            # One fused softmax kernel (it accumulates in fp32 even for bf16 input) gives
            # both the loss and the gradient softmax - onehot.  In bf16 this is the
            # precision the gradient matmul below uses anyway; measured on the
            # embedded model it is ~4x faster than logsumexp + exp over fp32 logits,
            # which made the loss half of a training step.
            probs = torch.softmax(logits, dim=-1)
            rows = torch.arange(y.shape[0], device=y.device)
            # -log p(target); the clamp only matters for a probability below fp32's range.
            total += -probs[rows, y].float().clamp_min(1e-38).log().sum()
            probs[rows, y] -= 1
            if softcap:
                probs.mul_(1 - capped * capped)
            grad_hidden[start:start + chunk] = probs.to(weight.dtype) @ weight
        ctx.save_for_backward(grad_hidden)
        return total

    @staticmethod
    def backward(ctx, grad_total):
        (grad_hidden,) = ctx.saved_tensors
        return grad_hidden * grad_total.to(grad_hidden.dtype), None, None, None, None


def _unwrap(model):
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def supports_fused_loss(model) -> bool:
    base = _unwrap(model)
    config = getattr(base, "config", None)
    head = base.get_output_embeddings() if hasattr(base, "get_output_embeddings") else None
    return (
        getattr(config, "model_type", None) in SUPPORTED_MODEL_TYPES
        and isinstance(head, torch.nn.Linear)
        and type(head) is torch.nn.Linear  # not a LoRA or 4-bit wrapper
        and not head.weight.requires_grad
        and getattr(head, "bias", None) is None
        and hasattr(base, "model")
    )


def causal_lm_loss(model, input_ids: torch.Tensor, labels: torch.Tensor, *, chunk: int = CHUNK_TOKENS) -> torch.Tensor:
    """Mean next-token loss over labels != -100 (labels are shifted here, as transformers does)."""
    if not supports_fused_loss(model):
        return model(input_ids=input_ids, labels=labels, use_cache=False).loss
    base = _unwrap(model)
    hidden = base.model(input_ids=input_ids, use_cache=False).last_hidden_state  # (B, T, H)
    hidden = hidden[:, :-1].reshape(-1, hidden.shape[-1])
    targets = labels[:, 1:].reshape(-1)
    keep = targets != -100
    count = keep.sum().clamp(min=1)
    if not bool(keep.all()):
        # Masked positions (a contextualized segment's prefix, an auxiliary item's prompt) need no
        # logits: with a 262,144-entry vocabulary the output layer is most of a token's FLOPs, so
        # only the scored rows go through it.  Autograd scatters their gradient back as zeros elsewhere.
        hidden, targets = hidden[keep], targets[keep]
    softcap = getattr(base.config, "final_logit_softcapping", None) or 0.0
    weight = base.get_output_embeddings().weight
    total = _LinearCrossEntropy.apply(hidden, weight, targets, float(softcap), chunk)
    return total / count
