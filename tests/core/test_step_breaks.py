"""A memorize run pauses between two steps for a question, answers it, and ends as if it had not paused."""

from __future__ import annotations

import copy

import pytest
import torch
from safetensors.torch import load_file

from lift_reader.core.ask.answering import AskSettings
from lift_reader.core.ask.generation import SamplingSettings
from lift_reader.core.model.models import wrap_loaded
from lift_reader.core.memorize.settings import MemorizeSettings
from lift_reader.core.memorize.step_breaks import StepBreaks, TrainingPause
from lift_reader.core.workspace import Workspace
from lift_reader.store.library import Library

# Dropout on: a question that drew from torch's generator would change every later step's masks.
RUN = MemorizeSettings(segment_length=32, stride=32, epochs=1, learning_rate=5e-3, lora_dropout=0.1, seed=7,
                       checkpoint_every=1000, checkpoint_minutes=0, warmup_ratio=0.0)
ASK_AT = 4  # steps done when the question is handed to the run
PROBE = "The keeper wrote in the ledger."


@pytest.fixture
def books(tmp_path, story_text):
    memorizing = tmp_path / "ledger-opening.txt"
    memorizing.write_text(story_text[:2500], encoding="utf-8")
    other = tmp_path / "another-book.txt"
    other.write_text(story_text[-1500:], encoding="utf-8")
    return memorizing, other


@pytest.fixture
def workspace(lift_home):
    ws = Workspace(Library(), progress=lambda _message: None)
    yield ws
    ws.library.close()


def _fresh_model(tiny_parts):
    tok, model = tiny_parts
    return wrap_loaded(copy.deepcopy(model), tok, label="tiny-llama", fingerprint="tiny0001")


class _Question:
    """Asked during the run: what the run's thread saw while answering it."""

    def __init__(self, ws: Workspace, record, mode: str, log: list):
        self.ws, self.record, self.mode, self.log = ws, record, mode, log

    def run(self) -> None:
        model = self.ws.lm.model
        # Sampling without a seed draws from torch's global generator, as dropout does.
        sampling = SamplingSettings(greedy=False, max_new_tokens=6)
        stream = self.ws.ask(self.record, "Who kept the ledger?", AskSettings(mode=self.mode, sampling=sampling))
        self.log.append({"kind": "answer", "book": self.record.content_hash, "pause": self.ws.training_pause,
                         "adapter": stream.adapter, "grad": torch.is_grad_enabled(), "training": model.training,
                         "logprob": stream.answer_logprob(PROBE)[0], "text": stream.full_text()})


def _memorize(ws, record, name, *, questions=()):
    """Run to the end; hand ``questions`` (book record, mode) to it once ``ASK_AT`` steps are done."""
    breaks, log = StepBreaks(), []
    for event in ws.memorize(record, RUN, adapter_name=name, step_breaks=breaks):
        log.append({"kind": event.kind, "step": event.step, "total": event.total_steps, "loss": event.loss})
        if event.kind == "step" and event.step == ASK_AT:
            for book, mode in questions:
                assert breaks.offer(_Question(ws, book, mode, log))
    assert not breaks.close(), "a question was left unanswered"
    adapter = ws.library.get_adapter(name)
    return log, load_file(f"{adapter.path}/adapter_model.safetensors"), ws.library.get_adapter(name)


def test_a_question_is_answered_between_two_steps_and_the_run_ends_as_if_uninterrupted(
        workspace, tiny_parts, books):
    memorizing_path, other_path = books
    workspace.use_model(_fresh_model(tiny_parts))
    record = workspace.add_book(memorizing_path)
    other = workspace.add_book(other_path)
    base_logprob = workspace.ask(other, "Who kept the ledger?", AskSettings(mode="icl")).answer_logprob(PROBE)[0]
    plain_log, plain_weights, plain_adapter = _memorize(workspace, record, "plain")

    workspace.use_model(_fresh_model(tiny_parts))
    log, weights, adapter = _memorize(workspace, record, "asked",
                                      questions=[(record, "lift+icl"), (other, "icl"), (record, "icl")])

    # Answered at the boundary after step ASK_AT, before step ASK_AT + 1 and long before the run ended.
    kinds = [(entry["kind"], entry.get("step")) for entry in log]
    at = kinds.index(("step", ASK_AT))
    assert kinds[at + 1:at + 5] == [("answer", None)] * 3 + [("step", ASK_AT + 1)]
    total = log[0]["total"]
    assert total > ASK_AT + 3 and kinds[-1] == ("done", total)
    with_adapter, other_book, same_book_icl = (entry for entry in log if entry["kind"] == "answer")
    assert with_adapter["pause"] == TrainingPause(record.content_hash, "memorizing", ASK_AT, total, None)
    assert with_adapter["pause"].note(record.content_hash) == \
        f"Answered with the adapter as it stands at step {ASK_AT} of {total}."
    assert other_book["pause"].note(other.content_hash) == "Answered without an adapter: Memorize is still running."
    # In eval mode, without gradients; the memorizing adapter answers about its own book only.
    assert all(not a["grad"] and not a["training"] and a["text"] for a in (with_adapter, other_book, same_book_icl))
    assert with_adapter["adapter"] == "memorizing" and other_book["adapter"] is None
    # Without an adapter the answer is the bare base model's, although one is in training on the model ...
    assert other_book["logprob"] == pytest.approx(base_logprob, abs=1e-4)
    # ... and with it, the adapter as trained so far.
    assert abs(with_adapter["logprob"] - same_book_icl["logprob"]) > 1e-3

    # Asking did not perturb training: the same losses, bit for bit, and the same adapter weights.
    assert [e for e in log if e["kind"] != "answer"] == plain_log
    assert adapter.final_loss == plain_adapter.final_loss
    assert weights.keys() == plain_weights.keys()
    for key, tensor in plain_weights.items():
        assert torch.equal(weights[key], tensor), key


def test_a_question_before_the_first_step_is_answered_without_an_adapter():
    pause = TrainingPause("abc", "memorizing", 0, 20, None)
    assert pause.adapter_for("abc") is None
    assert pause.note("abc") == "Answered without an adapter: Memorize is still running."


def test_a_spoiler_safe_question_gets_the_adapter_only_if_it_has_not_read_further():
    whole_book = TrainingPause("abc", "memorizing", 5, 20, None)
    assert whole_book.adapter_for("abc") == "memorizing"
    assert whole_book.adapter_for("abc", up_to_page=3) is None
    up_to_3 = TrainingPause("abc", "memorizing", 5, 20, 3)
    assert up_to_3.adapter_for("abc", up_to_page=3) == "memorizing"
    assert up_to_3.adapter_for("abc", up_to_page=2) is None


def test_an_ended_run_takes_no_more_questions_and_hands_back_those_left():
    breaks = StepBreaks()

    class Job:
        def run(self):
            raise AssertionError("not run by close()")

    waiting = Job()
    assert breaks.offer(waiting)
    assert breaks.close() == [waiting]
    assert not breaks.offer(Job())
    assert breaks.close() == []
