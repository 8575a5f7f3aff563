"""Asking while a book memorizes: the run pauses at its next step boundary, answers, and goes on by itself.

The runs here wait at a chosen point until the test has asked (a threading.Event), so the question meets
the run exactly there, however fast the tiny model trains and however busy the machine is.
"""

from __future__ import annotations

import threading

from gui_helpers import SAMPLE_STORY, open_book
from test_gui_memorize import WHOLE_BOOK_RUN, _open_with_tiny_settings

from lift_reader.core.memorize.step_breaks import StepBreaks
from lift_reader.workers import jobs

QUESTION = "What was the mail boat called?"


def _waiting_at(memorize, kind: str, step: int | None, asked: threading.Event):
    """``memorize`` whose run, once it reports ``kind`` (at ``step``), waits until the test has asked."""

    def waiting(*args, **kwargs):
        def wait_after(event):
            if event.kind == kind and step in (None, event.step):
                assert asked.wait(30), "the test did not ask within 30 s"

        events = memorize(*args, **kwargs)
        while True:  # yield each event, then return the run's outcome (Workspace.memorize's value)
            try:
                event = next(events)
            except StopIteration as end:
                return end.value
            yield event
            wait_after(event)

    return waiting


def test_a_question_asked_while_memorizing_is_answered_at_the_next_step_with_the_adapter_so_far(
        qtbot, window, prefs, session, short_story, monkeypatch):
    record = _open_with_tiny_settings(qtbot, window, prefs, short_story, WHOLE_BOOK_RUN)
    queue, chat = window.queue, window.chat_panel
    asked = threading.Event()
    workspace = session.workspace()
    monkeypatch.setattr(workspace, "memorize", _waiting_at(workspace.memorize, "step", 3, asked))
    seen: list = []

    def _on_event(_hash, event):
        if event.kind in ("step", "done"):
            seen.append((event.kind, event.step))
        if event.kind == "step" and event.step == 3:
            assert chat.notice.text().startswith("This book is being memorized: a question is answered between")
            chat.input.setPlainText(QUESTION)
            chat.ask_button.click()
            # Handed to the run (not queued behind it), which has not reached its next step yet.
            assert chat.busy and chat._worker.between_steps
            assert chat.transcript.last_answer().note == "Memorize pauses for this question after its current step…"
            asked.set()

    queue.event.connect(_on_event)
    shown: list[str] = []  # what the chat view says once the answer is in
    chat.answer_finished.connect(lambda: (seen.append(("answered", chat.transcript.last_answer().note)),
                                          shown.append(chat.view.toPlainText())))
    with qtbot.waitSignal(queue.done, timeout=120_000) as done:
        window.memorize_panel.start_button.click()
    outcome = done.args[1]

    total = outcome.total_steps
    note = f"Answered with the adapter as it stands at step 3 of {total}."
    assert ("answered", note) in seen, seen
    answered = seen.index(("answered", note))
    assert seen[answered - 1:answered + 2] == [("step", 3), ("answered", note), ("step", 4)]
    assert seen[-1] == ("done", total) and outcome.finished and outcome.steps == total  # the run went on
    answer = chat.transcript.last_answer()
    assert answer.complete and answer.text and answer.mode == "lift+rag"
    messages = session.library.list_messages(record.content_hash)
    assert [(m.role, m.content, m.complete) for m in messages] == [
        ("user", QUESTION, True), ("assistant", answer.text, True)]
    assert note in shown[0] and answer.text in shown[0]
    assert session.library.get_book(record.content_hash).active_adapter == outcome.adapter.name
    qtbot.waitUntil(lambda: not session.lane.busy, timeout=10_000)
    assert "being memorized" not in chat.notice.text()


def test_a_question_about_another_book_is_answered_without_an_adapter_and_one_after_the_last_step_with_the_new(
        qtbot, session, short_story, monkeypatch):
    workspace = session.workspace()
    memorizing = workspace.add_book(short_story)
    other = workspace.add_book(SAMPLE_STORY)
    at_step_2, after_last = threading.Event(), threading.Event()
    run = _waiting_at(_waiting_at(workspace.memorize, "step", 2, at_step_2), "done", None, after_last)
    monkeypatch.setattr(workspace, "memorize", run)
    items: dict[str, list] = {"other": [], "late": []}
    questions: list = []

    def _ask(key: str, record, event: threading.Event) -> None:
        worker = session.model_job(jobs.answer, record, jobs.AnswerRequest(QUESTION, "lift+rag"),
                                   between_steps=True, on_yield=items[key].append)
        questions.append(worker)
        assert worker.between_steps
        event.set()

    def _on_event(event) -> None:
        if event.kind == "step" and event.step == 2:
            _ask("other", other, at_step_2)
        elif event.kind == "done":  # after the last step boundary: answered once the run has saved its adapter
            _ask("late", memorizing, after_last)

    with qtbot.waitSignal(session.lane.busy_changed, timeout=120_000, check_params_cb=lambda busy: not busy):
        session.model_job(jobs.memorize, memorizing, WHOLE_BOOK_RUN, False, label="Memorizing",
                          step_breaks=StepBreaks(), on_yield=_on_event)

    started = items["other"][0]
    assert started.mode == "rag" and started.note == "Answered without an adapter: Memorize is still running."
    assert "".join(item for item in items["other"][1:] if isinstance(item, str)).strip()
    late = items["late"][0]
    adapter = session.library.get_book(memorizing.content_hash).active_adapter
    assert adapter and late.mode == "lift+rag" and late.note == ""  # the saved adapter, as for any later question
    assert all(not worker.cancelled for worker in questions)


def test_questions_handed_to_a_run_that_never_began_wait_their_turn_in_the_lane(qtbot):
    from lift_reader.workers.lane import ModelLane

    lane = ModelLane()
    release, order = threading.Event(), []

    def _blocker():
        assert release.wait(30)
        order.append("blocker")

    def _training(*, cancel, step_breaks):
        order.append("training")  # never: it is withdrawn before it begins
        yield 0

    lane.submit(_blocker)
    training = lane.submit(_training, step_breaks=StepBreaks())
    question = lane.submit_between_steps(lambda: order.append("question"))
    assert question.between_steps
    assert lane.withdraw(training)
    with qtbot.waitSignal(question.signals.finished, timeout=30_000):
        release.set()
    assert order == ["blocker", "question"]
    assert lane.wait(30_000)
