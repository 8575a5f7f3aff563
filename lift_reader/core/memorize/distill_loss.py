"""The study stage's loss: the student's answer-token distribution against the teacher's, or hard labels.

The student is the model with the adapter and a closed-book prompt; the
teacher is the same base model without the adapter that read the passage
(core/memorize/study.py).  Only the teacher's top-k log-probabilities per answer token
are kept (Cartridges found top-20 enough); the rest of its mass is one
bucket, so the KL divergence is over k + 1 outcomes:

    KL = sum_i p_i (log p_i - log q_i) + r_p (log r_p - log r_q)

with p the teacher's top-k probabilities, q the student's probabilities of
the same tokens, and r the mass outside them.

Only answer positions need logits: they are picked from the hidden states
before the output layer, so a batch of study items costs one (answer tokens
x vocabulary) matrix (about 64 x 262,144 for 8 items), not one per prompt
token.  The loss and its gradient with respect to those logits are written
out here (``study_logit_loss``) so that they go through the fused output
layer of core/memorize/fused_loss.py with its gradient filter: rows whose gradient
is below the threshold for every answer token skip the backward matmul.
"""

from __future__ import annotations

import torch

from lift_reader.core.memorize.fused_loss import LogitLoss, _unwrap, linear_loss, supports_fused_loss

_TINY = 1e-6  # floor of the "rest" bucket's mass: keeps the log finite when the top-k hold it all


def hidden_states(model, input_ids: torch.Tensor, **kwargs) -> torch.Tensor:
    """The decoder's last hidden states, without the output layer (models ``supports_fused_loss`` accepts)."""
    return _unwrap(model).model(input_ids=input_ids, **kwargs).last_hidden_state


def output_logits(model, hidden: torch.Tensor) -> torch.Tensor:
    """Float logits of the chosen hidden states (..., H) -> (..., V), soft-capped where the model is."""
    base = _unwrap(model)
    logits = (hidden @ base.get_output_embeddings().weight.T).float()
    softcap = getattr(base.config, "final_logit_softcapping", None)
    return torch.tanh(logits / softcap) * softcap if softcap else logits


def answer_logits(model, input_ids: torch.Tensor, attention_mask: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Logits (n, V) at the positions that predict an answer token (labels != -100, shifted), in order."""
    keep = labels[:, 1:] != -100
    if not supports_fused_loss(model):
        logits = model(input_ids=input_ids, attention_mask=attention_mask, use_cache=False).logits
        return logits[:, :-1][keep].float()
    hidden = hidden_states(model, input_ids, attention_mask=attention_mask, use_cache=False)
    return output_logits(model, hidden[:, :-1][keep])  # (n, H) -> (n, V)


def topk_kl(student_logits: torch.Tensor, teacher_ids: torch.Tensor, teacher_logp: torch.Tensor) -> torch.Tensor:
    """Mean over positions of KL(teacher || student) on the teacher's top-k tokens plus one rest bucket.

    ``student_logits`` (n, V) float; ``teacher_ids`` (n, k) long; ``teacher_logp`` (n, k) float.
    """
    student_logp = torch.log_softmax(student_logits, dim=-1)
    q_top = student_logp.gather(1, teacher_ids)  # (n, k)
    p_top = teacher_logp.exp()
    rest_p = (1 - p_top.sum(-1)).clamp_min(_TINY)
    rest_q = (1 - q_top.exp().sum(-1)).clamp_min(_TINY)
    kl = (p_top * (teacher_logp - q_top)).sum(-1) + rest_p * (rest_p.log() - rest_q.log())
    return kl.mean()


def hard_label_loss(student_logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of the answer tokens."""
    return torch.nn.functional.cross_entropy(student_logits, targets)


def study_logit_loss(targets: str, teacher_ids: torch.Tensor | None, teacher_logp: torch.Tensor | None,
                     labels: torch.Tensor | None) -> LogitLoss:
    """The summed study loss of a chunk of answer positions and its gradient w.r.t. their logits.

    The same value as ``topk_kl`` (+ ``hard_label_loss``) times the positions, with the gradient
    worked out by hand: with q the student's softmax, T the teacher's top-k ids, P = sum p_top,
    Q = sum q_top and a = r_p / r_q (0 where r_q is clamped),

        d KL / d z_v = P q_v - p_v [v in T] - a q_v (Q - [v in T])

    (the first two terms from -sum p_i log q_i, the third from -r_p log r_q; the rest is constant);
    the hard label adds q_v - [v = label].  tests/core/test_grad_filter.py checks it against autograd.
    """

    def loss(logits: torch.Tensor, rows: slice):
        logq = torch.log_softmax(logits.float(), dim=-1)
        q = logq.exp()
        total = torch.zeros((), dtype=torch.float32, device=logits.device)
        grad = torch.zeros_like(q)
        if targets in ("distill", "both"):
            ids, logp = teacher_ids[rows], teacher_logp[rows].float()
            q_top_log = logq.gather(1, ids)
            q_top, p_top = q_top_log.exp(), logp.exp()
            rest_p = (1 - p_top.sum(-1)).clamp_min(_TINY)
            rest_q_raw = 1 - q_top.sum(-1)
            rest_q = rest_q_raw.clamp_min(_TINY)
            total += ((p_top * (logp - q_top_log)).sum(-1) + rest_p * (rest_p.log() - rest_q.log())).sum()
            a = torch.where(rest_q_raw >= _TINY, rest_p / rest_q, torch.zeros_like(rest_q))
            big_p, big_q = p_top.sum(-1), q_top.sum(-1)
            grad += q * (big_p - a * big_q)[:, None]
            grad.scatter_add_(1, ids, a[:, None] * q_top - p_top)
        if targets in ("labels", "both"):
            y = labels[rows]
            at = torch.arange(y.shape[0], device=y.device)
            total += -logq[at, y].sum()
            grad += q
            grad[at, y] -= 1
        return total, grad

    return loss


def study_loss(model, batch, *, targets: str) -> torch.Tensor:
    """The loss of one batch of study items (``StudyBatch``) for ``targets`` distill, labels or both.

    "both" adds the two: the teacher's distribution carries what the reading model makes of the
    passage, the label the sentence's own words, which a small teacher may not rank first.
    """
    answer_labels = batch.labels[:, 1:][batch.labels[:, 1:] != -100]
    if supports_fused_loss(model):
        keep = batch.labels[:, 1:] != -100
        hidden = hidden_states(model, batch.input_ids, attention_mask=batch.attention_mask, use_cache=False)
        logit_loss = study_logit_loss(targets, batch.teacher_ids, batch.teacher_logp, answer_labels)
        return linear_loss(model, hidden[:, :-1][keep], logit_loss) / max(1, int(keep.sum()))
    logits = answer_logits(model, batch.input_ids, batch.attention_mask, batch.labels)
    loss = 0.0
    if targets in ("distill", "both"):
        loss = loss + topk_kl(logits, batch.teacher_ids, batch.teacher_logp)
    if targets in ("labels", "both"):
        loss = loss + hard_label_loss(logits, answer_labels)
    return loss
