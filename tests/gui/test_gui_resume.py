"""Paused runs across a restart: the next start offers to resume them, the library says how far they got,
Resume continues from the saved step with the saved settings, and the loss curve shows the whole run."""

from __future__ import annotations

import threading
from dataclasses import replace

from gui_helpers import SAMPLE_STORY, open_book
from lift_reader.core.memorize.checkpoints import read_state
from lift_reader.core.memorize.settings import MemorizeSettings, job_key
from lift_reader.gui.library_panel import memorize_state
from lift_reader.store.paths import checkpoints_dir
from lift_reader.store.records import BookRecord

# The first page in 64-token segments (about 20 steps on the tiny model); a checkpoint only when paused.
TINY_RUN = MemorizeSettings(segment_length=64, stride=64, epochs=1, up_to_page=1, learning_rate=5e-3,
                            checkpoint_every=1000, checkpoint_minutes=0, warmup_ratio=0.0)


def _open_with(qtbot, window, prefs, settings, path=SAMPLE_STORY):
    record = open_book(qtbot, window, path)
    prefs.set_book_settings(record.content_hash, settings)
    with qtbot.waitSignal(window.book_opened, timeout=10_000):
        window.show_record(record)  # again, to pick the settings up
    return record


def _pause_at_step(qtbot, window, step: int) -> None:
    panel, queue = window.memorize_panel, window.queue

    def _on_event(_hash, event):
        if event.kind == "step" and event.step == step:
            panel.pause_button.click()

    queue.event.connect(_on_event)
    with qtbot.waitSignal(queue.stopped, timeout=60_000):
        panel.start_button.click()
    queue.event.disconnect(_on_event)


def _saved_state(session, record):
    key = job_key(record.content_hash, session.workspace().lm.identity.fingerprint, TINY_RUN)
    return read_state(checkpoints_dir() / key)


def test_the_next_start_offers_to_resume_a_paused_run_with_its_own_settings_and_whole_curve(
        qtbot, window, prefs, session):
    from lift_reader.gui.main_window import MainWindow

    record = _open_with(qtbot, window, prefs, TINY_RUN)
    _pause_at_step(qtbot, window, 3)
    saved = _saved_state(session, record)
    assert saved is not None and saved.step >= 3 and len(saved.loss_curve) == saved.step
    window.close()
    # The form's settings changed since (or the run was paused from the command line): Resume must not use them.
    prefs.set_book_settings(record.content_hash, replace(TINY_RUN, learning_rate=1e-3, segment_length=96))

    reopened = MainWindow(session, prefs)  # the next start of the app
    qtbot.addWidget(reopened)
    reopened.show()
    notice = reopened.resume_notice
    qtbot.waitUntil(notice.isVisible, timeout=10_000)
    assert notice.label.text().startswith(f"Resume memorizing “{record.title}”?")
    assert f"step {saved.step} of {saved.total_steps}" in notice.label.text()
    item = reopened.library_panel.list.item(0).text()
    assert f"paused at {saved.step / saved.total_steps:.0%}" in item and "not memorized" not in item

    queue, panel = reopened.queue, reopened.memorize_panel
    seen: list[tuple] = []  # (kind, step, points in the queue's curve, points on the panel's plot)
    # Connected after the panel: its plot is up to date when this runs.
    queue.event.connect(lambda h, e: seen.append((e.kind, e.step, queue.loss_curve(h), panel.plot.point_count)))
    with qtbot.waitSignal(queue.done, timeout=120_000) as done:
        notice.resume_button.click()
        assert not notice.isVisible()
        assert reopened.tabs.currentWidget() is panel and panel.record.content_hash == record.content_hash
        run = queue.run_for(record.content_hash)
        assert run.resume and run.settings.training_key() == TINY_RUN.training_key()  # the checkpoint's settings
    qtbot.waitUntil(lambda: queue.active is None, timeout=5000)
    outcome = done.args[1]
    assert outcome.finished and outcome.steps == saved.total_steps

    start = next(entry for entry in seen if entry[0] == "start")
    first_step = next(entry for entry in seen if entry[0] == "step")
    assert start[1] == saved.step, "resumed from another step than the checkpoint's"
    assert first_step[1] == saved.step + 1
    # The points before the resumed step are the checkpoint's: the curve shows the whole run from its first step.
    curve = first_step[2]
    assert [list(point) for point in curve[:saved.step]] == saved.loss_curve
    assert [step for step, _loss in curve] == list(range(1, saved.step + 2))
    assert first_step[3] == saved.step + 1
    assert [step for step, _loss in seen[-1][2]] == list(range(1, saved.total_steps + 1))  # the last event's


def test_not_now_keeps_the_run_paused_in_the_memorize_tab(qtbot, window, prefs, session):
    from lift_reader.gui.main_window import MainWindow

    record = _open_with(qtbot, window, prefs, TINY_RUN)
    _pause_at_step(qtbot, window, 2)
    window.close()
    reopened = MainWindow(session, prefs)
    qtbot.addWidget(reopened)
    reopened.show()
    qtbot.waitUntil(reopened.resume_notice.isVisible, timeout=10_000)
    reopened.resume_notice.dismiss_button.click()
    assert not reopened.resume_notice.isVisible() and reopened.queue.active is None
    reopened.show_record(record)
    panel = reopened.memorize_panel
    assert panel.resume_button.isEnabled() and panel.start_button.text() == "Start Over"
    assert panel.progress.format().startswith("paused at") and panel.plot.point_count >= 2


def test_the_library_says_how_far_a_paused_run_got_until_it_is_cancelled(qtbot, window, prefs, session):
    record = _open_with(qtbot, window, prefs, TINY_RUN)
    item = window.library_panel.list.item(0)
    assert item.text().endswith("not memorized")
    _pause_at_step(qtbot, window, 3)
    saved = _saved_state(session, record)
    paused = f"paused at {saved.step / saved.total_steps:.0%}"
    qtbot.waitUntil(lambda: item.text().endswith(paused), timeout=10_000)
    panel = window.memorize_panel
    qtbot.waitUntil(lambda: panel.stats_label.text().startswith(f"Paused at step {saved.step} of"), timeout=5000)

    with qtbot.waitSignal(window.queue.stopped, timeout=30_000) as stopped:
        panel.cancel_button.click()  # forget the paused run
    assert stopped.args == [record.content_hash, True]
    qtbot.waitUntil(lambda: item.text().endswith("not memorized"), timeout=10_000)
    assert _saved_state(session, record) is None and not panel.resume_button.isEnabled()


def test_memorize_state_lines():
    record = BookRecord(content_hash="h", path="/b.txt", title="B", author="", format="txt", pages=3)
    assert memorize_state(record, None) == "not memorized"
    assert memorize_state(record, None, 0.4) == "paused at 40%"
    assert memorize_state(record, "memorizing 42%", 0.4) == "memorizing 42%"
    memorized = replace(record, active_adapter="B v1")
    assert memorize_state(memorized, None) == "memorized (B v1)"
    assert memorize_state(memorized, None, 0.25) == "memorized (B v1); a new run paused at 25%"


def test_cancelling_a_queued_book_says_it_left_the_queue(qtbot, window, prefs, session, sample_pdf):
    gate = threading.Event()
    session.lane.submit(gate.wait, 30)  # hold the model lane while the two books are queued
    story = _open_with(qtbot, window, prefs, TINY_RUN)
    window.memorize_panel.start_button.click()
    pdf = _open_with(qtbot, window, prefs, TINY_RUN, sample_pdf)
    panel, queue = window.memorize_panel, window.queue
    stopped: list = []
    queue.stopped.connect(lambda *args: stopped.append(args))
    try:
        panel.start_button.click()
        assert queue.run_for(pdf.content_hash).describe() == "queued"  # behind the story: never started
        with qtbot.waitSignal(queue.removed, timeout=5000) as removed:
            panel.cancel_button.click()
        queue.cancel(story.content_hash)  # the story too, so that nothing trains after the test
    finally:
        gate.set()
    assert removed.args == [pdf.content_hash]
    assert panel.stats_label.text() == "Removed from the queue."
    assert queue.run_for(pdf.content_hash) is None and pdf.content_hash not in [args[0] for args in stopped]
    assert panel.start_button.isEnabled() and not panel.resume_button.isEnabled()
    qtbot.waitUntil(lambda: (story.content_hash, True) in stopped, timeout=30_000)
    assert panel.stats_label.text() == "Removed from the queue."  # the story's end is not this book's
    texts = [window.library_panel.list.item(row).text() for row in range(window.library_panel.list.count())]
    assert all(text.endswith("not memorized") for text in texts)
