"""The study stage: template questions, the teacher's cached targets, the distillation loss, resume."""

import numpy as np
import pytest
import torch

from lift_reader.core.cancel import CancelToken
from lift_reader.core.memorize.distill_loss import topk_kl
from lift_reader.core.memorize.settings import MemorizeSettings
from lift_reader.core.memorize.study_questions import facts_in, name_lexicon, sentence_questions, study_questions

STUDY = dict(segment_length=64, epochs=1, study=True, study_per_1k_tokens=40, study_window_tokens=128,
             study_top_k=8, study_batch=4, checkpoint_every=1000)


def test_a_fact_is_asked_from_several_directions():
    sentence = "The Psychologist kept exactly fourteen silver spoons in a walnut box."
    made = sentence_questions(sentence, "He never used them.", np.random.default_rng(0))
    pairs = {(q, a) for q, a, _ in made}
    assert ("Who kept exactly fourteen silver spoons in a walnut box?", "The Psychologist") in pairs
    assert ("The Psychologist kept exactly how many silver spoons in a walnut box?", "fourteen") in pairs
    assert {"about", "cloze", "after"} <= {kind for _, _, kind in made}


def test_possessives_and_places_get_their_own_question_words():
    made = sentence_questions("Filby's sister lived in Marrowcombe with two cats.", None, np.random.default_rng(0))
    pairs = {(q, a) for q, a, _ in made}
    assert ("Whose sister lived in Marrowcombe with two cats?", "Filby") in pairs
    assert ("Filby's sister lived where with two cats?", "in Marrowcombe") in pairs


def test_clauses_are_asked_with_the_question_word_moved_to_the_front():
    made = sentence_questions("The keeper had a grey cat, and the cat was called Marzipan.", None,
                              np.random.default_rng(0))
    pairs = {(q, a) for q, a, _ in made}
    assert ("What was the cat called?", "Marzipan") in pairs
    assert ("The cat was called what?", "Marzipan") in pairs
    assert ("What was the name of the cat?", "Marzipan") in pairs
    assert ("What was the name of the keeper's cat?", "Marzipan") in pairs  # asked by its owner
    named = {(q, a) for q, a, _ in sentence_questions("Old Tobias kept a lame pony named Biscuit.", None,
                                                      np.random.default_rng(0))}
    assert ("What was the name of Old Tobias's pony?", "Biscuit") in named
    made = sentence_questions("Everyone knew that the keeper's favourite dish was eel pie.", None,
                              np.random.default_rng(0))
    assert ("What was the keeper's favourite dish?", "eel pie") in {(q, a) for q, a, _ in made}


def test_past_tense_clauses_are_asked_the_way_a_reader_asks():
    """Question word in front with "did" and the verb's base form, as readers (and the dev sets) ask."""
    def pairs(sentence):
        return {(q, a) for q, a, kind in sentence_questions(sentence, None, np.random.default_rng(0))
                if kind in ("do", "why")}

    spoons = pairs("The Psychologist kept exactly fourteen silver spoons in a walnut box.")
    assert ("How many silver spoons did the Psychologist keep in a walnut box?", "fourteen") in spoons
    assert ("What did the Psychologist keep in a walnut box?", "exactly fourteen silver spoons") in spoons
    assert ("What did the Psychologist do?", "kept exactly fourteen silver spoons in a walnut box") in spoons
    village = pairs("Filby's elder sister lived in the village of Marrowcombe, in Devon.")
    assert ("In which village did Filby's elder sister live?", "Marrowcombe") in village
    assert ("Where did Filby's elder sister live?", "in the village of Marrowcombe") in village
    assert ("Why did the keeper light the lamp early?", "because a storm was coming") in pairs(
        "The keeper lit the lamp early because a storm was coming.")
    giant = pairs("When the Spring came, the Giant felt very sad.")
    assert ("How did the Giant feel?", "very sad") in giant
    assert ("What did the Giant do when the Spring came?", "felt very sad") in giant
    assert ("What happened when the Spring came?", "The Giant felt very sad") in giant
    assert ("What did the children do?", "ran away") in pairs("The children ran away.")
    assert not any(q.startswith("What did the children run") for q, _ in pairs("The children ran away."))
    # Not a simple past with a noun-phrase subject: no such questions.
    assert not pairs("Suddenly he rubbed his eyes in wonder.")
    assert not pairs("He kept the spoons in a box.")
    assert not pairs("The door had been painted yellow by Ezra Colville.")
    assert not pairs("On the mantel stood a barometer that the Medical Man had won.")


def test_a_thing_described_by_a_relative_clause_is_asked_by_what_was_done_to_it():
    """The 16K needle run missed "Where did the Medical Man win the brass barometer?": no template asked it."""
    def pairs(sentence):
        return {(q, a) for q, a, _ in sentence_questions(sentence, None, np.random.default_rng(0))}

    barometer = pairs("On the mantel stood a brass barometer that the Medical Man had won at a raffle in Brighton.")
    assert ("Where did the Medical Man win the brass barometer?", "at a raffle in Brighton") in barometer
    assert ("What did the Medical Man win at a raffle in Brighton?", "a brass barometer") in barometer
    assert ("Who won the brass barometer at a raffle in Brighton?", "the Medical Man") in barometer
    assert ("Where did Kit Amberly find the ring?", "in the well") in pairs("She wore the ring that Kit Amberly found in the well.")
    letter = pairs("The keeper read the letter that his brother had written from Lisbon.")
    assert ("What did his brother write from Lisbon?", "the letter") in letter
    assert not any(q.startswith(("Who wrote", "What wrote")) for q, _ in letter)  # no name: the doer's kind is unknown
    # No subject of its own, or no past-tense verb: nothing asked this way.
    for sentence in ("He took the road that led to the sea.", "This is the book that he wrote.",
                     "It was the house which was built in 1850."):
        assert not any(q.startswith(("What did", "Where did", "Who ")) for q, _ in pairs(sentence)), sentence


def test_a_passive_is_asked_in_the_active():
    made = sentence_questions("The lamp had been mended by a tinker named Abel Quist.", None, np.random.default_rng(0))
    assert made[0] == ("Who mended the lamp?", "Abel Quist", "subject")


def test_sentence_initial_words_are_names_only_if_the_book_uses_them_inside_sentences():
    names = name_lexicon("Then Kit went home. He met Kit at the gate. Nothing happened.")
    assert "Kit" in names and "Nothing" not in names and "Then" not in names
    assert [f.text for f in facts_in("Nothing was said to Kit.", names)] == ["Kit"]
    assert [f.text for f in facts_in("Kit said nothing.", names)] == ["Kit"]


def test_questions_cover_the_whole_text_evenly(story_text):
    questions = study_questions(story_text, len(story_text), 60, seed=3)
    assert len(questions) == 60
    assert questions == study_questions(story_text, len(story_text), 60, seed=3)  # seeded
    offsets = [q.offset for q in questions]
    thirds = np.histogram(offsets, bins=3, range=(0, len(story_text)))[0]
    assert thirds.min() >= 10  # every third of the story is asked about
    for q in questions:
        assert story_text[q.offset:q.offset + 20] in story_text  # offsets point into the text


def test_questions_stop_at_the_reading_position(story_text):
    end = len(story_text) // 3
    assert all(q.offset < end for q in study_questions(story_text, end, 200, seed=0))


def test_topk_kl_is_zero_for_the_teacher_itself_and_positive_otherwise():
    torch.manual_seed(0)
    teacher_logits = torch.randn(5, 50) * 3
    logp = torch.log_softmax(teacher_logits, -1)
    top = logp.topk(8, -1)
    same = topk_kl(teacher_logits, top.indices, top.values)
    assert abs(float(same)) < 1e-5
    other = topk_kl(torch.randn(5, 50), top.indices, top.values)
    assert float(other) > 0.1


def test_topk_kl_gradient_pulls_the_student_toward_the_teacher():
    torch.manual_seed(1)
    teacher = torch.log_softmax(torch.randn(3, 40) * 4, -1).topk(10, -1)
    student = torch.zeros(3, 40, requires_grad=True)
    for _ in range(200):
        loss = topk_kl(student, teacher.indices, teacher.values)
        grad, = torch.autograd.grad(loss, student)
        student = (student - 2.0 * grad).detach().requires_grad_(True)
    assert float(topk_kl(student, teacher.indices, teacher.values)) < 0.05


@pytest.mark.parametrize("targets", ["distill", "labels", "both"])
def test_memorize_with_study_trains_and_saves(ferry_book, targets):
    ws, record = ferry_book
    settings = MemorizeSettings(**STUDY, study_targets=targets)
    events = list(ws.memorize(record, settings))
    kinds = [e.kind for e in events]
    assert kinds[-1] == "done"
    reading = [e for e in events if e.kind == "stage"]
    if targets != "labels":
        assert reading and reading[-1].stage_done == reading[-1].stage_total > 0
        assert reading[-1].message.startswith("Reading with the book open")
    else:
        assert not reading  # hard labels on known answers need no teacher
    job = ws.memorize_job(record, settings)
    assert job.study is not None and job.units_per_epoch == job.study.batches_per_epoch + len(job.plan)


def test_the_teacher_is_cached_and_a_stopped_reading_resumes(ferry_book, monkeypatch):
    from lift_reader.core.memorize import study as study_module

    ws, record = ferry_book
    settings = MemorizeSettings(**STUDY)
    monkeypatch.setattr(study_module, "SHARD_WINDOWS", 1)
    job = ws.memorize_job(record, settings)
    cancel = CancelToken()
    taught = []
    original = study_module.StudySet._teach_window

    def counting(self, lm, window, members):
        taught.append(window)
        original(self, lm, window, members)
        if len(taught) == 2:
            cancel.cancel()

    monkeypatch.setattr(study_module.StudySet, "_teach_window", counting)
    events = list(job.run(cancel=cancel))
    assert events[-1].kind == "cancelled" and events[-1].stage == "reading"
    first_pass = list(taught)
    # Resumed: the windows finished before the stop are read from the cache, not taught again.
    job = ws.memorize_job(record, settings)
    taught.clear()
    cancel = CancelToken()
    events = list(job.run(cancel=None))
    assert events[-1].kind == "done"
    assert first_pass[0] not in taught and taught  # the first window came from its shard
    cached = job.study.teacher
    # A third run reads everything from the cache and gets the same targets.
    job = ws.memorize_job(record, settings)
    taught.clear()
    for _ in job.study.read_with_teacher(ws.lm):
        pass
    assert not taught
    for (ids_a, logp_a), (ids_b, logp_b) in zip(cached, job.study.teacher):
        assert np.array_equal(ids_a, ids_b) and np.allclose(logp_a, logp_b)


def test_the_teacher_reads_without_the_adapter_and_with_the_window(ferry_book, tmp_path):
    """The cached targets are the bare model's distribution over the answer with the passage in view."""
    from lift_reader.core.ask.prompts import encode_prompt
    from lift_reader.core.memorize.study import StudySet

    ws, record = ferry_book
    settings = MemorizeSettings(**STUDY)
    book, lm = ws.book_text(record), ws.lm
    study = StudySet.build(lm, book, ws.book_tokens(record), settings, model_fingerprint="x", cache_folder=tmp_path)
    for _ in study.read_with_teacher(lm):
        pass
    item = study.items[3]
    start, end = study.windows[item.window]
    prompt = encode_prompt(lm.tokenizer, book.title, book.text[start:end], [], item.question.question)
    answer = item.answer_ids
    with torch.inference_mode():
        logits = lm.model(input_ids=torch.tensor([prompt + answer])).logits[0, len(prompt) - 1:-1].float()
    expected = torch.log_softmax(logits, -1).topk(settings.study_top_k, -1)
    ids, logp = study.teacher[3]
    # Every answer token but the last (the end of the answer, whose target is set: see the next test).
    assert np.array_equal(ids[:-1], expected.indices.numpy()[:-1])
    assert np.allclose(logp[:-1], expected.values.numpy()[:-1], atol=1e-4)


def test_segment_weight_zero_trains_study_items_only(ferry_book):
    ws, record = ferry_book
    settings = MemorizeSettings(**{**STUDY, "segment_weight": 0.0, "study_targets": "labels"})
    job = ws.memorize_job(record, settings)
    assert job.units_per_epoch == job.study.batches_per_epoch
    assert all(unit.study for unit in job.epoch_order(0))


def test_settings_without_study_keep_their_training_key():
    assert MemorizeSettings().training_key() == MemorizeSettings(study=False, segment_weight=1.0).training_key()
    assert MemorizeSettings(study=True).training_key() != MemorizeSettings().training_key()
    # The templates' version is recorded: an adapter from older templates (metadata without the field)
    # keeps its own key, unlike a run today, and runs without the study stage do not depend on it.
    today = MemorizeSettings(study=True)
    older = MemorizeSettings.from_dict({k: v for k, v in today.as_dict().items() if k != "study_templates"})
    assert older.study_templates == 1 and older.training_key() != today.training_key()
    assert MemorizeSettings(study_templates=1).training_key() == MemorizeSettings().training_key()


def test_study_answers_end_with_a_stop_string_and_the_teacher_ends_them_for_certain(ferry_book, tmp_path):
    from lift_reader.core.ask.prompts import BASE_MODEL_STOPS
    from lift_reader.core.memorize.study import ANSWER_END, StudySet

    ws, record = ferry_book
    settings = MemorizeSettings(**STUDY)
    book, lm = ws.book_text(record), ws.lm
    assert ANSWER_END in BASE_MODEL_STOPS
    study = StudySet.build(lm, book, ws.book_tokens(record), settings, model_fingerprint="x", cache_folder=tmp_path)
    for _ in study.read_with_teacher(lm):
        pass
    end = lm.tokenizer(ANSWER_END, add_special_tokens=False)["input_ids"]
    for item, (ids, logp) in zip(study.items, study.teacher):
        assert item.answer_ids[-len(end):] == end
        assert ids[-1, 0] == item.answer_ids[-1] and logp[-1, 0] == 0.0
        assert len(set(ids[-1].tolist())) == len(ids[-1])  # still k distinct tokens: the rest bucket stays right


def test_the_teacher_reads_after_the_estimates_probe_left_no_adapter(ferry_book, tmp_path):
    """A fresh machine: the estimate probes speed with a throwaway adapter, then the study stage reads."""
    from lift_reader.core.memorize.estimate import probe_throughput
    from lift_reader.core.memorize.study import StudySet

    ws, record = ferry_book
    settings = MemorizeSettings(**STUDY)
    tokens = ws.book_tokens(record)
    assert probe_throughput(ws.lm, settings, tokens.ids[:64]) > 0
    study = StudySet.build(ws.lm, ws.book_text(record), tokens, settings, model_fingerprint="x", cache_folder=tmp_path)
    assert list(study.read_with_teacher(ws.lm))[-1] == (len(study), len(study))


def test_reading_items_ask_again_with_the_passage_and_share_the_teachers_targets(ferry_book, tmp_path):
    from lift_reader.core.memorize.study import StudySet

    ws, record = ferry_book
    settings = MemorizeSettings(**{**STUDY, "study_reading": 0.5})
    book, lm = ws.book_text(record), ws.lm
    study = StudySet.build(lm, book, ws.book_tokens(record), settings, model_fingerprint="x", cache_folder=tmp_path)
    closed = [i for i, it in enumerate(study.items) if it.twin is None]
    reading = [i for i, it in enumerate(study.items) if it.twin is not None]
    assert len(reading) == round(len(closed) * 0.5) > 0
    for i in reading:
        item, twin = study.items[i], study.items[study.items[i].twin]
        assert item.question == twin.question and item.answer_ids == twin.answer_ids
        prompt = lm.tokenizer.decode([t for t, lab in zip(item.input_ids, item.labels) if lab == -100])
        assert len(item.input_ids) > len(twin.input_ids) + 50  # its passage is in the prompt
        assert book.text[item.question.offset:item.question.offset + 30].split()[1] in prompt
    # The teacher reads only the closed-book questions; a reading item's batch carries its twin's targets.
    steps = list(study.read_with_teacher(lm))
    assert steps[-1] == (len(closed), len(closed))
    assert all(study.teacher[i] is None for i in reading)
    batch = study.batch((reading[0],), torch.device("cpu"))
    twin_ids, _ = study.teacher[study.items[reading[0]].twin]
    assert torch.equal(batch.teacher_ids, torch.from_numpy(twin_ids).long())
    # Reading items are batched among themselves (no short item padded to a passage's length).
    batches = study.epoch_batches(np.random.default_rng(0))
    assert len(batches) == study.batches_per_epoch
    assert all(len({study.items[i].twin is None for i in b}) == 1 for b in batches)
    assert sorted(i for b in batches for i in b) == list(range(len(study.items)))
    assert MemorizeSettings(**STUDY).training_key() != settings.training_key()
