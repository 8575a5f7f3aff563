"""Causal-LM loss without materializing the (tokens x vocabulary) logits, with a sparse backward.

Gemma's vocabulary has 262,144 entries: one 256-token segment has 67M
logits, 268 MB in fp32, plus as much again for their gradient, and the
output layer is ~60% of a training step's FLOPs (168M of the embedded
model's 268M weights).  Here the output layer and the loss run together,
a chunk of tokens at a time: each chunk's logits live only while its loss
and its gradient with respect to the hidden states are computed, in the
forward pass.  The backward pass then only scales that stored
(tokens x hidden) gradient: no logits are kept and none are recomputed.
This needs a frozen output layer, which LoRA guarantees (it never adapts
the embedding tied to the output layer).

Cost per chunk of c tokens: the (c x H x V) logits matmul, one fused
softmax, a few light passes over (c x V), and the gradient matmul
``dL/dlogits @ W``, which the gradient filter below (off by default) makes much smaller.

The gradient filter (Cut Cross-Entropy's, Wijmans et al. 2024): a vocabulary
row whose logit gradient is below ``GRAD_FILTER`` in magnitude for every
token of the chunk is left out of the gradient matmul.  For the
cross-entropy that entry is the softmax probability (times the soft-cap's
derivative, at most 1), and a trained model puts almost all of its mass on a
few thousand of the 262,144 rows, so most rows go (docs/PERFORMANCE.md).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable

import torch

from lift_reader.core.switches import switch

# Model families whose causal-LM head is exactly "decoder -> lm_head
# [-> soft-capping]"; others (logit scales, extra heads) use their own loss.
SUPPORTED_MODEL_TYPES = frozenset(
    {"llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "gemma3_text", "phi3", "olmo2", "smollm3"}
)
CHUNK_TOKENS = 256  # 256 x 262,144 bf16 logits = 134 MB at a time (fp32: 268 MB)

# The threshold: the error it adds must stay below what bf16 arithmetic already costs.  The paper's
# reasoning: bf16 keeps 8 significant bits, so a gradient entry near 2**-4 is only known to ~2**-12;
# an entry below that is lost in the rounding of the entries that carry a token's gradient (the
# target's 1 - p and the top predictions' p).  But thousands of dropped entries all push the same
# way, so we measured on the embedded model (pg1063, a 256-token chunk, gradient of the hidden
# states, relative to the exact fp32 one): the exact gradient computed in bf16 is off by 1.1%;
# filtering at 2**-12 alone (in fp32) by 2.0%, at 2**-14 by 0.86%, at 2**-16 by 0.32%.  2**-14 is the
# largest threshold below bf16's own error.  It keeps 5.5% of the rows (2**-12: 2.5%), and the
# LoRA gradient of a whole step moves from 14.1% to 14.8% error against fp32 (cosine 0.9922 ->
# 0.9913).  tests/core/test_grad_filter.py holds the filter to the same bound.
#
# But the filter is OFF by default (2026-12-08): a per-step error below bf16's is not a harmless one.
# bf16 rounding errors point every which way and cancel over steps; the dropped rows' gradient
# always points the same way (each is +p of a row the model finds unlikely), so it adds up over a
# run.  Memorizing LooGLE document 4 (203 steps) with the filter ended at a final loss of 2.466
# against 2.441 exact, and its `lift+rag` answers lost F1 0.325 -> 0.230 and gold NLL 1.360 -> 1.449
# (docs/EVAL.md); the exact run matched the code before the filter step for step.  The short
# FairytaleQA runs it was first checked on (24 steps) were too short to show it.
GRAD_FILTER = 2.0 ** -14
"""The threshold the filter uses when it is turned on (``LIFT_READER_GRAD_FILTER=on``)."""
FILTER_ENV = "LIFT_READER_GRAD_FILTER"  # unset/"0"/"off": the exact gradient; "on": GRAD_FILTER; or a threshold
DENSE_ABOVE = 0.5  # when more than this share of rows is kept, the gather costs more than it saves


def grad_filter() -> float:
    """The threshold in force: 0 (the exact gradient) unless the environment turns the filter on
    ("on": ``GRAD_FILTER``) or sets a threshold."""
    value = os.environ.get(FILTER_ENV, "").strip()
    on = switch(value) if value else False
    return float(value) if on is None else GRAD_FILTER if on else 0.0


@dataclass
class FilterCounts:
    """Rows of the output layer seen and kept by the gradient filter (summed over chunks; for benchmarks and tests)."""

    seen: int = 0
    kept: int = 0

    def reset(self) -> None:
        self.seen = self.kept = 0

    @property
    def kept_share(self) -> float:
        return self.kept / self.seen if self.seen else 1.0


FILTER_COUNTS = FilterCounts()


def project_gradient(grad_logits: torch.Tensor, weight: torch.Tensor, threshold: float) -> torch.Tensor:
    """``grad_logits @ weight`` (c, V) x (V, H), leaving out the rows whose gradient entries are all below ``threshold``.

    Rows, not blocks of rows: on the CPU, gathering whole rows of the weight is a contiguous copy
    each, so the paper's GPU tiles would only keep rows that a finer filter drops.
    """
    grad_logits = grad_logits.to(weight.dtype)
    if threshold <= 0:
        return grad_logits @ weight
    # Both signs: targets are negative.  Two reductions, not torch.aminmax: on a 256 x 262,144 bf16
    # matrix on the CPU, aminmax took 489 ms where amax took 51 ms.
    keep = ((grad_logits.amax(0) >= threshold) | (grad_logits.amin(0) <= -threshold)).nonzero().squeeze(1)
    FILTER_COUNTS.seen += grad_logits.shape[1]
    FILTER_COUNTS.kept += keep.numel()
    if keep.numel() > DENSE_ABOVE * grad_logits.shape[1]:
        return grad_logits @ weight
    return grad_logits.index_select(1, keep) @ weight.index_select(0, keep)


# (logits of a chunk, the chunk's rows) -> (summed loss in fp32, its gradient w.r.t. those logits)
LogitLoss = Callable[[torch.Tensor, slice], "tuple[torch.Tensor, torch.Tensor]"]


class _LinearLoss(torch.autograd.Function):
    """A loss summed over tokens of ``hidden @ weight.T``; its gradient w.r.t. hidden computed in forward."""

    @staticmethod
    def forward(ctx, hidden, weight, logit_loss: LogitLoss, softcap: float, chunk: int, threshold: float):
        grad_hidden = torch.empty_like(hidden)
        total = torch.zeros((), dtype=torch.float32, device=hidden.device)
        for start in range(0, hidden.shape[0], chunk):
            rows = slice(start, start + chunk)
            logits = hidden[rows] @ weight.T  # (c, V), in the model's dtype
            if softcap:
                capped = torch.tanh(logits / softcap)
                logits = capped * softcap
            loss, grad = logit_loss(logits, rows)
            total += loss
            if softcap:
                grad.mul_(1 - capped * capped)
            grad_hidden[rows] = project_gradient(grad, weight, threshold)
        ctx.save_for_backward(grad_hidden)
        return total

    @staticmethod
    def backward(ctx, grad_total):
        (grad_hidden,) = ctx.saved_tensors
        return grad_hidden * grad_total.to(grad_hidden.dtype), None, None, None, None, None


def linear_loss(model, hidden: torch.Tensor, logit_loss: LogitLoss, *, chunk: int = CHUNK_TOKENS,
                threshold: float | None = None) -> torch.Tensor:
    """``logit_loss`` summed over the rows of ``hidden`` (n, H), through the model's frozen output layer."""
    base = _unwrap(model)
    softcap = getattr(base.config, "final_logit_softcapping", None) or 0.0
    weight = base.get_output_embeddings().weight
    threshold = grad_filter() if threshold is None else threshold
    return _LinearLoss.apply(hidden, weight, logit_loss, float(softcap), chunk, threshold)


def cross_entropy_of(targets: torch.Tensor) -> LogitLoss:
    """sum of -log p(target) over a chunk, and its gradient softmax - onehot."""

    def loss(logits: torch.Tensor, rows: slice):
        y = targets[rows]
        # One fused softmax kernel (it accumulates in fp32 even for bf16 input) gives both the loss
        # and the gradient.  In bf16 this is the precision the gradient matmul uses anyway; measured
        # on the embedded model it is ~4x faster than logsumexp + exp over fp32 logits.
        probs = torch.softmax(logits, dim=-1)
        at = torch.arange(y.shape[0], device=y.device)
        # -log p(target); the clamp only matters for a probability below fp32's range.
        total = -probs[at, y].float().clamp_min(1e-38).log().sum()
        probs[at, y] -= 1
        return total, probs

    return loss


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


def causal_lm_loss(model, input_ids: torch.Tensor, labels: torch.Tensor, *, chunk: int = CHUNK_TOKENS,
                   threshold: float | None = None) -> torch.Tensor:
    """Mean next-token loss over labels != -100 (labels are shifted here, as transformers does).

    ``threshold``: the gradient filter's (None: ``grad_filter()``; 0: the exact gradient).
    """
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
    return linear_loss(model, hidden, cross_entropy_of(targets), chunk=chunk, threshold=threshold) / count
