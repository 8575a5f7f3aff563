"""Scores: answer overlap (token F1, ROUGE-L), multiple-choice picks, bootstrap intervals.

Text is normalised as in SQuAD's evaluation: lower case, punctuation and the
articles a/an/the removed, white space collapsed.  ROUGE-L is the F-measure
(beta = 1) of the longest common subsequence of the normalised tokens.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence

import numpy as np

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = str.maketrans({c: " " for c in string.punctuation + "\u2018\u2019\u201c\u201d\u2013\u2014"})


def normalize_tokens(text: str) -> list[str]:
    text = text.lower().translate(_PUNCT)
    return _ARTICLES.sub(" ", text).split()


def token_f1(prediction: str, reference: str) -> float:
    """Harmonic mean of token precision and recall (bag of words, with multiplicity)."""
    pred, ref = normalize_tokens(prediction), normalize_tokens(reference)
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Longest common subsequence, O(len(a) * len(b)) time, O(len(b)) memory."""
    if not a or not b:
        return 0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def rouge_l(prediction: str, reference: str) -> float:
    """ROUGE-L F-measure (beta = 1) on normalised tokens."""
    pred, ref = normalize_tokens(prediction), normalize_tokens(reference)
    if not pred or not ref:
        return float(pred == ref)
    lcs = lcs_length(pred, ref)
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(pred), lcs / len(ref)
    return 2 * precision * recall / (precision + recall)


def best_over_references(metric, prediction: str, references: Sequence[str]) -> float:
    return max(metric(prediction, r) for r in references)


def choice_scores(option_logprobs: Sequence[float], option_tokens: Sequence[int],
                  baseline_logprobs: Sequence[float]) -> dict[str, int]:
    """The option each multiple-choice rule picks (ties go to the first option).

    - raw: the highest log-likelihood log p(option | prompt);
    - norm: the highest log-likelihood per token (removes the length bias);
    - calibrated: the highest log p(option | prompt) - log p(option | prompt
      without book and question): what the prompt adds over the option's prior.
    """
    ll = np.asarray(option_logprobs, dtype=np.float64)
    n = np.maximum(np.asarray(option_tokens, dtype=np.float64), 1.0)
    base = np.asarray(baseline_logprobs, dtype=np.float64)
    return {"raw": int(np.argmax(ll)), "norm": int(np.argmax(ll / n)), "calibrated": int(np.argmax(ll - base))}


def bootstrap_ci(values: Sequence[float], *, seed: int = 0, resamples: int = 1000,
                 level: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): the percentile bootstrap interval of the mean over items.

    Seeded, so the same values give the same interval.  One value gives a
    zero-width interval; none gives NaNs.
    """
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        return float("nan"), float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, size=(resamples, x.size))].mean(axis=1)
    alpha = (1 - level) / 2
    low, high = np.quantile(means, [alpha, 1 - alpha])
    mean = float(x.mean())
    # The percentile interval of a skewed resample can miss the mean by a rounding hair.
    return mean, float(min(low, mean)), float(max(high, mean))


def paired_bootstrap_diff(a: Sequence[float], b: Sequence[float], *, seed: int = 0,
                          resamples: int = 1000) -> tuple[float, float, float]:
    """Mean of a - b over the same items, with its 95% bootstrap interval (items resampled together)."""
    a_arr, b_arr = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a_arr.shape != b_arr.shape:
        raise ValueError("paired scores must come from the same items")
    return bootstrap_ci(a_arr - b_arr, seed=seed, resamples=resamples)
