"""Question sets: the shared format, checked line by line."""

import json

import pytest

from lift_reader.core.evaluation import load_question_set, select_documents
from lift_reader.errors import BadInputError


def _write(tmp_path, docs):
    path = tmp_path / "q.jsonl"
    path.write_text("\n".join(json.dumps(d) for d in docs) + "\n", encoding="utf-8")
    return path


def test_loads_mc_and_open_items(tmp_path):
    path = _write(tmp_path, [
        {"doc_id": "a", "title": "A", "text": "Some text.", "items": [
            {"id": "1", "type": "mc", "question": "Q?", "options": ["x", "y"], "gold": 1},
            {"id": "2", "type": "open", "question": "R?", "answers": ["z"], "meta": {"evidence": "Some text."}}]},
        {"doc_id": "b", "text": "More.", "items": [{"id": "1", "type": "open", "question": "S?", "answers": ["w"]}]},
    ])
    docs = load_question_set(path)
    assert [d.doc_id for d in docs] == ["a", "b"]
    mc, open_ = docs[0].items
    assert mc.reference == "y" and open_.reference == "z" and open_.evidence == "Some text."
    assert docs[1].title == "b" and docs[0].book().page_count == 1
    assert [d.doc_id for d in select_documents(docs, docs=1)] == ["a"]
    assert [d.doc_id for d in select_documents(docs, doc_ids=["b"])] == ["b"]
    with pytest.raises(BadInputError, match="no document"):
        select_documents(docs, doc_ids=["c"])


@pytest.mark.parametrize("broken, message", [
    ("{not json", "not valid JSON"),
    (json.dumps({"doc_id": "a", "text": "", "items": []}), "text"),
    (json.dumps({"doc_id": "a", "text": "t", "items": [{"type": "mc", "question": "q", "options": ["x", "y"],
                                                        "gold": 5}]}), "gold"),
    (json.dumps({"doc_id": "a", "text": "t", "items": [{"type": "open", "question": "q", "answers": []}]}),
     "reference answer"),
    (json.dumps({"doc_id": "a", "text": "t", "items": [{"type": "essay", "question": "q"}]}), "type"),
])
def test_bad_lines_are_named(tmp_path, broken, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(broken + "\n", encoding="utf-8")
    with pytest.raises(BadInputError, match=message) as err:
        load_question_set(path)
    assert "line 1" in str(err.value)


def test_the_shared_sets_load(shared_data):
    quality = load_question_set(shared_data("quality_dev.jsonl"))
    loogle = load_question_set(shared_data("loogle_shortdep_qa.jsonl"))
    assert sum(len(d.items) for d in quality) == 361 and all(i.type == "mc" for d in quality for i in d.items)
    assert sum(len(d.items) for d in loogle) == 80 and all(i.evidence for d in loogle for i in d.items)


def test_a_binary_file_is_refused_with_one_line(tmp_path):
    path = tmp_path / "book.pdf"
    path.write_bytes(b"%PDF-1.7\n\x99\xff\x00binary")
    with pytest.raises(BadInputError, match="not a question set"):
        load_question_set(path)
