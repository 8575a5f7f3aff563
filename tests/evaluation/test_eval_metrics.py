"""Scoring arithmetic on hand-made numbers: F1, ROUGE-L, choice rules, bootstrap intervals."""

import numpy as np
import pytest

from lift_reader.core.evaluation.metrics import (
    best_over_references,
    bootstrap_ci,
    choice_scores,
    lcs_length,
    normalize_tokens,
    paired_bootstrap_diff,
    rouge_l,
    token_f1,
)


def test_normalisation_drops_case_punctuation_and_articles():
    assert normalize_tokens("The Cat, a HAT!") == ["cat", "hat"]


def test_token_f1_on_known_strings():
    assert token_f1("the cat sat", "The cat sat.") == 1.0
    # pred {cat, sat, down}, ref {cat, sat, on, mat}: 2 common; P = 2/3, R = 2/4 -> F1 = 4/7
    assert token_f1("cat sat down", "cat sat on the mat") == pytest.approx(4 / 7)
    assert token_f1("dog", "cat") == 0.0
    assert token_f1("", "cat") == 0.0 and token_f1("", "") == 1.0
    assert token_f1("cat cat", "cat") == pytest.approx(2 * 0.5 * 1 / 1.5)  # multiplicity counts


def test_rouge_l_on_known_strings():
    assert lcs_length("a b c d e".split(), "a c e f".split()) == 3
    # [police, killed, gunman] vs [gunman, was, killed, by, police]: the words are shared but in
    # reverse order, so the longest common subsequence has 1 word: P = 1/3, R = 1/5.
    assert rouge_l("police killed the gunman", "the gunman was killed by police") == pytest.approx(
        2 * (1 / 3) * (1 / 5) / (1 / 3 + 1 / 5))
    # [he, offered, his, condolences] vs [m, ravi, offered, his, condolences, to, family]: LCS 3.
    assert rouge_l("he offered his condolences", "M Ravi offered his condolences to the family") == pytest.approx(
        2 * (3 / 4) * (3 / 7) / (3 / 4 + 3 / 7))
    assert rouge_l("x", "y") == 0.0
    assert best_over_references(rouge_l, "offered condolences", ["nothing", "offered condolences"]) == 1.0


def test_choice_rules_on_hand_made_numbers():
    # Option 0 is short and likely everywhere (a prior); option 1 is what the prompt makes likely.
    ll = [-2.0, -6.0, -9.0]
    tokens = [1, 4, 3]
    baseline = [-1.0, -8.0, -9.5]
    picks = choice_scores(ll, tokens, baseline)
    assert picks["raw"] == 0  # highest sum: -2
    assert picks["norm"] == 1  # per token: -2, -1.5, -3
    assert picks["calibrated"] == 1  # ll - baseline: -1, +2, +0.5
    assert choice_scores([-1.0, -1.0], [1, 1], [0.0, 0.0])["raw"] == 0  # ties: first option


def test_bootstrap_interval_contains_the_mean_and_is_seeded():
    values = np.random.default_rng(1).random(40)
    mean, low, high = bootstrap_ci(values, seed=3)
    assert low <= mean <= high and mean == pytest.approx(values.mean())
    assert 0 < high - low < 0.5
    assert bootstrap_ci(values, seed=3) == (mean, low, high)
    assert bootstrap_ci([1.0]) == (1.0, 1.0, 1.0)
    assert all(np.isnan(bootstrap_ci([])))
    for skewed in ([0, 0, 0, 0, 1], [1.0] * 9 + [0.0]):
        m, lo, hi = bootstrap_ci(skewed, seed=0, resamples=50)
        assert lo <= m <= hi


def test_paired_difference():
    a, b = [1.0, 1.0, 0.0, 1.0], [0.0, 1.0, 0.0, 0.0]
    mean, low, high = paired_bootstrap_diff(a, b, seed=0)
    assert mean == pytest.approx(0.5) and low <= 0.5 <= high
    with pytest.raises(ValueError):
        paired_bootstrap_diff([1.0], [1.0, 2.0])


def test_chance_line_counts_each_question_once_with_its_own_option_count():
    from lift_reader.core.evaluation.report import chance_accuracy, markdown, summarise

    def mc(item_id, n_options, correct):
        return {"item_id": item_id, "type": "mc", "option_logprobs": [0.0] * n_options,
                "acc_raw": float(correct), "acc_calibrated": float(correct)}

    # Two conditions score the same three questions: 4, 4 and 2 options -> (1/4 + 1/4 + 1/2) / 3.
    items = [mc("q0", 4, 1), mc("q1", 4, 0), mc("q2", 2, 0)]
    results = [{"doc_id": "d", "conditions": {name: {"items": items, "skipped": None} for name in ("icl", "rag")}}]
    assert chance_accuracy(results) == pytest.approx(1 / 3)
    summary = summarise(results, ("icl", "rag"), resamples=50)
    assert summary["chance"] == pytest.approx(1 / 3)
    text = markdown(summary, command="c", header_lines=[], n_docs=1)
    assert "at random scores 0.333" in text
    open_only = [{"doc_id": "d", "conditions": {"icl": {"items": [{"item_id": "o", "type": "open", "f1": 0.5}],
                                                        "skipped": None}}}]
    assert chance_accuracy(open_only) is None
    assert "at random" not in markdown(summarise(open_only, ("icl",), resamples=50), command="c",
                                       header_lines=[], n_docs=1)
