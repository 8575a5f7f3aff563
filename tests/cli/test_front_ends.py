"""The CLI and the app answer alike (Workspace.answer): the same question, book and mode give the same
answer text and the same notice through ``lift-reader ask`` and the app's answer job (headless), for a
memorized book and for one without an adapter; and a run paused in the app resumes from the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from lift_reader.cli import main  # noqa: E402
from lift_reader.core.ask.conversation import AnswerRequest, AnswerStarted  # noqa: E402
from lift_reader.core.cancel import CancelToken  # noqa: E402
from lift_reader.core.workspace import run_to_end  # noqa: E402
from lift_reader.workers import jobs  # noqa: E402
from lift_reader.workers.session import Session  # noqa: E402

SAMPLE_STORY = Path(__file__).resolve().parents[2] / "resources" / "samples" / "the-lighthouse-keepers-ledger.txt"
QUESTION = "Who keeps the light?"
ANSWER_TOKENS = "12"
QUICK_RUN = ["--epochs", "1", "--segment-length", "64", "--lr", "0.01", "--checkpoint-minutes", "0", "--no-aux",
             "--no-contextualized"]


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory) -> Path:
    from lift_reader.core.model.tiny_model import save_tiny_model_folder

    folder = tmp_path_factory.mktemp("tiny-model")
    return save_tiny_model_folder(folder, SAMPLE_STORY.read_text(encoding="utf-8"))


def _book(tmp_path: Path, name: str, start: int) -> Path:
    path = tmp_path / f"{name}.txt"
    path.write_text(SAMPLE_STORY.read_text(encoding="utf-8")[start:start + 1500], encoding="utf-8")
    return path


def _app_answer(session: Session, book: Path, mode: str) -> tuple[str, str]:
    """(answer, notice) from the app's answer job, run in this thread as the model lane would."""
    record = session.workspace().find_book(str(book))
    items: list = []
    text = run_to_end(jobs.answer(session, record, AnswerRequest(QUESTION, mode, max_new_tokens=int(ANSWER_TOKENS)),
                                  cancel=CancelToken()), items.append)
    assert isinstance(items[0], AnswerStarted)
    return text, items[0].note


def _cli_answer(capsys, folder: Path, book: Path, mode: str) -> tuple[str, str]:
    """(answer, notice) from ``lift-reader ask``: the notice is its stderr line in parentheses."""
    code = main(["--model", str(folder), "ask", str(book), QUESTION, "--mode", mode, "--max-new-tokens", ANSWER_TOKENS])
    out = capsys.readouterr()
    assert code == 0, out.err
    notes = [line[1:-1] for line in out.err.splitlines() if line.startswith("(") and line.endswith(")")]
    return out.out, " ".join(notes)


def test_the_cli_and_the_app_give_the_same_answer_and_notice(tiny_folder, tmp_path, capsys, qapp):
    memorized, plain = _book(tmp_path, "memorized", 0), _book(tmp_path, "plain", 1500)
    assert main(["--model", str(tiny_folder), "memorize", str(memorized), *QUICK_RUN]) == 0
    capsys.readouterr()
    session = Session(model_ref=str(tiny_folder))
    answers = []
    # The app answers first: its job takes the book's saved chat as history, and each book's chat is empty then.
    for book, mode, notice in [
        (memorized, "lift+rag", ""),
        (plain, "lift+rag", "This book is not memorized yet: the answer uses only passages found for the question (RAG)."),
        (plain, "lift", "This book is not memorized yet: the answer uses only its opening and ending (ICL)."),
    ]:
        session.library.clear_chat(session.workspace().find_book(str(book)).content_hash)
        app_text, app_note = _app_answer(session, book, mode)
        cli_out, cli_note = _cli_answer(capsys, tiny_folder, book, mode)
        assert app_note == cli_note == notice, (book.name, mode)
        assert cli_out.startswith(app_text + "\n"), (book.name, mode, app_text, cli_out)
        answers.append(app_text)
    assert any(answers)  # the comparison saw real text


def test_a_run_paused_in_the_app_resumes_from_the_cli_with_resume_alone(tiny_folder, tmp_path, capsys, qapp):
    from lift_reader.core.memorize.settings import MemorizeSettings

    book = _book(tmp_path, "paused", 0)
    session = Session(model_ref=str(tiny_folder))
    ws = session.workspace()
    record = ws.find_book(str(book))
    # What the app's Memorize tab might have started: nothing like the command line's defaults.
    settings = MemorizeSettings.for_hardware("cpu").with_changes(
        epochs=1, segment_length=64, learning_rate=0.01, lora_rank=4, checkpoint_every=3, checkpoint_minutes=0,
        aux_tasks=False, contextualized=False)
    assert settings.training_key() != MemorizeSettings.for_hardware("cpu").training_key()
    cancel = CancelToken()

    def pause_after_step_4(event) -> None:  # the app's Pause button, at a step chosen here
        if event.kind == "step" and event.step == 4:
            cancel.cancel()

    stopped = run_to_end(jobs.memorize(session, record, settings, False, cancel=cancel), pause_after_step_4)
    assert not stopped.finished and stopped.adapter is None
    (paused,) = ws.paused_runs()
    assert paused.settings == settings and paused.step == stopped.steps > 0

    assert main(["--model", str(tiny_folder), "memorize", str(book), "--resume"]) == 0
    out = capsys.readouterr()
    assert "settings saved in its checkpoint" in out.out and f"resuming from step {paused.step}/" in out.out, out
    adapter = ws.library.active_adapter(record.content_hash)
    assert MemorizeSettings.from_dict(adapter.settings) == settings
    assert adapter.steps == paused.total_steps
