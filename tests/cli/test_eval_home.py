"""`lift-reader eval` keeps its documents and adapters in a library of its own; the reader's stays untouched."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from lift_reader.store.library import Library
from lift_reader.store.paths import library_db_path

SAMPLE_STORY = Path(__file__).resolve().parents[2] / "resources" / "samples" / "the-lighthouse-keepers-ledger.txt"


@pytest.fixture
def eval_inputs(tmp_path) -> tuple[Path, Path]:
    """(a tiny model folder, a one-document question set)."""
    from lift_reader.core.model.tiny_model import save_tiny_model_folder

    story = SAMPLE_STORY.read_text(encoding="utf-8")
    model = save_tiny_model_folder(tmp_path / "tiny", story)
    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"doc_id": "d", "title": "Ledger eval document", "text": story[:3000], "items": [
        {"id": "1", "type": "open", "question": "Who brings the mail?", "answers": ["the mail boat"]}]}) + "\n")
    return model, questions


def _eval(model: Path, questions: Path, out: Path, *extra: str) -> int:
    from lift_reader.cli import main
    from lift_reader.cli.common import STOP_SIGNALS

    handlers = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    try:  # in-process: a subprocess would spend most of its time importing torch
        return main(["--model", str(model), "--precision", "fp32", "eval", str(questions), "--conditions", "closed",
                     "--max-new-tokens", "2", "--resamples", "10", "--out", str(out), "--quiet", *extra])
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


def _titles(db: Path) -> list[str]:
    with Library(db) as lib:
        return [b.title for b in lib.list_books()]


def test_eval_uses_its_own_library_and_leaves_the_readers_alone(lift_home, tmp_path, eval_inputs, capsys):
    model, questions = eval_inputs
    with Library() as reader:  # the reader's library, with a book of theirs
        from lift_reader.store.records import BookRecord

        reader.add_book(BookRecord(content_hash="ab" * 32, path=str(SAMPLE_STORY), title="My own book"))
    before = library_db_path().read_bytes()

    assert _eval(model, questions, tmp_path / "out") == 0, capsys.readouterr().err
    assert f"evaluation library: {lift_home / 'eval'}" in capsys.readouterr().err
    assert _titles(lift_home / "eval" / "library.sqlite3") == ["Ledger eval document"]
    assert _titles(library_db_path()) == ["My own book"]
    assert library_db_path() == lift_home / "library.sqlite3"  # the reader's again once eval is done
    assert library_db_path().read_bytes() == before

    elsewhere = tmp_path / "eval-home"
    assert _eval(model, questions, tmp_path / "out2", "--home", str(elsewhere)) == 0
    assert _titles(elsewhere / "library.sqlite3") == ["Ledger eval document"]
    assert _titles(library_db_path()) == ["My own book"]
