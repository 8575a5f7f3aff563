"""Memorize from the panel: progress arrives, Pause keeps a checkpoint, Resume reaches an adapter."""

from __future__ import annotations

import threading

from lift_reader.core.settings import MemorizeSettings

from gui_helpers import SAMPLE_STORY, open_book

# The first page only, in non-overlapping 64-token segments: about 20 steps on the tiny model.
TINY_RUN = MemorizeSettings(segment_length=64, stride=64, epochs=1, up_to_page=1, learning_rate=5e-3,
                            checkpoint_every=4, warmup_ratio=0.0)


def _open_with_tiny_settings(qtbot, window, prefs, path=SAMPLE_STORY):
    record = open_book(qtbot, window, path)
    prefs.set_book_settings(record.content_hash, TINY_RUN)
    with qtbot.waitSignal(window.book_opened, timeout=10_000):
        window.show_record(record)  # again, to pick the settings up
    assert window.memorize_panel.form.segment_length.value() == 64
    return record


def test_pause_then_resume_reaches_an_adapter(qtbot, window, prefs, session):
    record = _open_with_tiny_settings(qtbot, window, prefs)
    panel, queue = window.memorize_panel, window.queue
    steps: list[int] = []

    def _on_event(_hash, event):
        if event.kind == "step":
            steps.append(event.step)
            if event.step == 3:
                panel.pause_button.click()

    queue.event.connect(_on_event)
    with qtbot.waitSignal(queue.stopped, timeout=60_000) as stopped:
        panel.start_button.click()
        assert "queued" in window.library_panel.list.item(0).text() \
            or "memoriz" in window.library_panel.list.item(0).text()
    assert stopped.args == [record.content_hash, False]
    paused_at = steps[-1]
    assert 3 <= paused_at < queue_total(panel)
    assert 0 < panel.progress.value() < 100
    qtbot.waitUntil(lambda: panel.resume_button.isEnabled(), timeout=10_000)  # the checkpoint was found
    assert panel.start_button.text() == "Start Over"

    queue.event.disconnect(_on_event)
    queue.event.connect(lambda _h, e: steps.append(e.step) if e.kind == "step" else None)
    with qtbot.waitSignal(queue.done, timeout=120_000) as done:
        panel.resume_button.click()
    outcome = done.args[1]
    qtbot.waitUntil(lambda: queue.active is None, timeout=5000)
    assert outcome.finished and outcome.adapter is not None
    resumed = steps[steps.index(paused_at) + 1:]
    assert resumed[0] > 1, "resume started from the beginning instead of the checkpoint"
    assert steps[-1] == outcome.total_steps

    fresh = session.library.get_book(record.content_hash)
    assert fresh.active_adapter == outcome.adapter.name
    assert f"memorized ({outcome.adapter.name})" in window.library_panel.list.item(0).text()
    assert panel.progress.value() == 100 and panel.plot.point_count == outcome.steps
    assert not panel.resume_button.isEnabled()


def queue_total(panel) -> int:
    return int(panel.progress.format().split("/")[-1].replace(",", ""))


def test_cancel_forgets_the_progress(qtbot, window, prefs):
    _open_with_tiny_settings(qtbot, window, prefs)
    panel, queue = window.memorize_panel, window.queue
    queue.event.connect(lambda _h, e: panel.cancel_button.click() if e.kind == "step" and e.step == 2 else None)
    with qtbot.waitSignal(queue.stopped, timeout=60_000) as stopped:
        panel.start_button.click()
    assert stopped.args[1] is True
    qtbot.wait(300)  # the checkpoint check after the stop
    assert not panel.resume_button.isEnabled()
    assert panel.start_button.text() == "Start"


def test_books_queue_one_after_another(qtbot, window, prefs, sample_pdf, session):
    gate = threading.Event()
    session.lane.submit(gate.wait, 30)  # hold the model lane until both books are queued
    story = _open_with_tiny_settings(qtbot, window, prefs)
    window.memorize_panel.start_button.click()
    pdf = _open_with_tiny_settings(qtbot, window, prefs, sample_pdf)
    window.memorize_panel.start_button.click()
    gate.set()
    assert [run.record.content_hash for run in window.queue.runs] == [story.content_hash, pdf.content_hash]
    assert window.queue.runs[1].describe() == "queued"
    finished = []
    window.queue.done.connect(lambda h, _outcome: finished.append(h))
    qtbot.waitUntil(lambda: len(finished) == 2, timeout=120_000)
    assert finished == [story.content_hash, pdf.content_hash]
    assert all(session.library.get_book(h).active_adapter for h in finished)


def test_estimate_appears_once_the_model_is_ready(qtbot, window, prefs, session):
    _open_with_tiny_settings(qtbot, window, prefs)
    panel = window.memorize_panel
    qtbot.waitUntil(lambda: "once the model has loaded" in panel.estimate_label.text(), timeout=5000)
    session.ensure_model()
    qtbot.waitUntil(lambda: "steps" in panel.estimate_label.text(), timeout=30_000)
    assert "tokens" in panel.estimate_label.text()
    panel.form.epochs.setValue(2)  # a new estimate follows the settings
    qtbot.waitUntil(lambda: "Estimating" not in panel.estimate_label.text(), timeout=30_000)


def test_quitting_while_memorizing_pauses_with_a_checkpoint(qtbot, window, prefs, session, dialogs):
    from lift_reader.gui.main_window import MainWindow

    record = _open_with_tiny_settings(qtbot, window, prefs)
    queue = window.queue
    window.memorize_panel.start_button.click()
    qtbot.waitUntil(lambda: queue.active is not None and queue.active.last_event is not None
                    and queue.active.last_event.step >= 5, timeout=60_000)
    with qtbot.waitSignal(queue.stopped, timeout=60_000) as stopped:
        window.close()
    assert dialogs["questions"] and "Pause it and quit" in dialogs["questions"][-1]
    assert stopped.args[1] is False  # paused, not cancelled: Resume continues after a restart

    reopened = MainWindow(session, prefs)  # the next start of the app
    qtbot.addWidget(reopened)
    reopened.show_record(record)
    qtbot.waitUntil(reopened.memorize_panel.resume_button.isEnabled, timeout=10_000)


def test_memorize_only_up_to_the_page_being_read(qtbot, window, prefs, session):
    _open_with_tiny_settings(qtbot, window, prefs)  # its last settings stop at a page: the box is checked
    panel = window.memorize_panel
    box = panel.up_to_page_box
    assert box.isChecked() and box.text() == "Only up to the current page (1)"
    window.reader.go_to_page(3)
    assert box.text() == "Only up to the current page (3)" and panel.settings().up_to_page == 3
    session.ensure_model()
    qtbot.waitUntil(lambda: "steps" in panel.estimate_label.text(), timeout=30_000)
    up_to_page_3 = _book_tokens(panel)

    box.setChecked(False)
    assert panel.settings().up_to_page is None
    qtbot.waitUntil(lambda: "steps" in panel.estimate_label.text() and _book_tokens(panel) > up_to_page_3,
                    timeout=30_000)  # the estimate covers the whole book now


def _book_tokens(panel) -> int:
    first = panel.estimate_label.text().splitlines()[0]  # "book: 1,234 tokens -> 56 segments"
    return int(first.split()[1].replace(",", ""))


def test_the_form_starts_from_the_apps_recipe_and_can_turn_it_off(qtbot, window):
    open_book(qtbot, window, SAMPLE_STORY)  # no saved settings: the app's recipe for this device
    form = window.memorize_panel.form
    recipe = MemorizeSettings.for_hardware("cpu")
    assert form.contextualized.isChecked() and form.aux_tasks.isChecked()
    assert (form.epochs.value(), float(form.learning_rate.text())) == (recipe.epochs, recipe.learning_rate)
    form.contextualized.setChecked(False)
    form.aux_tasks.setChecked(False)
    plain = form.settings()
    assert not plain.contextualized and not plain.aux_tasks
    assert plain.training_key() != recipe.training_key()
