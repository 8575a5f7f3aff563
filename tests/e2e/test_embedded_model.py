"""End to end with the real embedded model (Gemma 3 270M): slow, a few minutes.

Memorize the sample story with the default recipe, then check that LIFT+ICL
knows facts from the middle of the story that the truncated context lacks (the
gold answers become more likely than with ICL alone), and that greedy answers
in the app's default mode name them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from lift_reader.core.ask.answering import AskSettings
from lift_reader.core.ask.generation import SamplingSettings

# Generous: converting the model (~1.5 min) and memorizing (~3 min idle) happen in the first test.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]
REPO = Path(__file__).resolve().parents[2]
STORY = REPO / "resources" / "samples" / "the-lighthouse-keepers-ledger.txt"
QUESTIONS = json.loads(STORY.with_suffix(".questions.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def memorized(tmp_path_factory):
    """One Workspace with the story memorized by the default recipe (shared by the tests)."""
    from lift_reader.core.memorize.settings import MemorizeSettings
    from lift_reader.core.workspace import Workspace

    home = tmp_path_factory.mktemp("embedded-home")
    old = os.environ.get("LIFT_READER_HOME")
    os.environ["LIFT_READER_HOME"] = str(home)
    try:
        ws = Workspace(progress=lambda _m: None)
        record = ws.add_book(STORY)
        events = list(ws.memorize(record, MemorizeSettings.for_hardware("cpu")))
        yield ws, record, events
    finally:
        if old is None:
            os.environ.pop("LIFT_READER_HOME", None)
        else:
            os.environ["LIFT_READER_HOME"] = old


def test_memorize_completes_and_loss_falls(memorized):
    ws, record, events = memorized
    steps = [e for e in events if e.kind == "step"]
    assert events[-1].kind == "done" and steps[-1].step == steps[-1].total_steps
    first = sum(e.loss for e in steps[:5]) / 5
    last = sum(e.loss for e in steps[-5:]) / 5
    assert last < first
    assert ws.library.active_adapter(record.content_hash) is not None


def _mean_nll(ws, record, mode: str, items) -> float:
    total, count = 0.0, 0
    for item in items:
        stream = ws.ask(record, item["question"], AskSettings(mode=mode))
        logp, n = stream.answer_logprob(item["answer"])
        total -= logp
        count += n
    return total / count


def test_middle_facts_become_more_likely_than_with_icl(memorized):
    ws, record, _ = memorized
    middle = [q for q in QUESTIONS if q["position"] == "middle"]
    icl = _mean_nll(ws, record, "icl", middle)
    lift_icl = _mean_nll(ws, record, "lift+icl", middle)
    print(f"mean gold-answer NLL per token on middle facts: icl {icl:.3f}, lift+icl {lift_icl:.3f}")
    assert lift_icl < icl


def test_the_default_mode_names_middle_facts(memorized):
    ws, record, _ = memorized
    settings = AskSettings(sampling=SamplingSettings(max_new_tokens=24))  # the app's default mode
    middle = [q for q in QUESTIONS if q["position"] == "middle"]
    answers = {q["question"]: ws.ask(record, q["question"], settings).full_text() for q in middle}
    hits = [q for q in middle if q["answer"].lower().removeprefix("the ") in answers[q["question"]].lower()]
    print("\n".join(f"{q} -> {a}" for q, a in answers.items()))
    assert hits, f"{settings.mode} named none of the middle-of-the-story facts"
    stream = ws.ask(record, middle[0]["question"], settings)
    assert stream.pages and max(stream.pages) > 1  # the context cites the book's pages
