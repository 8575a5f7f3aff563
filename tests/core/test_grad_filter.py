"""The gradient filter of the fused output layer: below bf16's resolution, and it really skips rows."""

import pytest
import torch

from lift_reader.core.memorize import fused_loss
from lift_reader.core.memorize.distill_loss import hard_label_loss, study_loss, study_logit_loss, topk_kl
from lift_reader.core.memorize.fused_loss import FILTER_COUNTS, GRAD_FILTER, _LinearLoss, cross_entropy_of
from lift_reader.core.memorize.study import StudyBatch

VOCAB, HIDDEN, TOKENS = 4096, 32, 48


def _peaked(seed: int = 0):
    """A trained model's situation: each token's softmax puts its mass on a few of 4,096 rows.

    Every hidden state points at a handful of 'likely' rows (as a trained model's do), so most rows
    get a probability far below 2**-12; half the targets are likely tokens, half are surprises.
    """
    g = torch.Generator().manual_seed(seed)
    weight = torch.randn(VOCAB, HIDDEN, generator=g)
    likely = torch.randint(0, VOCAB, (TOKENS, 3), generator=g)
    hidden = 0.6 * weight[likely].sum(1) + 0.3 * torch.randn(TOKENS, HIDDEN, generator=g)
    targets = torch.where(torch.arange(TOKENS) % 2 == 0, likely[:, 0], torch.randint(0, VOCAB, (TOKENS,), generator=g))
    return hidden, weight, targets


def _grad_of_hidden(hidden, weight, logit_loss, threshold, softcap=0.0, chunk=16):
    hidden = hidden.clone().requires_grad_(True)
    total = _LinearLoss.apply(hidden, weight, logit_loss, softcap, chunk, threshold)
    total.backward()
    return total.detach(), hidden.grad


def _relative_error(approx, exact):
    return float((approx.float() - exact).norm() / exact.norm())


def _bf16_error(hidden, weight, loss, softcap=0.0):
    """bf16's resolution here: how far the exact gradient computed in bf16 is from the fp32 one."""
    _, exact = _grad_of_hidden(hidden, weight, loss, 0.0, softcap)
    _, rounded = _grad_of_hidden(hidden.bfloat16(), weight.bfloat16(), loss, 0.0, softcap)
    return _relative_error(rounded, exact)


@pytest.mark.parametrize("softcap", [0.0, 30.0])
def test_filtered_cross_entropy_gradient_is_exact_to_bf16_resolution_and_skips_most_rows(softcap):
    hidden, weight, targets = _peaked()
    loss = cross_entropy_of(targets)
    exact_total, exact = _grad_of_hidden(hidden, weight, loss, 0.0, softcap)
    FILTER_COUNTS.reset()
    total, filtered = _grad_of_hidden(hidden, weight, loss, GRAD_FILTER, softcap)
    assert FILTER_COUNTS.seen == VOCAB * 3  # three chunks of 16 tokens
    assert FILTER_COUNTS.kept_share < 0.4  # the filter left most rows out of the gradient matmul
    bound = _bf16_error(hidden, weight, loss, softcap)
    assert _relative_error(filtered, exact) < bound
    assert total == exact_total  # the loss itself is never filtered
    # A threshold far above the bound drops rows that matter: the check above can see a bad filter.
    _, coarse = _grad_of_hidden(hidden, weight, loss, 2.0 ** -6, softcap)
    assert _relative_error(coarse, exact) > bound


def test_the_filter_is_off_unless_the_environment_turns_it_on(monkeypatch):
    """Off by default: its bias adds up over a long run (docs/EVAL.md, LooGLE document 4)."""
    monkeypatch.delenv(fused_loss.FILTER_ENV, raising=False)
    assert fused_loss.grad_filter() == 0.0
    monkeypatch.setenv(fused_loss.FILTER_ENV, "on")
    assert fused_loss.grad_filter() == GRAD_FILTER == 2.0 ** -14
    monkeypatch.setenv(fused_loss.FILTER_ENV, "0.001")
    assert fused_loss.grad_filter() == 0.001
    monkeypatch.setenv(fused_loss.FILTER_ENV, "0")
    assert fused_loss.grad_filter() == 0.0


def _teacher(seed: int, top_k: int = 8):
    hidden, weight, targets = _peaked(seed + 1)
    teacher_logp = torch.log_softmax(hidden @ weight.T, -1).topk(top_k, -1)
    return teacher_logp.indices, teacher_logp.values, targets


@pytest.mark.parametrize("targets", ["distill", "labels", "both"])
def test_study_loss_gradient_written_out_equals_autograd(targets):
    """Unfiltered, the hand-written gradient of the KL (+ label) loss is autograd's of topk_kl (+ cross-entropy)."""
    torch.manual_seed(3)
    hidden, weight = torch.randn(TOKENS, HIDDEN), torch.randn(300, HIDDEN) * 0.4
    ids = torch.stack([torch.randperm(300)[:8] for _ in range(TOKENS)])
    logp = torch.log_softmax(torch.randn(TOKENS, 8) * 2, -1) - 0.3  # some mass left for the rest bucket
    labels = torch.randint(0, 300, (TOKENS,))
    total, ours = _grad_of_hidden(hidden, weight, study_logit_loss(targets, ids, logp, labels), 0.0)

    ref_hidden = hidden.clone().requires_grad_(True)
    logits = ref_hidden @ weight.T
    ref = 0.0
    if targets != "labels":
        ref = ref + topk_kl(logits, ids, logp)
    if targets != "distill":
        ref = ref + hard_label_loss(logits, labels)
    (ref * TOKENS).backward()
    torch.testing.assert_close(total, (ref * TOKENS).detach(), rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(ours, ref_hidden.grad, rtol=1e-4, atol=1e-5)


def test_filtered_study_gradient_is_exact_to_bf16_resolution_and_skips_most_rows():
    hidden, weight, _ = _peaked(5)
    ids, logp, labels = _teacher(5)
    loss = study_logit_loss("both", ids, logp, labels)
    _, exact = _grad_of_hidden(hidden, weight, loss, 0.0)
    FILTER_COUNTS.reset()
    _, filtered = _grad_of_hidden(hidden, weight, loss, GRAD_FILTER)
    assert FILTER_COUNTS.kept_share < 0.4
    bound = _bf16_error(hidden, weight, loss)
    assert _relative_error(filtered, exact) < bound
    _, coarse = _grad_of_hidden(hidden, weight, loss, 2.0 ** -6)
    assert _relative_error(coarse, exact) > bound


def test_study_loss_on_a_model_matches_the_unfused_loss(tiny_parts, informative_lora):
    """Through a LoRA model (soft-capped Gemma 3): the fused study loss and its adapter gradients."""
    tok, _ = tiny_parts
    peft_model = informative_lora("gemma3", 5.0)
    torch.manual_seed(4)
    ids = torch.randint(3, len(tok), (2, 20))
    labels = torch.full_like(ids, -100)
    labels[:, 12:18] = ids[:, 12:18]
    mask = torch.ones_like(ids)
    mask[1, 18:] = 0
    answers = int((labels[:, 1:] != -100).sum())
    teacher = torch.log_softmax(torch.randn(answers, len(tok)) * 3, -1).topk(6, -1)
    batch = StudyBatch(ids, mask, labels, teacher.indices, teacher.values)

    ours = study_loss(peft_model, batch, targets="both")
    ours.backward()
    grads = {n: p.grad.clone() for n, p in peft_model.named_parameters() if p.requires_grad}
    peft_model.zero_grad()
    logits = peft_model(input_ids=ids, attention_mask=mask, use_cache=False).logits[:, :-1][labels[:, 1:] != -100]
    ref = topk_kl(logits.float(), teacher.indices, teacher.values) + hard_label_loss(
        logits.float(), labels[:, 1:][labels[:, 1:] != -100])
    ref.backward()
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-5)
    for n, p in peft_model.named_parameters():
        if p.requires_grad:
            torch.testing.assert_close(p.grad, grads[n], rtol=1e-3, atol=1e-6)
