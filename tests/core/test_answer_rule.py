"""Answers end: at a stop string or a sentence limit, and never loop on a repeated n-gram."""

from types import SimpleNamespace

import torch

from lift_reader.core.ask.answer_rule import (
    NO_RULE, AnswerRule, answer_end, banned_tokens, guard_logits, most_repeated_ngram, repeated_words_end,
    sentence_ends,
)
from lift_reader.core.ask.answering import AskSettings, prepare_answer
from lift_reader.core.evaluation.scoring import PromptScorer
from lift_reader.core.ask.generation import SamplingSettings, generate_pieces

WORDS = {0: "", 1: " She", 2: " was", 3: " painted", 4: " blue.", 5: " Then", 6: " it", 7: " sank."}


class LoopingModel(torch.nn.Module):
    """Always most likely: the word after the last one in She -> was -> painted -> blue. -> She ...;
    second most likely: the story's other sentence (Then it sank.); least: end of text."""

    NEXT = {1: 2, 2: 3, 3: 4, 4: 1, 5: 6, 6: 7, 7: 5}

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1))

    def forward(self, input_ids, cache=None, use_cache=True, logits_to_keep=1):
        last = int(input_ids[0, -1])
        logits = torch.full((1, 1, len(WORDS)), -5.0)
        logits[0, 0, 0] = -10.0
        logits[0, 0, 5] = 1.0
        logits[0, 0, self.NEXT.get(last, 1)] = 3.0
        return SimpleNamespace(logits=logits, cache=cache)


class WordTokenizer:
    eos_token_id = 0

    def decode(self, ids, skip_special_tokens=True):
        return "".join(WORDS[i] for i in ids)


def loop_answer(rule, max_new_tokens=40) -> str:
    model = LoopingModel()
    logits = model(torch.tensor([[4]])).logits[0, -1]
    return "".join(generate_pieces(model, WordTokenizer(), None, logits,
                                   SamplingSettings(greedy=True, max_new_tokens=max_new_tokens),
                                   stop_strings=("\n\n",), rule=rule)).strip()


def test_without_a_rule_the_model_loops_until_the_limit():
    answer = loop_answer(NO_RULE)
    assert most_repeated_ngram(answer) >= 3
    assert len(answer.split()) == 40


def test_the_sentence_limit_ends_the_answer():
    assert loop_answer(AnswerRule(max_sentences=1, no_repeat_ngram=0)) == "She was painted blue."
    assert loop_answer(AnswerRule(max_sentences=2, no_repeat_ngram=0)) == "She was painted blue. She was painted blue."


def test_no_repeated_ngram_moves_the_model_off_its_loop():
    answer = loop_answer(AnswerRule(max_sentences=None, no_repeat_ngram=4))
    ids = [k for w in answer.split() for k, v in WORDS.items() if v.strip() == w]
    grams = [tuple(ids[i:i + 4]) for i in range(len(ids) - 3)]
    assert len(grams) == len(set(grams))  # no token 4-gram twice
    assert "Then it sank." in answer
    assert loop_answer(AnswerRule(max_sentences=2, no_repeat_ngram=4)) == "She was painted blue. She was painted Then it sank."


class VeryTokenizer:
    """" very" and "\rvery" are two tokens for one word."""
    eos_token_id = 0
    PIECES = {0: "", 1: " very", 2: "\rvery", 3: " bad."}

    def decode(self, ids, skip_special_tokens=True):
        return "".join(self.PIECES[i] for i in ids)


class VeryModel(LoopingModel):
    """Most likely " very", then "\rvery", then " bad.": the loop FairytaleQA's peerifool got out of `rag`
    ("they were very very very very\rvery very very very bad.") under the token 4-gram ban."""

    def forward(self, input_ids, cache=None, use_cache=True, logits_to_keep=1):
        return SimpleNamespace(logits=torch.tensor([[[-10.0, 3.0, 2.0, 1.0]]]), cache=cache)


def test_a_loop_in_other_tokens_for_the_same_words_ends_the_answer_before_it():
    model = VeryModel()

    def pieces(rule):
        return list(generate_pieces(model, VeryTokenizer(), None, model(None).logits[0, -1],
                                    SamplingSettings(greedy=True, max_new_tokens=30), stop_strings=(), rule=rule))

    streamed = pieces(AnswerRule(max_sentences=None, no_repeat_ngram=4))
    # Ends before "very" x4 would occur a third time; the stream never showed more than the answer.
    assert "".join(streamed).strip() == "very very very very\rvery"
    assert most_repeated_ngram("".join(streamed)) == 2
    # The token ban alone (the word check left out) loops in words, as the eval saw.
    tokens = []
    for _ in range(30):
        logits = guard_logits(model(None).logits[0, -1], tokens, AnswerRule(max_sentences=None, no_repeat_ngram=4))
        tokens.append(int(logits.argmax()))
    assert most_repeated_ngram(VeryTokenizer().decode(tokens)) >= 3


def test_repeated_words_end_judges_finished_words_and_allows_a_phrase_twice():
    assert repeated_words_end("He was a good man, and he was a good friend.", 4) is None
    text = "we went on and on, we went on and on, we went on and on."
    assert text[:repeated_words_end(text, 4)] == "we went on and on, we went on and on, we went on "
    assert repeated_words_end("we went on and on, we went on and on, we went on and", 4) is None  # may become "andante"
    assert repeated_words_end("The cat sat. the CAT sat. THE cat sat ", 3) == len("The cat sat. the CAT sat. THE cat ")


def test_a_light_repetition_penalty_alone_does_not_break_a_strong_loop():
    # 3.0 / 1.2 = 2.5 still beats 1.0: the penalty is light on purpose (it must not push answers off the book's words).
    assert most_repeated_ngram(loop_answer(AnswerRule(max_sentences=None, no_repeat_ngram=0,
                                                      repetition_penalty=1.2))) >= 3


def test_sentence_ends_skip_initials_and_titles():
    text = "Mr. Voss met J. Smith in 1860. They sailed! Did they? Yes"
    assert [text[:i] for i in sentence_ends(text)] == [
        "Mr. Voss met J. Smith in 1860.", "Mr. Voss met J. Smith in 1860. They sailed!",
        "Mr. Voss met J. Smith in 1860. They sailed! Did they?"]
    # A point needs the white space after it: "3.5" or a point at the very end is no end yet.
    assert sentence_ends("It cost 3.5 pounds.") == []


def test_answer_end_takes_the_first_of_stop_string_and_sentence_limit():
    rule = AnswerRule(max_sentences=2)
    assert answer_end("One. Two. Three", rule, ("\n\n",)) == len("One. Two.")
    assert answer_end("One.\n\nQuestion: x", rule, ("\n\n", "\nQuestion:")) == len("One.")
    assert answer_end("One. Two", rule, ("\n\n",)) is None
    assert answer_end("One. Two. Three. ", NO_RULE, ("\n\n",)) is None


def test_banned_tokens_complete_an_earlier_ngram():
    assert banned_tokens([1, 2, 3, 4, 1, 2, 3], 4) == [4]
    assert banned_tokens([1, 2, 3, 4, 1, 2], 4) == []
    assert banned_tokens([1, 2, 3], 0) == []


def test_the_eval_and_the_app_end_answers_by_the_same_rule(tiny_lm, book, tokens):
    for rule in (NO_RULE, AnswerRule(max_sentences=1, no_repeat_ngram=2)):
        settings = AskSettings(mode="icl", context_tokens=64, answer_rule=rule,
                               sampling=SamplingSettings(max_new_tokens=24))
        stream = prepare_answer(tiny_lm, book, tokens, "Who keeps the light?", adapter=None, settings=settings)
        with tiny_lm.adapter_disabled():
            eval_answer = PromptScorer(tiny_lm, stream.prompt_ids).greedy(24, rule)
        assert stream.full_text() == eval_answer


def test_blank_lines_before_the_answer_do_not_end_it():
    """Found asking The Cask of Amontillado: the model opened with "\\n\\n" and the answer came out empty."""
    from lift_reader.core.ask.answer_rule import DEFAULT_RULE
    from lift_reader.core.ask.prompts import BASE_MODEL_STOPS

    assert answer_end("\n\n", DEFAULT_RULE, BASE_MODEL_STOPS) is None
    assert answer_end("\n\nAmontillado", DEFAULT_RULE, BASE_MODEL_STOPS) is None
    text = "\n\nAmontillado, a Spanish sherry.\n\nQuestion:"
    assert text[:answer_end(text, DEFAULT_RULE, BASE_MODEL_STOPS)] == "\n\nAmontillado, a Spanish sherry."
