"""Auxiliary QA items: made from short windows, loss on the answer only, saved beside the adapter."""

import json
from pathlib import Path

from lift_reader.core.memorize.auxiliary import base_model_pairs, build_aux_items, split_sentences
from lift_reader.core.text.book import BookText
from lift_reader.core.text.book_tokens import tokenize_book
from lift_reader.core.memorize.settings import MemorizeSettings


def test_sentences_split_with_offsets(story_text):
    sentences = split_sentences(story_text[:3000])
    assert len(sentences) > 10
    for offset, sentence in sentences:
        assert story_text[offset:offset + len(sentence)] == sentence


def test_base_model_items_come_from_the_book(story_text):
    book = BookText(story_text, [0], "Ledger")
    pairs = base_model_pairs(book, len(story_text), 30, seed=1)
    assert len(pairs) == 30
    for question, answer, offset in pairs:
        assert answer in story_text
        assert question.startswith(("Fill in the blank", "In the book, what comes right after"))
    assert pairs == base_model_pairs(book, len(story_text), 30, seed=1)  # seeded


def test_items_mask_the_prompt_and_train_the_answer(tiny_lm, story_text):
    book = BookText(story_text, [0], "Ledger")
    tokens = tokenize_book(story_text, tiny_lm.tokenizer)
    items = build_aux_items(tiny_lm, book, tokens, MemorizeSettings(aux_tasks=True, aux_items_per_1k_tokens=1))
    assert items
    for item in items[:10]:
        trained = [t for t in item.labels if t != -100]
        assert trained and len(item.labels) == len(item.input_ids)
        assert tiny_lm.tokenizer.decode(trained).strip() == item.answer.strip()
        assert item.labels[0] == -100


def test_memorize_with_aux_saves_the_items(ferry_book):
    ws, record = ferry_book
    settings = MemorizeSettings(segment_length=64, epochs=1, aux_tasks=True, aux_items_per_1k_tokens=20,
                                checkpoint_every=1000)
    events = list(ws.memorize(record, settings))
    assert events[-1].kind == "done"
    adapter = ws.library.active_adapter(record.content_hash)
    lines = (Path(adapter.path) / "auxiliary_qa.jsonl").read_text().splitlines()
    items = [json.loads(line) for line in lines]
    assert items and all({"question", "answer", "source_offset"} <= item.keys() for item in items)


def test_reading_items_show_the_passage_they_come_from(tiny_lm, story_text):
    book = BookText(story_text, [0], "Ledger")
    tokens = tokenize_book(story_text, tiny_lm.tokenizer)
    settings = MemorizeSettings(aux_tasks=True, aux_items_per_1k_tokens=1, aux_reading=True)
    items = build_aux_items(tiny_lm, book, tokens, settings)
    plain = build_aux_items(tiny_lm, book, tokens, MemorizeSettings(aux_tasks=True, aux_items_per_1k_tokens=1))
    assert len(items) == len(plain) > 4
    for i, (item, bare) in enumerate(zip(items, plain)):
        assert (item.question, item.answer) == (bare.question, bare.answer)
        prompt = tiny_lm.tokenizer.decode([t for t, label in zip(item.input_ids, item.labels) if label == -100],
                                          skip_special_tokens=True)
        if i % 2 == 0:
            assert item.input_ids == bare.input_ids  # closed-book item: no book text before the question
            continue
        assert len(item.input_ids) > len(bare.input_ids) + 50
        passage = prompt.split("Ledger", 1)[1].split("Question:", 1)[0].strip()
        assert passage in story_text  # a verbatim stretch of the book
        if item.question.startswith("Fill in the blank"):
            assert item.answer in passage  # the passage holds what the question asks


def test_reading_passages_stop_at_the_reading_position(story_text):
    from lift_reader.core.memorize.auxiliary import passage_around

    cut = 5000
    for offset in (0, 800, 4700, 4990):
        passage = passage_around(story_text, offset, cut)
        start = story_text.index(passage)
        assert start + len(passage) <= cut
        assert start <= offset
