"""Memorize from the panel: progress arrives, Pause keeps a checkpoint, Resume reaches an adapter."""

from __future__ import annotations

import threading
from dataclasses import replace

from lift_reader.core.memorize.settings import MemorizeSettings

from gui_helpers import SAMPLE_STORY, open_book

# The first page only, in non-overlapping 64-token segments: about 20 steps on the tiny model.
TINY_RUN = MemorizeSettings(segment_length=64, stride=64, epochs=1, up_to_page=1, learning_rate=5e-3,
                            checkpoint_every=4, warmup_ratio=0.0)
# The same over a whole book, for a short one (the short_story fixture, the three-page sample_pdf): only a
# whole-book adapter becomes the book's active one (a spoiler-safe one never replaces it, issue 15).
WHOLE_BOOK_RUN = replace(TINY_RUN, up_to_page=None)


def _open_with_tiny_settings(qtbot, window, prefs, path=SAMPLE_STORY, settings=TINY_RUN):
    record = open_book(qtbot, window, path)
    prefs.set_book_settings(record.content_hash, settings)
    with qtbot.waitSignal(window.book_opened, timeout=10_000):
        window.show_record(record)  # again, to pick the settings up
    assert window.memorize_panel.form.segment_length.value() == 64
    return record


def test_pause_then_resume_reaches_an_adapter(qtbot, window, prefs, session, short_story):
    record = _open_with_tiny_settings(qtbot, window, prefs, short_story, WHOLE_BOOK_RUN)
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
    assert "is memorized" in window.statusBar().currentMessage()  # the end is announced, not just drawn
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


def test_books_queue_one_after_another(qtbot, window, prefs, sample_pdf, session, short_story):
    gate = threading.Event()
    session.lane.submit(gate.wait, 30)  # hold the model lane until both books are queued
    story = _open_with_tiny_settings(qtbot, window, prefs, short_story, WHOLE_BOOK_RUN)
    window.memorize_panel.start_button.click()
    pdf = _open_with_tiny_settings(qtbot, window, prefs, sample_pdf, WHOLE_BOOK_RUN)
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
    assert panel.estimate.throughput_source == "probe"  # timed on this machine, not guessed (it was: 8m25s for 2m52s)
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
    return panel.estimate.book_tokens if panel.estimate is not None else 0


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


def test_the_tab_leads_with_the_book_the_estimate_and_start_and_folds_the_expert_settings(qtbot, window, prefs,
                                                                                          session):
    from lift_reader.gui.main_window import MainWindow

    record = open_book(qtbot, window, SAMPLE_STORY)
    panel = window.memorize_panel
    window.tabs.setCurrentWidget(panel)
    layout = panel.layout()
    row = next(i for i in range(layout.count()) if layout.itemAt(i).layout() is not None  # the buttons' row
               and layout.itemAt(i).layout().indexOf(panel.start_button) >= 0)
    assert layout.indexOf(panel.title) < layout.indexOf(panel.estimate_label) < row < layout.indexOf(panel.advanced)
    assert panel.title.text().startswith(record.title)
    assert not panel.advanced.expanded and not panel.form.isVisible()
    assert "learning rate" in panel.advanced.header.text().lower()
    session.ensure_model()
    qtbot.waitUntil(lambda: panel.estimate is not None, timeout=30_000)
    assert panel.estimate_label.text().startswith("Takes ")
    assert "steps" in panel.estimate_label.text() and "segments" in panel.estimate_label.toolTip()

    panel.advanced.header.click()
    assert panel.form.isVisible() and panel.form.learning_rate.isVisible()
    reopened = MainWindow(session, prefs)  # an expert who opened it finds it open next time
    qtbot.addWidget(reopened)
    assert reopened.memorize_panel.advanced.expanded


def test_the_first_time_left_is_the_estimate_then_the_measured_speed():
    from types import SimpleNamespace

    from lift_reader.gui.memorize_panel import time_left_text
    from lift_reader.gui.run_clock import MEASURED_STEPS, RunClock

    def event(step, elapsed):
        return SimpleNamespace(step=step, total_steps=100, elapsed_s=elapsed, fraction=step / 100)

    clock = RunClock(estimate_s=200.0)  # 2 s a step, as estimated before Start
    clock.observe(event(0, 0.0))  # "start"
    clock.observe(event(1, 60.0))  # a first step slowed by warming up: 60 s
    first = clock.time_left(event(1, 60.0))
    assert not first.measured and first.seconds == 198.0  # not 60 s x 99 steps (99 minutes)
    assert time_left_text(first) == "about 3m 18s left (estimated)"
    for step in range(2, 2 + MEASURED_STEPS):
        clock.observe(event(step, 60.0 + 3.0 * (step - 1)))  # the real speed: 3 s a step
    left = clock.time_left(event(1 + MEASURED_STEPS, 60.0 + 3.0 * MEASURED_STEPS))
    assert left.measured and left.seconds == 3.0 * (100 - 1 - MEASURED_STEPS)
    assert time_left_text(RunClock().time_left(event(1, 60.0))) == "measuring the speed…"  # no estimate to go on
    off = RunClock(estimate_s=30.0)  # an estimate the run has already outlasted is not repeated
    off.observe(event(0, 0.0))
    off.observe(event(1, 60.0))
    assert off.time_left(event(1, 60.0)).seconds is None
    slower = RunClock()  # the speed follows the recent steps: a machine that slows down is seen
    for step in range(0, 60):
        slower.observe(event(step, 1.0 * step if step < 30 else 30.0 + 5.0 * (step - 30)))
    assert slower.time_left(event(59, 175.0)).seconds == 5.0 * 41


def test_a_live_run_shows_the_estimate_until_it_has_measured_its_speed(qtbot, window, prefs, session):
    _open_with_tiny_settings(qtbot, window, prefs)
    panel, queue = window.memorize_panel, window.queue
    session.ensure_model()
    qtbot.waitUntil(lambda: panel.estimate is not None, timeout=30_000)
    shown: dict[int, str] = {}
    # Connected after the panel: its label is up to date when this runs.
    queue.event.connect(lambda _h, e: shown.setdefault(e.step, panel.stats_label.text()) if e.kind == "step" else None)
    with qtbot.waitSignal(queue.done, timeout=120_000):
        panel.start_button.click()
    qtbot.waitUntil(lambda: queue.active is None, timeout=5000)
    # The first step's time is not extrapolated: the estimate, or (the tiny model's probe estimate is often
    # already outlasted by then) "measuring", never a measured-looking figure.
    assert "left (estimated)" in shown[1] or "measuring the speed" in shown[1]
    assert "left" in shown[8] and "estimated" not in shown[8]


def test_the_loss_plot_reads_well_with_one_point(qtbot):
    from lift_reader.gui.loss_plot import LossPlot

    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.resize(400, 240)
    plot.show()
    plot.set_total_steps(40)
    plot.add_point(1, 3.2)
    (x0, x1), (y0, y1) = plot.getPlotItem().viewRange()
    assert x0 <= 0 and x1 >= 40  # the whole run: the curve will fill it from the left
    assert y0 < 3.2 < y1 and 0.05 < y1 - y0 < 2  # around the point, not a range made up around nothing
    assert plot.getAxis("bottom").labelText and plot.getAxis("left").labelText
    assert [label.text for _sample, label in plot.legend.items] == ["loss of each step", "smoothed"]
    assert plot.legend.isVisible() and plot._curve.opts["symbol"] is not None  # one loss is a dot, not nothing
    for step, loss in enumerate([3.0, 3.1, 2.6, 2.7, 2.2, 2.3, 1.9], start=2):
        plot.add_point(step, loss)
    trend = plot.trend
    assert len(trend) == plot.point_count == 8 and trend[-1] < trend[0]  # the smoothed curve falls with the loss


def test_a_run_that_ends_is_announced_on_the_desktop(qtbot, window, monkeypatch):
    from lift_reader.gui import notifier

    shown = []

    class FakeTray:  # the offscreen platform has no tray: stand one in to see the message reach it
        MessageIcon = notifier.QSystemTrayIcon.MessageIcon

        def __init__(self, *_args):
            pass

        isSystemTrayAvailable = staticmethod(lambda: True)
        setToolTip = setIcon = show = lambda self, *a: None
        messageClicked = type("S", (), {"connect": lambda self, slot: None})()

        def showMessage(self, title, message, *_args):
            shown.append((title, message))

    monkeypatch.setattr(notifier, "QSystemTrayIcon", FakeTray)
    note = notifier.Notifier(window)
    note.notify("Memorized", "“Ledger” is memorized.")
    assert shown == [("Memorized", "“Ledger” is memorized.")]
    assert window.statusBar().currentMessage() == "“Ledger” is memorized."


def test_a_run_that_fails_is_announced_too(qtbot, window, dialogs):
    from lift_reader.errors import LiftReaderError

    record = open_book(qtbot, window, SAMPLE_STORY)
    window.queue.failed.emit(record.content_hash, LiftReaderError("the disk is full"))
    assert window.statusBar().currentMessage() == f"“{record.title}” was not memorized: the disk is full"
    assert "the disk is full" in dialogs["warnings"].pop()


def test_the_study_stage_shows_its_reading_before_training(qtbot, window, prefs, session):
    record = open_book(qtbot, window, SAMPLE_STORY)
    prefs.set_book_settings(record.content_hash, replace(TINY_RUN, study=True, study_per_1k_tokens=20,
                                                         study_window_tokens=128, study_top_k=8))
    with qtbot.waitSignal(window.book_opened, timeout=10_000):
        window.show_record(record)
    panel, queue = window.memorize_panel, window.queue
    assert panel.form.study.isChecked()
    seen: list[str] = []
    training: list[str] = []
    # Connected after the panel: its widgets are up to date when this runs.
    queue.event.connect(lambda _h, e: (seen if e.kind == "stage" else training).append(panel.progress.format()))
    with qtbot.waitSignal(queue.done, timeout=120_000) as done:
        panel.start_button.click()
    qtbot.waitUntil(lambda: queue.active is None, timeout=5000)
    assert done.args[1].finished
    assert seen and all("Reading with the book open" in text for text in seen)
    assert training and all("step" in text for text in training)  # then the steps, as for any run
