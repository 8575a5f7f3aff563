"""A whole evaluation with the tiny model: every condition scores, adapters are reused, runs resume."""

from __future__ import annotations

import json

import pytest

from lift_reader.core.evaluation import CONDITION_NAMES, EvalConfig, evaluate
from lift_reader.core.evaluation import runner as runner_module
from lift_reader.core.ask.modes import DEFAULT_MODE
from lift_reader.core.memorize.settings import MemorizeSettings
from lift_reader.core.workspace import Workspace

FAST_MEMORIZE = MemorizeSettings(segment_length=128, stride=128, epochs=1, learning_rate=1e-2, checkpoint_every=1000)


@pytest.fixture
def question_set(tmp_path, story_text):
    docs = [
        {"doc_id": "short", "title": "Ledger, chapter 1", "text": story_text[:1500], "items": [
            {"id": "q1", "type": "mc", "question": "Who brings the mail?",
             "options": ["the mail boat", "a fox", "nobody at all"], "gold": 0},
            {"id": "q2", "type": "open", "question": "What is the first chapter called?",
             "answers": ["The Mail Boat"], "meta": {"evidence": "Chapter 1: The Mail Boat"}}]},
        {"doc_id": "long", "title": "Ledger, later", "text": story_text[4000:6800], "items": [
            {"id": "q1", "type": "open", "question": "What did the keeper write in the ledger?",
             "answers": ["the weather and the ships"]},
            {"id": "q2", "type": "mc", "question": "Where does the story happen?",
             "options": ["at a lighthouse", "on the moon"], "gold": 0}]},
    ]
    path = tmp_path / "questions.jsonl"
    path.write_text("\n".join(json.dumps(d) for d in docs) + "\n", encoding="utf-8")
    return path


def _workspace(tiny_lm) -> Workspace:
    ws = Workspace(progress=lambda _: None)
    ws.use_model(tiny_lm)
    return ws


def test_every_condition_scores_adapters_are_memorized_once_and_runs_resume(tiny_lm, question_set, tmp_path,
                                                                             monkeypatch):
    ws = _workspace(tiny_lm)
    memorized = []
    original = Workspace.memorize

    def counting_memorize(self, record, *args, **kwargs):
        memorized.append(record.content_hash)
        return (yield from original(self, record, *args, **kwargs))  # the run's outcome

    monkeypatch.setattr(Workspace, "memorize", counting_memorize)
    config = EvalConfig(context_tokens=160, max_new_tokens=6, memorize=FAST_MEMORIZE, resamples=100)
    out = evaluate(ws, question_set, config, tmp_path / "out", command="lift-reader eval questions.jsonl",
                   show_progress=False)

    assert len(memorized) == 2  # one adapter per document, shared by lift, lift+icl and lift+rag
    data = json.loads(out.json_path.read_text())
    assert data["command"] == "lift-reader eval questions.jsonl"
    by_doc = {d["doc_id"]: d for d in data["documents"]}
    assert by_doc["short"]["n_tokens"] < 900 < by_doc["long"]["n_tokens"]  # tiny window: 1,024
    for doc in by_doc.values():
        assert set(doc["conditions"]) == set(CONDITION_NAMES)
        assert doc["adapter"]["steps"] > 0
    assert "does not fit" in by_doc["long"]["conditions"]["full"]["skipped"]
    assert by_doc["short"]["conditions"]["full"]["skipped"] is None
    for name in CONDITION_NAMES:
        rows = [r for d in by_doc.values() for r in d["conditions"][name]["items"]]
        assert len(rows) == (2 if name == "full" else 4)
        for row in rows:
            assert row["gold_nll"] > 0
            if row["type"] == "mc":
                assert len(row["option_logprobs"]) == len(row["option_baseline_logprobs"]) >= 2
                assert row["acc_raw"] in (0.0, 1.0) and row["acc_calibrated"] in (0.0, 1.0)
            else:
                assert isinstance(row["answer"], str) and 0 <= row["f1"] <= 1 and 0 <= row["rouge_l"] <= 1
        contexts = {r["context_tokens"] for r in rows}
        if name in ("closed", "lift"):
            assert contexts == {0}
        else:
            assert min(contexts) > 0
    short_full = by_doc["short"]["conditions"]["full"]["items"][0]
    assert short_full["context_tokens"] == by_doc["short"]["n_tokens"]
    assert by_doc["short"]["conditions"]["icl"]["items"][1]["evidence_recall"] == 1.0  # chapter title in the head

    summary = out.summary["conditions"]
    for name in CONDITION_NAMES:
        stat = summary[name]["gold_nll"]
        assert stat["low"] <= stat["mean"] <= stat["high"]
    assert set(out.summary["differences"]) == set(CONDITION_NAMES) - {"icl"}
    assert out.markdown.splitlines()[5] == "lift-reader eval questions.jsonl"  # the command heads the report
    assert f"{DEFAULT_MODE} (app default)" in out.markdown and "(1 of 2 documents)" in out.markdown
    assert out.markdown_path.read_text() == out.markdown
    assert out.chart_path is not None and out.chart_path.read_bytes()[:4] == b"\x89PNG"

    # A second run with the same settings recomputes nothing and gives the same report.
    monkeypatch.setattr(runner_module, "evaluate_document", lambda *a, **k: pytest.fail("document recomputed"))
    again = evaluate(ws, question_set, config, tmp_path / "out", command="lift-reader eval questions.jsonl",
                     show_progress=False)
    assert again.markdown == out.markdown


def test_a_stopped_run_resumes_per_document_and_reuses_adapters(tiny_lm, question_set, tmp_path, monkeypatch):
    ws = _workspace(tiny_lm)
    config = EvalConfig(conditions=("icl", "lift+icl"), context_tokens=160, max_new_tokens=4,
                        memorize=FAST_MEMORIZE, resamples=50)
    done = []
    original = runner_module.evaluate_document

    def stop_after_first(ws_, doc, *args, **kwargs):
        if done:
            raise runner_module.EvalStopped("stopped")
        result = original(ws_, doc, *args, **kwargs)
        done.append(doc.doc_id)
        return result

    monkeypatch.setattr(runner_module, "evaluate_document", stop_after_first)
    with pytest.raises(runner_module.EvalStopped):
        evaluate(ws, question_set, config, tmp_path / "out", show_progress=False)
    assert done == ["short"] and len(list((tmp_path / "out" / "docs").glob("*.json"))) == 1

    calls = []

    def recording(ws_, doc, *args, **kwargs):
        calls.append(doc.doc_id)
        return original(ws_, doc, *args, **kwargs)

    monkeypatch.setattr(runner_module, "evaluate_document", recording)
    out = evaluate(ws, question_set, config, tmp_path / "out", show_progress=False)
    assert calls == ["long"]  # the finished document is not run again
    assert out.summary["conditions"]["lift+icl"]["n"] == 4

    # A new output folder: the adapters memorized above are found in the library and reused.
    monkeypatch.setattr(Workspace, "memorize", lambda *a, **k: pytest.fail("memorized again"))
    fresh = evaluate(ws, question_set, EvalConfig(conditions=("lift",), context_tokens=160, max_new_tokens=4,
                                                  memorize=FAST_MEMORIZE, resamples=50),
                     tmp_path / "other", show_progress=False)
    docs = json.loads(fresh.json_path.read_text())["documents"]
    assert all(d["adapter"]["reused"] for d in docs)
