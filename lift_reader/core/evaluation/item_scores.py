"""Every score of one question under one condition, as a JSON-ready dict."""

from __future__ import annotations

import re

from lift_reader.core.ask.answering import AnswerStream
from lift_reader.core.evaluation.dataset import QuestionItem
from lift_reader.core.evaluation.metrics import best_over_references, choice_scores, rouge_l, token_f1
from lift_reader.core.evaluation.scoring import BaselineScorer, EncodedPrompt, PromptScorer, answer_ids

_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_SPACE = re.compile(r"\s+")


def evidence_recall(evidence: str | None, context_text: str) -> float | None:
    """Fraction of the evidence's sentences found verbatim (up to white space) in the context."""
    if not evidence:
        return None
    sentences = [_SPACE.sub(" ", s).strip() for s in _SENTENCE.split(evidence)]
    sentences = [s for s in sentences if len(s) > 3]
    if not sentences:
        return None
    haystack = _SPACE.sub(" ", context_text)
    return sum(s in haystack for s in sentences) / len(sentences)


def score_item(stream: AnswerStream, item: QuestionItem, *, baseline: BaselineScorer,
               prefix: EncodedPrompt | None, max_new_tokens: int) -> dict:
    """Likelihood scores (and for open questions the greedy answer) of ``item`` under ``stream``'s prompt.

    The caller has put the model in the stream's state (``scoring.model_state``).
    """
    lm = stream.lm
    scorer = PromptScorer(lm, stream.prompt_ids, prefix)
    row: dict = {
        "item_id": item.id,
        "type": item.type,
        "prompt_tokens": len(stream.prompt_ids),
        "context_tokens": stream.context.n_tokens,
        "context_spans": [list(s) for s in stream.context.spans],
        "evidence_recall": evidence_recall(item.evidence, stream.context.text),
    }
    if item.type == "mc":
        ids = [answer_ids(lm, o) for o in item.options]
        lls = [scorer.logprob(x) for x in ids]
        ns = [len(x) for x in ids]
        base = [baseline(o) for o in item.options]
        picks = choice_scores(lls, ns, base)
        row.update(
            gold=item.gold,
            option_logprobs=lls,
            option_tokens=ns,
            option_baseline_logprobs=base,
            **{f"pred_{k}": v for k, v in picks.items()},
            **{f"acc_{k}": float(v == item.gold) for k, v in picks.items()},
            gold_nll=-lls[item.gold] / max(ns[item.gold], 1),
        )
        return row
    ids = answer_ids(lm, item.answers[0])
    ll = scorer.logprob(ids)
    answer = scorer.greedy(max_new_tokens, stream.settings.rule)
    row.update(
        answer=answer,
        references=list(item.answers),
        gold_logprob=ll,
        gold_tokens=len(ids),
        gold_nll=-ll / max(len(ids), 1),
        f1=best_over_references(token_f1, answer, item.answers),
        rouge_l=best_over_references(rouge_l, answer, item.answers),
    )
    return row
